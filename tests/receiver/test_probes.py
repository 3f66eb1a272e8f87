import logging
import re

import pytest
from flask.testing import FlaskClient

from pr_receiver.store import StoreUnavailable
from tests.receiver.deliveries import FORM, JSON, signed
from tests.receiver.memory_store import MemoryReviewStore

RUNNING_JOB = {"status": {"active": 1}}
COMPLETE_JOB = {"status": {"conditions": [{"type": "Complete", "status": "True"}]}}
FAILED_JOB = {"status": {"conditions": [{"type": "Failed", "status": "True"}]}}
SUSPENDED_JOB = {"status": {"conditions": [{"type": "Failed", "status": "False"}]}}


def queue_three_reviews(client: FlaskClient, store: MemoryReviewStore) -> None:
    for name in ("pull_request.opened.json", "pull_request.synchronize.json", "pull_request.opened.fork.json"):
        body, headers = signed(name, "pull_request")
        assert client.post("/webhook", data=body, headers=headers).status_code == 202
    running, queued, _unseen = sorted(store.resources)
    store.resources[running]["status"] = {"phase": "Running"}
    store.resources[queued]["status"] = {"phase": "Queued"}
    store.jobs = [RUNNING_JOB, COMPLETE_JOB, FAILED_JOB, SUSPENDED_JOB]


def test_health_counts_queue_and_workers(client: FlaskClient, store: MemoryReviewStore) -> None:
    queue_three_reviews(client, store)
    response = client.get("/health")
    assert response.status_code == 200
    # Queued and not-yet-seen reviews wait; a Failed=False condition does not end a Job.
    assert response.get_json() == {"status": "healthy", "queue_size": 2, "active_workers": 2}


def test_health_stays_live_when_api_down(
    client: FlaskClient, store: MemoryReviewStore, caplog: pytest.LogCaptureFixture
) -> None:
    store.failure = StoreUnavailable("Kubernetes API request to list prreviews failed: ConnectTimeoutError")

    with caplog.at_level(logging.INFO, logger="pr_receiver"):
        first = client.get("/health")
        client.get("/health")
        store.failure = None
        client.get("/health")

    assert first.status_code == 200
    assert first.get_json() == {
        "status": "degraded",
        "queue_size": None,
        "active_workers": None,
        "reason": "the Kubernetes API is unavailable",
    }
    assert [record.getMessage() for record in caplog.records] == [
        "/health reports the Kubernetes API as unavailable: Kubernetes API request to list prreviews failed: "
        "ConnectTimeoutError",
        "The Kubernetes API responds again",
    ]


def test_queue_reports_max_workers(client: FlaskClient, store: MemoryReviewStore) -> None:
    queue_three_reviews(client, store)
    response = client.get("/queue")
    assert response.status_code == 200
    assert response.get_json() == {"queue_size": 2, "active_workers": 2, "max_workers": 3}


def test_queue_fails_when_api_down(client: FlaskClient, store: MemoryReviewStore) -> None:
    store.failure = StoreUnavailable("down")
    response = client.get("/queue")
    assert response.status_code == 503
    assert response.get_json() == {
        "error": "the Kubernetes API is unavailable, so the queue cannot be counted",
        "max_workers": 3,
    }


def test_ready_when_api_responds(client: FlaskClient) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready"}


def test_not_ready_when_api_down(client: FlaskClient, store: MemoryReviewStore) -> None:
    store.failure = StoreUnavailable("down")
    response = client.get("/ready")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "reason": "the Kubernetes API is unavailable"}


def metric_value(text: str, sample: str) -> float:
    match = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.MULTILINE)
    assert match, f"{sample} missing from /metrics"
    return float(match.group(1))


def test_metrics_count_deliveries_by_outcome(client: FlaskClient, store: MemoryReviewStore) -> None:
    for name, event, content_type in [
        ("pull_request.opened.json", "pull_request", JSON),
        ("pull_request.opened.json", "pull_request", FORM),
        ("ping.json", "ping", JSON),
        ("push.json", "push", JSON),
    ]:
        body, headers = signed(name, event, content_type)
        client.post("/webhook", data=body, headers=headers)
    body, headers = signed("pull_request.opened.json", "pull_request")
    client.post("/webhook", data=body, headers={**headers, "X-GitHub-Event": "made-up", "X-Hub-Signature-256": "x"})
    store.failure = StoreUnavailable("down")
    body, headers = signed("pull_request.synchronize.json", "pull_request")
    client.post("/webhook", data=body, headers=headers)

    response = client.get("/metrics")
    text = response.get_data(as_text=True)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    assert metric_value(text, 'pr_receiver_deliveries_total{event="pull_request",outcome="queued"}') == 1
    assert metric_value(text, 'pr_receiver_deliveries_total{event="pull_request",outcome="duplicate"}') == 1
    assert metric_value(text, 'pr_receiver_deliveries_total{event="ping",outcome="pong"}') == 1
    assert metric_value(text, 'pr_receiver_deliveries_total{event="other",outcome="ignored"}') == 1
    assert metric_value(text, 'pr_receiver_deliveries_total{event="unverified",outcome="unauthorized"}') == 1
    assert metric_value(text, 'pr_receiver_deliveries_total{event="pull_request",outcome="unavailable"}') == 1
    assert metric_value(text, 'pr_receiver_delivery_duration_seconds_count{event="pull_request"}') == 3
    assert "made-up" not in text
