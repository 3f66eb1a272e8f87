"""The receiver against kubesim: the real Kubernetes client, the CRD's schema, faults and RBAC verbs."""

import itertools
import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from kubernetes import client, config

from kubesim.testing import RunningApiServer, running_apiserver
from pr_receiver.app import create_app
from pr_receiver.kube_store import KubernetesReviewStore, kubernetes_api_client
from pr_receiver.store import ReviewRejected
from prreview_api.spec import ReviewSpec, review_resource
from tests.receiver.conftest import make_config
from tests.receiver.deliveries import FORM, JSON, SECRET, signed

CRD_DIR = Path(__file__).resolve().parents[2] / "crds"
RECEIVER_TOKEN = "receiver-token"
OPERATOR_TOKEN = "operator-token"
TIMEOUT_SECONDS = 0.5
OPENED_NAME = "prr-lumen-labs-orbit-api-42-3f9c2b7-76cd8b9cdf"
GROUP, VERSION, PLURAL = "prreviewer.io", "v1alpha1", "prreviews"
_namespace_numbers = itertools.count(1)


@dataclass
class Cluster:
    apiserver: RunningApiServer
    receiver_kubeconfig: Path
    operator: client.ApiClient  # acts as the operator: sets phases and creates Jobs

    def reviews(self, namespace: str) -> list[dict[str, Any]]:
        return sorted(self.apiserver.store.objects(GROUP, PLURAL, namespace=namespace),
                      key=lambda resource: resource["metadata"]["name"])

    def set_phase(self, namespace: str, name: str, phase: str) -> None:
        client.CustomObjectsApi(self.operator).patch_namespaced_custom_object_status(
            GROUP, VERSION, namespace, PLURAL, name, {"status": {"phase": phase}},
            _content_type="application/merge-patch+json",
        )


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    folder = tmp_path_factory.mktemp("kubeconfig")
    with running_apiserver(crd_dir=CRD_DIR) as apiserver:
        operator_config = client.Configuration()
        config.load_kube_config(
            str(apiserver.write_kubeconfig(folder / "operator", token=OPERATOR_TOKEN)),
            client_configuration=operator_config,
        )
        receiver_kubeconfig = apiserver.write_kubeconfig(folder / "receiver", token=RECEIVER_TOKEN)
        yield Cluster(apiserver, receiver_kubeconfig, client.ApiClient(operator_config))


@pytest.fixture
def namespace(cluster: Cluster) -> Iterator[str]:
    name = f"reviews-{next(_namespace_numbers)}"
    client.CoreV1Api(cluster.operator).create_namespace({"metadata": {"name": name}})
    yield name
    cluster.apiserver.clear_faults()


@pytest.fixture
def receiver(cluster: Cluster, namespace: str, monkeypatch: pytest.MonkeyPatch) -> FlaskClient:
    monkeypatch.setenv("KUBECONFIG", str(cluster.receiver_kubeconfig))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    store = KubernetesReviewStore(kubernetes_api_client(), namespace, TIMEOUT_SECONDS)
    return create_app(make_config(namespace=namespace, kube_api_timeout_seconds=TIMEOUT_SECONDS), store).test_client()


def post(receiver: FlaskClient, name: str, content_type: str = JSON, delivery_id: str = "dlv-1") -> tuple[int, Any]:
    body, headers = signed(name, "pull_request", content_type, delivery_id)
    response = receiver.post("/webhook", data=body, headers=headers)
    return response.status_code, response.get_json()


@pytest.mark.parametrize("content_type", [JSON, FORM])
def test_opened_pr_is_stored_in_cluster(
    cluster: Cluster, namespace: str, receiver: FlaskClient, content_type: str
) -> None:
    status, body = post(receiver, "pull_request.opened.json", content_type)

    assert status == 202
    assert body == {"status": "queued", "name": OPENED_NAME, "namespace": namespace, "duplicate": False}
    [resource] = cluster.reviews(namespace)
    assert resource["metadata"]["name"] == OPENED_NAME
    assert resource["metadata"]["labels"] == {
        "prreviewer.io/repository": "lumen-labs.orbit-api",
        "prreviewer.io/pr": "42",
        "app.kubernetes.io/managed-by": "pr-receiver",
    }
    assert resource["spec"] == {
        "repository": "lumen-labs/orbit-api",
        "prNumber": 42,
        "headSha": "3f9c2b7d81e04a5c6b2d9e8f0a1b4c7d2e5f8a90",
        "headShortSha": "3f9c2b7",
        "baseRef": "main",
        "baseSha": "c04e8a1f2b7d3e9c5a6f8b0d1e2c4a7f9b3d5e61",
        "cloneUrl": "https://github.com/lumen-labs/orbit-api.git",
        "installationId": 48213377,
        "deliveryId": "dlv-1",
        "action": "opened",
        "sender": "mira-dev",
        "title": "Retry orbit window fetches with jitter",
    }
    assert "status" not in resource


def test_redelivery_keeps_one_resource(cluster: Cluster, namespace: str, receiver: FlaskClient) -> None:
    post(receiver, "pull_request.opened.json", delivery_id="dlv-1")
    status, body = post(receiver, "pull_request.opened.json", delivery_id="dlv-2")

    assert status == 202
    assert body["duplicate"] is True
    assert body["name"] == OPENED_NAME
    assert [resource["spec"]["deliveryId"] for resource in cluster.reviews(namespace)] == ["dlv-1"]


def test_fork_and_deleted_fork_are_stored(cluster: Cluster, namespace: str, receiver: FlaskClient) -> None:
    assert post(receiver, "pull_request.opened.fork.json")[0] == 202
    assert post(receiver, "pull_request.synchronize.deleted_fork.json")[0] == 202
    assert [resource["spec"]["prNumber"] for resource in cluster.reviews(namespace)] == [63, 64]


def test_close_cancels_only_pending_reviews(cluster: Cluster, namespace: str, receiver: FlaskClient) -> None:
    _, first = post(receiver, "pull_request.opened.json")
    _, second = post(receiver, "pull_request.synchronize.json")
    _, other_pr = post(receiver, "pull_request.opened.fork.json")
    payload_names = {"Queued": first["name"], "Succeeded": second["name"]}
    cluster.set_phase(namespace, payload_names["Queued"], "Queued")
    cluster.set_phase(namespace, payload_names["Succeeded"], "Succeeded")

    status, body = post(receiver, "pull_request.closed.json")

    assert status == 200
    assert body == {"status": "cancelled", "cancelled": 1, "names": [first["name"]], "reason": "PR #42 was closed"}
    phases = {resource["metadata"]["name"]: resource.get("status", {}) for resource in cluster.reviews(namespace)}
    assert phases[first["name"]]["phase"] == "Cancelled"
    assert phases[first["name"]]["reason"] == "PullRequestClosed"
    assert phases[first["name"]]["message"] == "PR #42 was closed"
    assert "completedAt" in phases[first["name"]]
    assert phases[second["name"]] == {"phase": "Succeeded"}
    assert phases[other_pr["name"]] == {}


def test_draft_conversion_cancels_running_and_unseen(
    cluster: Cluster, namespace: str, receiver: FlaskClient
) -> None:
    _, running = post(receiver, "pull_request.opened.json")
    _, unseen = post(receiver, "pull_request.synchronize.json")
    cluster.set_phase(namespace, running["name"], "Running")

    status, body = post(receiver, "pull_request.converted_to_draft.json")

    assert status == 200
    assert body["cancelled"] == 2
    assert [resource["status"]["phase"] for resource in cluster.reviews(namespace)] == ["Cancelled", "Cancelled"]
    assert {resource["metadata"]["name"] for resource in cluster.reviews(namespace)} == {
        running["name"], unseen["name"],
    }


@pytest.mark.parametrize("error_status", [500, 503, 403])
def test_api_refusal_returns_503(
    cluster: Cluster, namespace: str, receiver: FlaskClient, caplog: pytest.LogCaptureFixture, error_status: int
) -> None:
    cluster.apiserver.inject_error(error_status, method="POST", path_prefix=f"/apis/{GROUP}/", times=1)

    with caplog.at_level(logging.ERROR, logger="pr_receiver"):
        status, body = post(receiver, "pull_request.opened.json", delivery_id="dlv-refused")

    assert status == 503
    assert body["error"].startswith("the Kubernetes API failed or timed out, so this delivery may or may not have")
    assert cluster.reviews(namespace) == []
    [line] = [record.getMessage() for record in caplog.records]
    assert line.startswith(
        "Failed to store delivery dlv-refused for lumen-labs/orbit-api#42, responding 503: "
        f"Kubernetes API request to create failed: HTTP {error_status} "
    )


def test_slow_api_times_out_with_503(
    cluster: Cluster, namespace: str, receiver: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    cluster.apiserver.inject_delay(TIMEOUT_SECONDS * 4, method="POST", path_prefix=f"/apis/{GROUP}/", times=1)

    started = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="pr_receiver"):
        status, _ = post(receiver, "pull_request.opened.json", delivery_id="dlv-slow")
    elapsed = time.monotonic() - started

    assert status == 503
    assert elapsed < TIMEOUT_SECONDS * 3
    [line] = [record.getMessage() for record in caplog.records]
    assert "delivery dlv-slow" in line
    assert "ReadTimeoutError" in line

    # The API server may still have stored the slow request; GitHub's redelivery then maps onto it.
    cluster.apiserver.clear_faults()
    status, body = post(receiver, "pull_request.opened.json", delivery_id="dlv-slow")
    assert status == 202
    assert body["name"] == OPENED_NAME
    assert len(cluster.reviews(namespace)) == 1


def test_unreachable_api_degrades_probes(
    cluster: Cluster, namespace: str, receiver: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    cluster.apiserver.refuse_connections()
    try:
        with caplog.at_level(logging.ERROR, logger="pr_receiver"):
            webhook_status, _ = post(receiver, "pull_request.opened.json", delivery_id="dlv-down")
        health = receiver.get("/health")
        ready = receiver.get("/ready")
        queue = receiver.get("/queue")
    finally:
        cluster.apiserver.accept_connections()

    assert webhook_status == 503
    assert "Failed to store delivery dlv-down" in caplog.records[0].getMessage()
    assert "NewConnectionError" in caplog.records[0].getMessage()
    assert (health.status_code, health.get_json()["status"]) == (200, "degraded")
    assert ready.status_code == 503
    assert queue.status_code == 503
    assert cluster.reviews(namespace) == []
    assert receiver.get("/ready").status_code == 200


def review_job(name: str, component: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/component": component}},
        "spec": {
            "template": {
                "spec": {"restartPolicy": "Never", "containers": [{"name": "reviewer", "image": "reviewer:test"}]}
            }
        },
    }


def test_queue_counts_waiting_reviews_and_active_jobs(
    cluster: Cluster, namespace: str, receiver: FlaskClient
) -> None:
    # The third review has no phase yet: the operator has not seen it, so it waits too.
    _, first = post(receiver, "pull_request.opened.json")
    _, second = post(receiver, "pull_request.synchronize.json")
    post(receiver, "pull_request.opened.fork.json")
    cluster.set_phase(namespace, first["name"], "Running")
    cluster.set_phase(namespace, second["name"], "Queued")

    batch = client.BatchV1Api(cluster.operator)
    for name, component, finished_as in [
        ("review-active", "review-job", None),
        ("review-complete", "review-job", "Complete"),
        ("review-failed", "review-job", "Failed"),
        ("unrelated-active", "nightly-report", None),
    ]:
        batch.create_namespaced_job(namespace, review_job(name, component))
        if finished_as:
            status = {"conditions": [{"type": finished_as, "status": "True"}]}
            batch.patch_namespaced_job_status(name, namespace, {"status": status})

    assert receiver.get("/queue").get_json() == {"queue_size": 2, "active_workers": 1, "max_workers": 3}
    assert receiver.get("/health").get_json() == {"status": "healthy", "queue_size": 2, "active_workers": 1}


def test_receiver_uses_only_granted_verbs(cluster: Cluster, namespace: str, receiver: FlaskClient) -> None:
    cluster.apiserver.request_log.clear()
    post(receiver, "pull_request.opened.json")
    post(receiver, "pull_request.opened.json")
    post(receiver, "pull_request.closed.json")
    post(receiver, "pull_request.reopened.json")
    receiver.get("/queue")
    receiver.get("/ready")

    assert cluster.apiserver.request_log.rbac_verbs(token=RECEIVER_TOKEN) == {
        (GROUP, "prreviews"): {"create", "get", "list", "delete"},
        (GROUP, "prreviews/status"): {"patch"},
        ("batch", "jobs"): {"list"},
    }


def test_secret_never_reaches_cluster(cluster: Cluster, namespace: str, receiver: FlaskClient) -> None:
    post(receiver, "pull_request.opened.json")
    post(receiver, "pull_request.closed.json")
    assert SECRET not in json.dumps(cluster.reviews(namespace))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_ready(url: str, process: subprocess.Popen[str], deadline_seconds: float = 20.0) -> None:
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "pr-receiver exited before it was ready"
        try:
            with urllib.request.urlopen(f"{url}/ready", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"pr-receiver was not ready within {deadline_seconds} s")


def test_console_script_serves_with_gunicorn_insecure(cluster: Cluster, namespace: str) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if key != "WEBHOOK_SECRET"}
    env.update({
        "KUBECONFIG": str(cluster.receiver_kubeconfig),
        "REVIEW_NAMESPACE": namespace,
        "RECEIVER_INSECURE_SKIP_SIGNATURE": "true",
    })
    env.pop("KUBERNETES_SERVICE_HOST", None)
    script = Path(sys.executable).with_name("pr-receiver")
    process = subprocess.Popen(
        [str(script), "--bind", f"127.0.0.1:{port}"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until_ready(url, process)
        body, headers = signed("pull_request.opened.json", "pull_request")
        del headers["X-Hub-Signature-256"]
        request = urllib.request.Request(f"{url}/webhook", data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            status, reply = response.status, json.loads(response.read())
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=20)

    assert status == 202
    assert reply["name"] == OPENED_NAME
    assert [resource["metadata"]["name"] for resource in cluster.reviews(namespace)] == [OPENED_NAME]
    warning = "WARNING pr_receiver.app: RECEIVER_INSECURE_SKIP_SIGNATURE=true: webhook signatures are NOT verified"
    assert warning in output
    assert f"✓ PR #42 added to queue as {namespace}/{OPENED_NAME}" in output


def test_cancel_retries_after_conflict(cluster: Cluster, namespace: str, receiver: FlaskClient) -> None:
    post(receiver, "pull_request.opened.json")
    cluster.apiserver.inject_error(409, method="PATCH", path_prefix=f"/apis/{GROUP}/", times=1)
    cluster.apiserver.request_log.clear()

    status, body = post(receiver, "pull_request.closed.json")

    assert status == 200
    assert body["names"] == [OPENED_NAME]
    assert cluster.reviews(namespace)[0]["status"]["phase"] == "Cancelled"
    verbs = [record.verb for record in cluster.apiserver.request_log.records(token=RECEIVER_TOKEN)]
    assert verbs == ["list", "patch", "get", "patch"]


def test_cancel_gives_up_after_repeated_conflicts(
    cluster: Cluster, namespace: str, receiver: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    post(receiver, "pull_request.opened.json")
    cluster.apiserver.inject_error(409, method="PATCH", path_prefix=f"/apis/{GROUP}/", times=3)

    with caplog.at_level(logging.ERROR, logger="pr_receiver"):
        status, _ = post(receiver, "pull_request.closed.json", delivery_id="dlv-conflict")

    assert status == 503
    assert caplog.records[0].getMessage() == (
        "Failed to store delivery dlv-conflict for lumen-labs/orbit-api#42, responding 503: Kubernetes API request to "
        f"cancel {namespace}/{OPENED_NAME} failed: the resource changed during each of 3 attempts"
    )
    assert "status" not in cluster.reviews(namespace)[0]


def test_cancel_skips_review_finished_meanwhile(cluster: Cluster, namespace: str, receiver: FlaskClient) -> None:
    post(receiver, "pull_request.opened.json")
    cluster.set_phase(namespace, OPENED_NAME, "Running")
    store = KubernetesReviewStore(kubernetes_api_client(), namespace, TIMEOUT_SECONDS)
    listed = store._list_reviews("lumen-labs/orbit-api", 42)
    cluster.set_phase(namespace, OPENED_NAME, "Succeeded")

    # The stale resourceVersion makes the patch fail with 409; the re-read shows a final phase.
    assert store._cancel(listed[0], "PullRequestClosed", "PR #42 was closed") is False
    assert cluster.reviews(namespace)[0]["status"] == {"phase": "Succeeded"}


def test_reopen_replaces_cancelled_review_and_its_job(
    cluster: Cluster, namespace: str, receiver: FlaskClient
) -> None:
    post(receiver, "pull_request.opened.json", delivery_id="dlv-opened")
    [cancelled] = cluster.reviews(namespace)
    job = review_job("leftover-review-job", "review-job")
    job["metadata"]["ownerReferences"] = [{
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "PullRequestReview", "name": OPENED_NAME,
        "uid": cancelled["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True,
    }]
    client.BatchV1Api(cluster.operator).create_namespaced_job(namespace, job)
    post(receiver, "pull_request.closed.json", delivery_id="dlv-closed")

    status, body = post(receiver, "pull_request.reopened.json", delivery_id="dlv-reopened")

    assert status == 202
    assert body == {
        "status": "queued", "name": OPENED_NAME, "namespace": namespace,
        "duplicate": False, "requeued": True, "replaced_phase": "Cancelled",
    }
    [review] = cluster.reviews(namespace)
    assert review["metadata"]["uid"] != cancelled["metadata"]["uid"]
    assert "status" not in review
    assert review["spec"]["deliveryId"] == "dlv-reopened"
    assert cluster.apiserver.store.objects("batch", "jobs", namespace=namespace) == []

    status, body = post(receiver, "pull_request.reopened.json", delivery_id="dlv-reopened-again")
    assert status == 202
    assert body["duplicate"] is True


def test_api_rejection_of_invalid_resource_is_reported(cluster: Cluster, namespace: str) -> None:
    store = KubernetesReviewStore(kubernetes_api_client_for(cluster), namespace, TIMEOUT_SECONDS)
    body = review_resource(
        ReviewSpec(repository="lumen-labs/orbit-api", pr_number=42, head_sha="a" * 40, base_ref="r" * 256,
                   clone_url="https://github.com/lumen-labs/orbit-api.git", delivery_id="dlv-1", action="opened"),
        namespace, "pr-receiver",
    )

    with pytest.raises(ReviewRejected) as raised:
        store.create_review(body)

    message = str(raised.value)
    assert message.startswith(f'PullRequestReview.{GROUP} "{body["metadata"]["name"]}" is invalid: ')
    assert "spec.baseRef" in message
    assert len(message) <= 1003
    assert cluster.reviews(namespace) == []


def test_api_422_returns_400_not_503(
    cluster: Cluster, namespace: str, receiver: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    cluster.apiserver.inject_error(422, method="POST", path_prefix=f"/apis/{GROUP}/", times=1)

    with caplog.at_level(logging.WARNING, logger="pr_receiver"):
        status, body = post(receiver, "pull_request.opened.json", delivery_id="dlv-invalid")

    assert status == 400
    assert body == {
        "error": "the Kubernetes API rejected the review resource: injected fault: the server answered 422"
    }
    assert [record.getMessage() for record in caplog.records] == [
        "Rejected delivery dlv-invalid for lumen-labs/orbit-api#42 with 400: the Kubernetes API rejected the "
        "review resource: injected fault: the server answered 422"
    ]
    assert cluster.reviews(namespace) == []


def kubernetes_api_client_for(cluster: Cluster) -> client.ApiClient:
    configuration = client.Configuration()
    config.load_kube_config(str(cluster.receiver_kubeconfig), client_configuration=configuration)
    return client.ApiClient(configuration)
