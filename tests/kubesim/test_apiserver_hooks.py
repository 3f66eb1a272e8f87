"""Test hooks: injected errors and delays, refused connections, the request log and direct store reads."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import kubernetes
import pytest
import urllib3
from kubernetes.client import ApiException

from kubesim.testing import RunningApiServer


@pytest.fixture(autouse=True)
def _no_faults_left(apiserver: RunningApiServer) -> Iterator[None]:
    yield
    apiserver.clear_faults()


def _client(apiserver: RunningApiServer, tmp_path: Path, token: str) -> kubernetes.client.CoreV1Api:
    config = apiserver.write_kubeconfig(tmp_path / f"{token}.kubeconfig", token=token)
    client = kubernetes.config.new_client_from_config(config_file=str(config))
    return kubernetes.client.CoreV1Api(client)


def test_injected_error_answers_next_matching_requests(
    core: kubernetes.client.CoreV1Api, apiserver: RunningApiServer, namespace: str
) -> None:
    apiserver.inject_error(503, method="POST", path_prefix=f"/api/v1/namespaces/{namespace}/configmaps", times=2)

    statuses = []
    for _ in range(2):
        with pytest.raises(ApiException) as failed:
            core.create_namespaced_config_map(namespace, {"metadata": {"name": "retried"}})
        statuses.append(failed.value.status)
    listed = core.list_namespaced_config_map(namespace)
    created = core.create_namespaced_config_map(namespace, {"metadata": {"name": "retried"}})

    assert statuses == [503, 503]
    assert listed.items == []
    assert created.metadata.name == "retried"


def test_injected_error_body_is_status(apiserver: RunningApiServer, core: kubernetes.client.CoreV1Api) -> None:
    apiserver.inject_error(503, path_prefix="/api/v1/namespaces/default/secrets")

    with pytest.raises(ApiException) as failed:
        core.list_namespaced_secret("default")

    assert failed.value.status == 503
    assert '"reason": "ServiceUnavailable"' in failed.value.body


def test_injected_error_ignores_other_methods(apiserver: RunningApiServer, core: kubernetes.client.CoreV1Api) -> None:
    apiserver.inject_error(503, method="DELETE", path_prefix="/api/v1/namespaces/default/configmaps", times=1)

    listed = core.list_namespaced_config_map("default")

    assert listed.kind == "ConfigMapList"


def test_injected_delay_holds_matching_requests(apiserver: RunningApiServer, core: kubernetes.client.CoreV1Api) -> None:
    apiserver.inject_delay(0.3, method="GET", path_prefix="/api/v1/namespaces/default/serviceaccounts", times=1)

    began = time.monotonic()
    core.list_namespaced_service_account("default")
    delayed = time.monotonic() - began
    began = time.monotonic()
    core.list_namespaced_service_account("default")
    undelayed = time.monotonic() - began

    assert delayed >= 0.3
    assert undelayed < 0.3


def test_refused_connections_until_accepted_again(apiserver: RunningApiServer, tmp_path: Path) -> None:
    core = _client(apiserver, tmp_path, "refusal")
    core.api_client.configuration.retries = False

    apiserver.refuse_connections()
    try:
        with pytest.raises(urllib3.exceptions.MaxRetryError):
            core.list_namespace(_request_timeout=2)
    finally:
        apiserver.accept_connections()

    assert [item.metadata.name for item in core.list_namespace().items][:1] == ["default"]


def test_request_log_records_verbs_and_tokens(apiserver: RunningApiServer, tmp_path: Path) -> None:
    operator = _client(apiserver, tmp_path, "operator-token")
    receiver = _client(apiserver, tmp_path, "receiver-token")
    apiserver.request_log.clear()

    operator.create_namespaced_config_map("default", {"metadata": {"name": "logged"}})
    operator.patch_namespaced_config_map("logged", "default", {"data": {"a": "b"}})
    receiver.list_namespaced_config_map("default", label_selector="x=y")
    operator.delete_namespaced_config_map("logged", "default")

    operator_records = apiserver.request_log.records(token="operator-token")
    assert [(record.method, record.verb, record.status) for record in operator_records] == [
        ("POST", "create", 201), ("PATCH", "patch", 200), ("DELETE", "delete", 200),
    ]
    assert operator_records[0].resource == "configmaps"
    assert operator_records[0].namespace == "default"
    assert operator_records[1].name == "logged"
    operator_verbs = apiserver.request_log.rbac_verbs(token="operator-token")
    assert operator_verbs == {("", "configmaps"): {"create", "patch", "delete"}}
    assert apiserver.request_log.rbac_verbs(token="receiver-token") == {("", "configmaps"): {"list"}}


def test_request_log_names_subresources(
    apiserver: RunningApiServer, core: kubernetes.client.CoreV1Api, namespace: str
) -> None:
    core.create_namespaced_pod(namespace, {
        "metadata": {"name": "logged-pod"}, "spec": {"containers": [{"name": "main", "image": "busybox"}]},
    })
    apiserver.request_log.clear()

    core.patch_namespaced_pod_status("logged-pod", namespace, {"status": {"phase": "Running"}})

    records = apiserver.request_log.records()
    assert [(record.rbac_resource, record.verb, record.token) for record in records] == [
        ("pods/status", "patch", "test-client-token"),
    ]


def test_store_reads_show_current_state(
    apiserver: RunningApiServer, core: kubernetes.client.CoreV1Api, namespace: str
) -> None:
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "sampled"}, "data": {"a": "1"}})

    sampled = apiserver.store.objects("", "configmaps", namespace=namespace)

    assert [(item["metadata"]["name"], item["data"]) for item in sampled] == [("sampled", {"a": "1"})]
