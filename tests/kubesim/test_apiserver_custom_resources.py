"""Custom resources: status subresource, generation, patches, schema validation, pruning and defaults."""

from __future__ import annotations

import json

import kubernetes
import pytest
from kubernetes.client import ApiException

from kubesim.testing import RunningApiServer

from .conftest import GROUP, PLURAL, VERSION, gadget


def _status_body(exception: ApiException) -> dict[str, object]:
    body = json.loads(exception.body)
    assert body["kind"] == "Status"
    return body


def _create(custom: kubernetes.client.CustomObjectsApi, namespace: str, body: dict[str, object]) -> dict[str, object]:
    return custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)


def test_crd_from_folder_is_established(api_client: kubernetes.client.ApiClient) -> None:
    extensions = kubernetes.client.ApiextensionsV1Api(api_client)

    crd = extensions.read_custom_resource_definition("gadgets.test.kubesim.io")

    conditions = {condition.type: condition.status for condition in crd.status.conditions}
    assert conditions == {"NamesAccepted": "True", "Established": "True"}
    assert crd.status.accepted_names.short_names == ["gd"]


def test_create_ignores_status_and_sets_generation(custom: kubernetes.client.CustomObjectsApi, namespace: str) -> None:
    body = gadget("first")
    body["status"] = {"phase": "Done"}

    created = _create(custom, namespace, body)

    assert "status" not in created
    assert created["metadata"]["generation"] == 1


def test_defaults_are_applied(custom: kubernetes.client.CustomObjectsApi, namespace: str) -> None:
    created = _create(custom, namespace, gadget("defaulted"))

    assert created["spec"]["size"] == "small"
    assert created["spec"]["retries"] == 3


def test_unknown_fields_are_pruned_except_preserved(custom: kubernetes.client.CustomObjectsApi, namespace: str) -> None:
    body = gadget("pruned", extra={"anything": {"goes": [1, 2]}}, colour="red")
    body["topLevel"] = True

    created = _create(custom, namespace, body)

    assert "colour" not in created["spec"]
    assert "topLevel" not in created
    assert created["spec"]["extra"] == {"anything": {"goes": [1, 2]}}


@pytest.mark.parametrize(
    ("spec_change", "field", "reason"),
    [
        ({"number": "seven"}, "spec.number", "FieldValueTypeInvalid"),
        ({"number": 0}, "spec.number", "FieldValueInvalid"),
        ({"repository": "no-slash"}, "spec.repository", "FieldValueInvalid"),
        ({"size": "huge"}, "spec.size", "FieldValueNotSupported"),
    ],
)
def test_schema_violation_is_invalid_naming_field(
    custom: kubernetes.client.CustomObjectsApi, namespace: str, spec_change: dict[str, object], field: str, reason: str
) -> None:
    body = gadget("broken")
    body["spec"].update(spec_change)  # type: ignore[attr-defined]

    with pytest.raises(ApiException) as rejected:
        _create(custom, namespace, body)

    status = _status_body(rejected.value)
    assert rejected.value.status == 422
    assert status["reason"] == "Invalid"
    assert status["details"]["causes"] == [
        {"reason": reason, "field": field, "message": status["details"]["causes"][0]["message"]}
    ]
    assert status["message"].startswith(f'Gadget.test.kubesim.io "broken" is invalid: {field}: ')


def test_missing_required_field_is_named(custom: kubernetes.client.CustomObjectsApi, namespace: str) -> None:
    body = gadget("incomplete")
    del body["spec"]["repository"]  # type: ignore[attr-defined]

    with pytest.raises(ApiException) as rejected:
        _create(custom, namespace, body)

    causes = _status_body(rejected.value)["details"]["causes"]
    assert causes == [{"reason": "FieldValueRequired", "field": "spec.repository", "message": "Required value"}]


def test_main_resource_write_ignores_status(custom: kubernetes.client.CustomObjectsApi, namespace: str) -> None:
    _create(custom, namespace, gadget("isolated"))
    custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, PLURAL, "isolated", {"status": {"phase": "Running"}}
    )

    patched = custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, "isolated", {"spec": {"number": 8}, "status": {"phase": "Done"}}
    )

    assert patched["spec"]["number"] == 8
    assert patched["status"] == {"phase": "Running"}
    assert patched["metadata"]["generation"] == 2


def test_status_write_changes_only_status(custom: kubernetes.client.CustomObjectsApi, namespace: str) -> None:
    created = _create(custom, namespace, gadget("status-only"))

    patched = custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, PLURAL, "status-only",
        {"spec": {"number": 99}, "metadata": {"labels": {"sneaky": "yes"}}, "status": {"phase": "Queued"}},
    )

    assert patched["status"] == {"phase": "Queued"}
    assert patched["spec"]["number"] == 7
    assert "labels" not in patched["metadata"]
    assert patched["metadata"]["generation"] == 1
    assert int(patched["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])


def test_status_is_validated(custom: kubernetes.client.CustomObjectsApi, namespace: str) -> None:
    _create(custom, namespace, gadget("bad-status"))

    with pytest.raises(ApiException) as rejected:
        custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, namespace, PLURAL, "bad-status", {"status": {"phase": "Exploded"}}
        )

    assert rejected.value.status == 422
    assert _status_body(rejected.value)["details"]["causes"][0]["field"] == "status.phase"


def test_metadata_change_keeps_generation(custom: kubernetes.client.CustomObjectsApi, namespace: str) -> None:
    _create(custom, namespace, gadget("labelled"))

    patched = custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, "labelled", {"metadata": {"labels": {"team": "a"}}}
    )

    assert patched["metadata"]["labels"] == {"team": "a"}
    assert patched["metadata"]["generation"] == 1


def test_no_op_patch_keeps_resource_version(custom: kubernetes.client.CustomObjectsApi, namespace: str) -> None:
    created = _create(custom, namespace, gadget("unchanged"))

    patched = custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, "unchanged", {"spec": {"number": 7}}
    )

    assert patched["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


def test_json_patch_applies_operations(custom: kubernetes.client.CustomObjectsApi, namespace: str) -> None:
    _create(custom, namespace, gadget("json-patched"))

    patched = custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, "json-patched",
        [
            {"op": "test", "path": "/spec/number", "value": 7},
            {"op": "replace", "path": "/spec/number", "value": 11},
            {"op": "add", "path": "/metadata/labels", "value": {"patched": "json"}},
        ],
        _content_type="application/json-patch+json",
    )

    assert patched["spec"]["number"] == 11
    assert patched["metadata"]["labels"] == {"patched": "json"}


def test_failed_json_patch_test_is_rejected(custom: kubernetes.client.CustomObjectsApi, namespace: str) -> None:
    _create(custom, namespace, gadget("json-tested"))

    with pytest.raises(ApiException) as rejected:
        custom.patch_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, "json-tested", [{"op": "test", "path": "/spec/number", "value": 1}],
            _content_type="application/json-patch+json",
        )

    assert rejected.value.status == 422
    assert custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "json-tested")["spec"]["number"] == 7


def test_merge_patch_null_removes_field(custom: kubernetes.client.CustomObjectsApi, namespace: str) -> None:
    _create(custom, namespace, gadget("merged", extra={"keep": 1, "drop": 2}))

    patched = custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, "merged", {"spec": {"extra": {"drop": None}}}
    )

    assert patched["spec"]["extra"] == {"keep": 1}


@pytest.mark.parametrize(
    "content_type", ["application/strategic-merge-patch+json", "application/apply-patch+yaml"]
)
def test_unsupported_patch_type_is_415(
    custom: kubernetes.client.CustomObjectsApi, namespace: str, content_type: str
) -> None:
    _create(custom, namespace, gadget("unpatchable"))

    with pytest.raises(ApiException) as rejected:
        custom.patch_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, "unpatchable", {"spec": {"number": 2}}, _content_type=content_type
        )

    assert rejected.value.status == 415
    assert _status_body(rejected.value)["reason"] == "UnsupportedMediaType"


def test_put_without_resource_version_is_invalid(custom: kubernetes.client.CustomObjectsApi, namespace: str) -> None:
    _create(custom, namespace, gadget("unversioned"))

    with pytest.raises(ApiException) as rejected:
        custom.replace_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "unversioned", gadget("unversioned"))

    assert rejected.value.status == 422
    assert _status_body(rejected.value)["details"]["causes"][0]["field"] == "metadata.resourceVersion"


def test_strict_field_validation_rejects_unknown_field(apiserver: RunningApiServer, namespace: str) -> None:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        f"{apiserver.url}/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}?fieldValidation=Strict",
        data=json.dumps(gadget("strict", colour="red")).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as rejected:
        urllib.request.urlopen(request)

    assert rejected.value.code == 400
    assert json.loads(rejected.value.read())["message"] == 'strict decoding error: unknown field "spec.colour"'


def test_strategic_merge_patch_merges_containers_by_name(core: kubernetes.client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_pod(namespace, {
        "metadata": {"name": "two-containers"},
        "spec": {"containers": [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]},
    })

    patch = {"spec": {"containers": [{"name": "b", "image": "b:2"}]}}
    patched = core.patch_namespaced_pod("two-containers", namespace, patch)

    assert [(container.name, container.image) for container in patched.spec.containers] == [("a", "a:1"), ("b", "b:2")]


def test_crd_created_through_api_is_served_then_removed(
    api_client: kubernetes.client.ApiClient, custom: kubernetes.client.CustomObjectsApi, namespace: str
) -> None:
    extensions = kubernetes.client.ApiextensionsV1Api(api_client)
    extensions.create_custom_resource_definition({
        "metadata": {"name": "gizmos.test.kubesim.io"},
        "spec": {
            "group": "test.kubesim.io", "scope": "Cluster",
            "names": {"plural": "gizmos", "singular": "gizmo", "kind": "Gizmo"},
            "versions": [{
                "name": "v1", "served": True, "storage": True,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
            }],
        },
    })

    created = custom.create_cluster_custom_object(GROUP, VERSION, "gizmos", {"metadata": {"name": "g"}, "any": 1})
    extensions.delete_custom_resource_definition("gizmos.test.kubesim.io")

    assert created["any"] == 1
    with pytest.raises(ApiException) as unserved:
        custom.list_cluster_custom_object(GROUP, VERSION, "gizmos")
    assert unserved.value.status == 404


def test_crd_with_wrong_name_is_invalid(api_client: kubernetes.client.ApiClient) -> None:
    extensions = kubernetes.client.ApiextensionsV1Api(api_client)

    with pytest.raises(ApiException) as rejected:
        extensions.create_custom_resource_definition({
            "metadata": {"name": "wrong.test.kubesim.io"},
            "spec": {
                "group": "test.kubesim.io", "scope": "Namespaced",
                "names": {"plural": "things", "kind": "Thing"},
                "versions": [{"name": "v1", "served": True, "storage": True}],
            },
        })

    assert rejected.value.status == 422
    assert _status_body(rejected.value)["details"]["causes"][0]["field"] == "metadata.name"
