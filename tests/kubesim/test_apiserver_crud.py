"""CRUD, selectors, conflicts, names, deletion and garbage collection through the official kubernetes client."""

from __future__ import annotations

import json

import kubernetes
import pytest
from kubernetes.client import ApiException

from kubesim.testing import RunningApiServer


def _error(exception: ApiException) -> dict[str, object]:
    body = json.loads(exception.body)
    assert body["kind"] == "Status"
    return body


def test_configmap_create_get_update_delete(core: kubernetes.client.CoreV1Api, namespace: str) -> None:
    created = core.create_namespaced_config_map(namespace, {"metadata": {"name": "settings"}, "data": {"a": "1"}})
    fetched = core.read_namespaced_config_map("settings", namespace)
    data_before_update = dict(fetched.data)
    fetched.data["a"] = "2"
    updated = core.replace_namespaced_config_map("settings", namespace, fetched)
    core.delete_namespaced_config_map("settings", namespace)

    assert created.metadata.uid
    assert created.metadata.creation_timestamp is not None
    assert data_before_update == {"a": "1"}
    assert int(updated.metadata.resource_version) > int(created.metadata.resource_version)
    assert updated.data == {"a": "2"}
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_config_map("settings", namespace)
    assert missing.value.status == 404
    assert _error(missing.value)["reason"] == "NotFound"
    assert _error(missing.value)["message"] == 'configmaps "settings" not found'


def test_resource_versions_come_from_one_counter(core: kubernetes.client.CoreV1Api, namespace: str) -> None:
    first = core.create_namespaced_config_map(namespace, {"metadata": {"name": "one"}})
    second = core.create_namespaced_secret(namespace, {"metadata": {"name": "two"}, "string_data": {"k": "v"}})

    assert int(second.metadata.resource_version) == int(first.metadata.resource_version) + 1


def test_create_existing_name_is_already_exists(core: kubernetes.client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "twice"}})

    with pytest.raises(ApiException) as duplicate:
        core.create_namespaced_config_map(namespace, {"metadata": {"name": "twice"}})

    assert duplicate.value.status == 409
    assert _error(duplicate.value)["reason"] == "AlreadyExists"
    assert _error(duplicate.value)["message"] == 'configmaps "twice" already exists'


def test_stale_resource_version_is_conflict(core: kubernetes.client.CoreV1Api, namespace: str) -> None:
    stale = core.create_namespaced_config_map(namespace, {"metadata": {"name": "contended"}, "data": {"a": "1"}})
    core.patch_namespaced_config_map("contended", namespace, {"data": {"a": "2"}})
    stale.data = {"a": "3"}

    with pytest.raises(ApiException) as conflict:
        core.replace_namespaced_config_map("contended", namespace, stale)

    assert conflict.value.status == 409
    assert _error(conflict.value)["reason"] == "Conflict"
    assert "the object has been modified" in _error(conflict.value)["message"]
    assert core.read_namespaced_config_map("contended", namespace).data == {"a": "2"}


def test_generate_name_gets_random_suffix(core: kubernetes.client.CoreV1Api, namespace: str) -> None:
    names = {
        core.create_namespaced_config_map(namespace, {"metadata": {"generateName": "review-"}}).metadata.name
        for _ in range(3)
    }

    assert len(names) == 3
    assert all(name.startswith("review-") and len(name) == len("review-") + 5 for name in names)


def test_create_without_name_is_invalid(core: kubernetes.client.CoreV1Api, namespace: str) -> None:
    with pytest.raises(ApiException) as nameless:
        core.create_namespaced_config_map(namespace, {"metadata": {}})

    assert nameless.value.status == 422
    causes = _error(nameless.value)["details"]["causes"]
    assert causes[0]["field"] == "metadata.name"


def test_invalid_name_is_rejected(core: kubernetes.client.CoreV1Api, namespace: str) -> None:
    with pytest.raises(ApiException) as bad_name:
        core.create_namespaced_config_map(namespace, {"metadata": {"name": "Not_Valid"}})

    assert bad_name.value.status == 422
    assert _error(bad_name.value)["details"]["causes"][0]["field"] == "metadata.name"


def test_create_in_missing_namespace_is_not_found(core: kubernetes.client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as missing:
        core.create_namespaced_config_map("nowhere", {"metadata": {"name": "lost"}})

    assert missing.value.status == 404
    assert _error(missing.value)["message"] == 'namespaces "nowhere" not found'


def test_label_selectors_filter_lists(core: kubernetes.client.CoreV1Api, namespace: str) -> None:
    for name, labels in [
        ("a", {"tier": "web", "env": "prod"}),
        ("b", {"tier": "db", "env": "prod"}),
        ("c", {"tier": "web"}),
        ("d", {}),
    ]:
        core.create_namespaced_config_map(namespace, {"metadata": {"name": name, "labels": labels}})

    def names(selector: str) -> list[str]:
        listed = core.list_namespaced_config_map(namespace, label_selector=selector)
        return [item.metadata.name for item in listed.items]

    assert names("tier=web") == ["a", "c"]
    assert names("tier==web") == ["a", "c"]
    assert names("tier!=web") == ["b", "d"]
    assert names("tier in (db, web),env") == ["a", "b"]
    assert names("tier notin (web)") == ["b", "d"]
    assert names("env") == ["a", "b"]
    assert names("!env") == ["c", "d"]
    assert names("tier=web,!env") == ["c"]


def test_malformed_label_selector_is_bad_request(core: kubernetes.client.CoreV1Api, namespace: str) -> None:
    with pytest.raises(ApiException) as malformed:
        core.list_namespaced_config_map(namespace, label_selector="tier in web")

    assert malformed.value.status == 400
    assert _error(malformed.value)["reason"] == "BadRequest"


def test_field_selectors_filter_pods(core: kubernetes.client.CoreV1Api, namespace: str) -> None:
    for name in ("first", "second"):
        core.create_namespaced_pod(namespace, {
            "metadata": {"name": name}, "spec": {"containers": [{"name": "main", "image": "busybox"}]},
        })
    core.patch_namespaced_pod_status("second", namespace, {"status": {"phase": "Running"}})

    running = core.list_namespaced_pod(namespace, field_selector="status.phase=Running").items
    not_running = core.list_namespaced_pod(namespace, field_selector="status.phase!=Running").items
    by_name = core.list_pod_for_all_namespaces(field_selector=f"metadata.name=first,metadata.namespace={namespace}")

    assert [pod.metadata.name for pod in running] == ["second"]
    assert [pod.metadata.name for pod in not_running] == ["first"]
    assert [pod.metadata.name for pod in by_name.items] == ["first"]


def test_unsupported_field_selector_is_bad_request(core: kubernetes.client.CoreV1Api, namespace: str) -> None:
    with pytest.raises(ApiException) as unsupported:
        core.list_namespaced_config_map(namespace, field_selector="data.a=1")

    assert unsupported.value.status == 400
    assert _error(unsupported.value)["message"] == "field label not supported: data.a"


def test_limit_and_continue_page_through_list(core: kubernetes.client.CoreV1Api, namespace: str) -> None:
    for index in range(5):
        core.create_namespaced_config_map(namespace, {"metadata": {"name": f"page-{index}"}})

    first = core.list_namespaced_config_map(namespace, limit=2)
    second = core.list_namespaced_config_map(namespace, limit=2, _continue=first.metadata._continue)
    third = core.list_namespaced_config_map(namespace, limit=2, _continue=second.metadata._continue)

    assert [item.metadata.name for item in first.items] == ["page-0", "page-1"]
    assert first.metadata.remaining_item_count == 3
    assert [item.metadata.name for item in second.items] == ["page-2", "page-3"]
    assert [item.metadata.name for item in third.items] == ["page-4"]
    assert third.metadata._continue is None


def test_pod_defaults_and_pending_phase(core: kubernetes.client.CoreV1Api, namespace: str) -> None:
    pod = core.create_namespaced_pod(namespace, {
        "metadata": {"name": "defaults"},
        "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}]},
        "status": {"phase": "Running"},
    })

    assert pod.status.phase == "Pending"
    assert pod.spec.restart_policy == "Always"
    assert pod.spec.service_account_name == "default"
    assert pod.spec.containers[0].termination_message_path == "/dev/termination-log"
    assert pod.spec.containers[0].image_pull_policy == "IfNotPresent"


def test_job_gets_selector_and_template_labels(batch: kubernetes.client.BatchV1Api, namespace: str) -> None:
    job = batch.create_namespaced_job(namespace, {
        "metadata": {"name": "review-1"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "r", "image": "r:1"}]}}},
    })

    uid = job.metadata.uid
    assert job.spec.backoff_limit == 6
    assert job.spec.selector.match_labels == {"batch.kubernetes.io/controller-uid": uid}
    assert job.spec.template.metadata.labels["job-name"] == "review-1"
    assert job.spec.template.metadata.labels["batch.kubernetes.io/controller-uid"] == uid
    assert job.status is None or job.status.active is None


def test_job_without_restart_policy_is_invalid(batch: kubernetes.client.BatchV1Api, namespace: str) -> None:
    with pytest.raises(ApiException) as rejected:
        batch.create_namespaced_job(namespace, {
            "metadata": {"name": "review-2"},
            "spec": {"template": {"spec": {"containers": [{"name": "r", "image": "r:1"}]}}},
        })

    assert rejected.value.status == 422
    assert _error(rejected.value)["details"]["causes"][0]["field"] == "spec.template.spec.restartPolicy"


def test_secret_string_data_becomes_base64(core: kubernetes.client.CoreV1Api, namespace: str) -> None:
    secret = core.create_namespaced_secret(namespace, {"metadata": {"name": "creds"}, "stringData": {"token": "abc"}})

    assert secret.data == {"token": "YWJj"}
    assert secret.type == "Opaque"


def test_finalizer_delays_deletion_until_removed(core: kubernetes.client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "held", "finalizers": ["test/hold"]}})

    core.delete_namespaced_config_map("held", namespace)
    marked = core.read_namespaced_config_map("held", namespace)
    core.patch_namespaced_config_map("held", namespace, {"metadata": {"finalizers": None}})

    assert marked.metadata.deletion_timestamp is not None
    assert marked.metadata.finalizers == ["test/hold"]
    with pytest.raises(ApiException) as gone:
        core.read_namespaced_config_map("held", namespace)
    assert gone.value.status == 404


def test_new_finalizer_on_deleting_object_is_forbidden(core: kubernetes.client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "closing", "finalizers": ["test/a"]}})
    core.delete_namespaced_config_map("closing", namespace)

    with pytest.raises(ApiException) as forbidden:
        core.patch_namespaced_config_map("closing", namespace, {"metadata": {"finalizers": ["test/a", "test/b"]}})

    assert forbidden.value.status == 422
    assert _error(forbidden.value)["details"]["causes"][0]["field"] == "metadata.finalizers"


def test_delete_precondition_mismatch_is_conflict(core: kubernetes.client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "guarded"}})

    with pytest.raises(ApiException) as mismatch:
        core.delete_namespaced_config_map("guarded", namespace, body={"preconditions": {"uid": "not-the-uid"}})

    assert mismatch.value.status == 409
    assert core.read_namespaced_config_map("guarded", namespace).metadata.name == "guarded"


def _owned_pod(namespace: str, name: str, owners: list[tuple[str, str]]) -> dict[str, object]:
    references = [
        {"apiVersion": "batch/v1", "kind": "Job", "name": owner_name, "uid": uid} for owner_name, uid in owners
    ]
    return {
        "metadata": {"name": name, "namespace": namespace, "ownerReferences": references},
        "spec": {"containers": [{"name": "main", "image": "busybox"}]},
    }


def _job(name: str) -> dict[str, object]:
    return {
        "metadata": {"name": name},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "r", "image": "r:1"}]}}},
    }


def test_background_deletion_removes_dependents(
    core: kubernetes.client.CoreV1Api, batch: kubernetes.client.BatchV1Api, namespace: str
) -> None:
    owner = batch.create_namespaced_job(namespace, _job("owner"))
    other = batch.create_namespaced_job(namespace, _job("other"))
    core.create_namespaced_pod(namespace, _owned_pod(namespace, "only-child", [("owner", owner.metadata.uid)]))
    core.create_namespaced_pod(namespace, _owned_pod(
        namespace, "shared-child", [("owner", owner.metadata.uid), ("other", other.metadata.uid)]
    ))

    batch.delete_namespaced_job("owner", namespace, propagation_policy="Background")

    pods = {pod.metadata.name: pod for pod in core.list_namespaced_pod(namespace).items}
    assert sorted(pods) == ["shared-child"]
    assert [ref.uid for ref in pods["shared-child"].metadata.owner_references] == [other.metadata.uid]


def test_job_deletion_orphans_pods_by_default(
    core: kubernetes.client.CoreV1Api, batch: kubernetes.client.BatchV1Api, namespace: str
) -> None:
    owner = batch.create_namespaced_job(namespace, _job("orphaning"))
    core.create_namespaced_pod(namespace, _owned_pod(namespace, "left-behind", [("orphaning", owner.metadata.uid)]))

    batch.delete_namespaced_job("orphaning", namespace)

    pod = core.read_namespaced_pod("left-behind", namespace)
    assert pod.metadata.owner_references is None


def test_namespace_deletion_removes_its_objects(core: kubernetes.client.CoreV1Api, apiserver: RunningApiServer) -> None:
    core.create_namespace({"metadata": {"name": "doomed"}})
    core.create_namespaced_config_map("doomed", {"metadata": {"name": "inside"}})
    core.create_namespaced_config_map("doomed", {"metadata": {"name": "held", "finalizers": ["test/hold"]}})

    core.delete_namespace("doomed")
    terminating = core.read_namespace("doomed")
    with pytest.raises(ApiException) as forbidden:
        core.create_namespaced_config_map("doomed", {"metadata": {"name": "late"}})
    core.patch_namespaced_config_map("held", "doomed", {"metadata": {"finalizers": []}})

    assert terminating.status.phase == "Terminating"
    assert forbidden.value.status == 403
    assert apiserver.store.objects("", "configmaps", namespace="doomed") == []
    with pytest.raises(ApiException) as gone:
        core.read_namespace("doomed")
    assert gone.value.status == 404


def test_delete_collection_honours_selector(core: kubernetes.client.CoreV1Api, namespace: str) -> None:
    for name, team in [("x", "red"), ("y", "red"), ("z", "blue")]:
        core.create_namespaced_config_map(namespace, {"metadata": {"name": name, "labels": {"team": team}}})

    core.delete_collection_namespaced_config_map(namespace, label_selector="team=red")

    assert [item.metadata.name for item in core.list_namespaced_config_map(namespace).items] == ["z"]


def test_pod_log_is_served_as_text(
    core: kubernetes.client.CoreV1Api, apiserver: RunningApiServer, namespace: str
) -> None:
    core.create_namespaced_pod(namespace, _owned_pod(namespace, "chatty", []))
    apiserver.store.append_pod_log(namespace, "chatty", "line one\n")
    apiserver.store.append_pod_log(namespace, "chatty", "line two\n")

    assert core.read_namespaced_pod_log("chatty", namespace) == "line one\nline two\n"


def test_lease_and_events_are_served(api_client: kubernetes.client.ApiClient, namespace: str) -> None:
    coordination = kubernetes.client.CoordinationV1Api(api_client)
    events = kubernetes.client.EventsV1Api(api_client)

    lease = coordination.create_namespaced_lease(
        namespace, {"metadata": {"name": "leader"}, "spec": {"holderIdentity": "a"}}
    )
    event = events.create_namespaced_event(namespace, {
        "metadata": {"name": "started"}, "eventTime": "2025-01-01T00:00:00.000000Z", "reason": "Started",
        "action": "Start", "reportingController": "test", "reportingInstance": "test-1", "type": "Normal",
    })

    assert lease.spec.holder_identity == "a"
    assert event.reason == "Started"
    assert [item.metadata.name for item in events.list_namespaced_event(namespace).items] == ["started"]
