"""Discovery documents, OpenAPI paths, Table output and error bodies, read over plain HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from kubesim.testing import RunningApiServer

from .conftest import GROUP, PLURAL, VERSION, gadget

TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def _get(apiserver: RunningApiServer, path: str, accept: str = "application/json") -> Any:
    request = urllib.request.Request(apiserver.url + path, headers={"Accept": accept})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def _send(
    apiserver: RunningApiServer, method: str, path: str, body: Any, content_type: str = "application/json"
) -> Any:
    request = urllib.request.Request(
        apiserver.url + path, data=json.dumps(body).encode(), headers={"Content-Type": content_type}, method=method
    )
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def _error(apiserver: RunningApiServer, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        apiserver.url + path, data=data, headers={"Content-Type": "application/json"}, method=method
    )
    with pytest.raises(urllib.error.HTTPError) as failed:
        urllib.request.urlopen(request)
    return failed.value.code, json.loads(failed.value.read())


def test_version_names_the_release(apiserver: RunningApiServer) -> None:
    version = _get(apiserver, "/version")

    assert (version["major"], version["minor"]) == ("1", "32")


def test_core_resource_list_has_verbs_and_subresources(apiserver: RunningApiServer) -> None:
    resources = {entry["name"]: entry for entry in _get(apiserver, "/api/v1")["resources"]}

    assert resources["pods"]["shortNames"] == ["po"]
    assert resources["pods"]["namespaced"] is True
    assert "watch" in resources["pods"]["verbs"]
    assert resources["pods/log"]["verbs"] == ["get"]
    assert resources["pods/status"]["verbs"] == ["get", "patch", "update"]
    assert resources["namespaces"]["namespaced"] is False


def test_group_list_includes_crd_group(apiserver: RunningApiServer) -> None:
    groups = {group["name"]: group for group in _get(apiserver, "/apis")["groups"]}

    assert set(groups) >= {"batch", "coordination.k8s.io", "events.k8s.io", "apiextensions.k8s.io", GROUP}
    assert groups[GROUP]["preferredVersion"] == {"groupVersion": f"{GROUP}/{VERSION}", "version": VERSION}


def test_crd_resource_list_describes_gadgets(apiserver: RunningApiServer) -> None:
    document = _get(apiserver, f"/apis/{GROUP}/{VERSION}")
    resources = {entry["name"]: entry for entry in document["resources"]}

    assert document["groupVersion"] == f"{GROUP}/{VERSION}"
    assert resources[PLURAL]["kind"] == "Gadget"
    assert resources[PLURAL]["shortNames"] == ["gd"]
    assert resources[PLURAL]["categories"] == ["kubesim"]
    assert f"{PLURAL}/status" in resources
    assert _get(apiserver, "/apis/batch/v1")["resources"][1]["name"] == "jobs/status"


def test_openapi_v3_marks_field_validation_on_patch(apiserver: RunningApiServer) -> None:
    root = _get(apiserver, "/openapi/v3")
    document = _get(apiserver, root["paths"][f"apis/{GROUP}/{VERSION}"]["serverRelativeURL"])

    item = document["paths"][f"/apis/{GROUP}/{VERSION}/namespaces/{{namespace}}/{PLURAL}/{{name}}"]
    assert item["patch"]["x-kubernetes-group-version-kind"] == {"group": GROUP, "version": VERSION, "kind": "Gadget"}
    assert "fieldValidation" in [parameter["name"] for parameter in item["patch"]["parameters"]]


def test_custom_resource_table_has_printer_columns(apiserver: RunningApiServer, namespace: str) -> None:
    path = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}"
    _send(apiserver, "POST", path, gadget("tabled", number=12))
    _send(apiserver, "PATCH", f"{path}/tabled/status", {"status": {"phase": "Running"}}, "application/merge-patch+json")

    table = _get(apiserver, path, TABLE_ACCEPT)

    assert table["kind"] == "Table"
    assert [column["name"] for column in table["columnDefinitions"]] == ["Name", "Repository", "Number", "Phase", "Age"]
    assert table["rows"][0]["cells"][:4] == ["tabled", "octo/widgets", 12, "Running"]
    assert table["rows"][0]["cells"][4].endswith("s")
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


def test_table_of_one_object_and_missing_cell(apiserver: RunningApiServer, namespace: str) -> None:
    path = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}"
    _send(apiserver, "POST", path, gadget("single"))

    table = _get(apiserver, f"{path}/single", TABLE_ACCEPT)

    assert len(table["rows"]) == 1
    assert table["rows"][0]["cells"][3] is None


def test_job_table_shows_status_and_completions(apiserver: RunningApiServer, namespace: str) -> None:
    path = f"/apis/batch/v1/namespaces/{namespace}/jobs"
    _send(apiserver, "POST", path, {
        "metadata": {"name": "tabled-job"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "r", "image": "r:1"}]}}},
    })
    _send(apiserver, "PATCH", f"{path}/tabled-job/status", {
        "status": {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]},
    }, "application/merge-patch+json")

    table = _get(apiserver, path, TABLE_ACCEPT)

    assert [column["name"] for column in table["columnDefinitions"]] == ["Name", "Status", "Completions", "Age"]
    assert table["rows"][0]["cells"][:3] == ["tabled-job", "Complete", "1/1"]


def test_unknown_resource_is_404_status(apiserver: RunningApiServer) -> None:
    code, body = _error(apiserver, "GET", "/apis/nothing.example/v1/widgets")

    assert code == 404
    assert body["kind"] == "Status"
    assert body["reason"] == "NotFound"


def test_unsupported_verb_is_405(apiserver: RunningApiServer) -> None:
    code, body = _error(apiserver, "POST", "/api/v1/namespaces/default/configmaps/named", {"metadata": {}})

    assert code == 405
    assert body["reason"] == "MethodNotAllowed"


def test_malformed_body_is_400(apiserver: RunningApiServer) -> None:
    request = urllib.request.Request(
        apiserver.url + "/api/v1/namespaces/default/configmaps", data=b"{not json",
        headers={"Content-Type": "application/json"}, method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as failed:
        urllib.request.urlopen(request)

    assert failed.value.code == 400
    assert json.loads(failed.value.read())["reason"] == "BadRequest"


def test_kind_mismatch_is_400(apiserver: RunningApiServer) -> None:
    code, body = _error(apiserver, "POST", "/api/v1/namespaces/default/configmaps", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "mismatch"},
    })

    assert code == 400
    assert body["message"] == "the kind in the data (Secret) does not match the expected kind (ConfigMap)"


def test_dry_run_is_rejected_not_persisted(apiserver: RunningApiServer) -> None:
    code, body = _error(apiserver, "POST", "/api/v1/namespaces/default/configmaps?dryRun=All", {
        "metadata": {"name": "dry"},
    })

    assert code == 400
    assert body["message"] == "dryRun is not supported by kubesim"
    stored_names = [obj["metadata"]["name"] for obj in apiserver.store.objects("", "configmaps", "default")]
    assert "dry" not in stored_names


def test_delete_with_finalizer_answers_202(apiserver: RunningApiServer, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    _send(apiserver, "POST", path, {"metadata": {"name": "pending", "finalizers": ["test/x"]}})

    request = urllib.request.Request(f"{apiserver.url}{path}/pending", method="DELETE")
    with urllib.request.urlopen(request) as response:
        status = response.status

    assert status == 202
