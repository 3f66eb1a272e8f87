"""A head commit queued again after its review was cancelled or superseded, on the in-memory store."""

import logging

import pytest
from flask.testing import FlaskClient

from pr_receiver.enqueue import CREATE_ATTEMPTS
from tests.receiver.deliveries import signed
from tests.receiver.memory_store import MemoryReviewStore

OPENED_NAME = "prr-lumen-labs-orbit-api-42-3f9c2b7-76cd8b9cdf"


def post(client: FlaskClient, name: str, delivery_id: str) -> tuple[int, dict[str, object]]:
    body, headers = signed(name, "pull_request", delivery_id=delivery_id)
    response = client.post("/webhook", data=body, headers=headers)
    return response.status_code, response.get_json()


def test_reopen_after_close_queues_review_again(
    client: FlaskClient, store: MemoryReviewStore, caplog: pytest.LogCaptureFixture
) -> None:
    assert post(client, "pull_request.opened.json", "dlv-opened")[0] == 202
    assert post(client, "pull_request.closed.json", "dlv-closed")[0] == 200
    assert store.resources[OPENED_NAME]["status"]["phase"] == "Cancelled"
    cancelled_uid = store.uids[OPENED_NAME]

    with caplog.at_level(logging.INFO, logger="pr_receiver"):
        status, body = post(client, "pull_request.reopened.json", "dlv-reopened")

    assert status == 202
    assert body == {
        "status": "queued", "name": OPENED_NAME, "namespace": "reviews",
        "duplicate": False, "requeued": True, "replaced_phase": "Cancelled",
    }
    assert store.deleted == [(OPENED_NAME, cancelled_uid)]
    resource = store.resources[OPENED_NAME]
    assert "status" not in resource
    assert store.uids[OPENED_NAME] != cancelled_uid
    assert resource["spec"]["deliveryId"] == "dlv-reopened"
    assert resource["spec"]["action"] == "reopened"
    messages = [record.getMessage() for record in caplog.records]
    assert f"Replacing Cancelled review reviews/{OPENED_NAME} so that delivery dlv-reopened queues this head again" \
        in messages
    assert f"✓ PR #42 queued again as reviews/{OPENED_NAME}, replacing its Cancelled review (queue size: 1, " \
        "delivery dlv-reopened)" in messages


def test_push_back_to_superseded_head_queues_it_again(client: FlaskClient, store: MemoryReviewStore) -> None:
    post(client, "pull_request.opened.json", "dlv-opened")
    store.resources[OPENED_NAME]["status"] = {"phase": "Superseded", "supersededBy": "prr-newer"}

    status, body = post(client, "pull_request.synchronize.json", "dlv-newer")
    assert status == 202
    status, body = post(client, "pull_request.opened.json", "dlv-back")

    assert status == 202
    assert body["duplicate"] is False
    assert body["requeued"] is True
    assert body["replaced_phase"] == "Superseded"
    assert "status" not in store.resources[OPENED_NAME]
    assert store.resources[OPENED_NAME]["spec"]["deliveryId"] == "dlv-back"
    assert len(store.deleted) == 1


@pytest.mark.parametrize("phase", [None, "Queued", "Running", "Succeeded", "Failed"])
def test_live_or_finished_review_stays_duplicate(
    client: FlaskClient, store: MemoryReviewStore, phase: str | None
) -> None:
    post(client, "pull_request.opened.json", "dlv-first")
    if phase is not None:
        store.resources[OPENED_NAME]["status"] = {"phase": phase}

    status, body = post(client, "pull_request.reopened.json", "dlv-second")

    assert status == 202
    assert body == {
        "status": "duplicate", "name": OPENED_NAME, "namespace": "reviews", "duplicate": True, "phase": phase,
    }
    assert store.deleted == []
    assert store.resources[OPENED_NAME]["spec"]["deliveryId"] == "dlv-first"


def test_review_still_being_deleted_returns_503(
    client: FlaskClient, store: MemoryReviewStore, caplog: pytest.LogCaptureFixture
) -> None:
    post(client, "pull_request.opened.json", "dlv-opened")
    store.resources[OPENED_NAME]["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"

    with caplog.at_level(logging.ERROR, logger="pr_receiver"):
        status, body = post(client, "pull_request.reopened.json", "dlv-reopened")

    assert status == 503
    assert body == {
        "error": "the Kubernetes API failed or timed out, so this delivery may or may not have taken effect: redeliver "
        "it from GitHub once the receiver's /ready endpoint responds 200; a redelivery is safe because the receiver "
        "detects duplicates"
    }
    assert [record.getMessage() for record in caplog.records] == [
        "Failed to store delivery dlv-reopened for lumen-labs/orbit-api#42, responding 503: Kubernetes API request "
        f"to create reviews/{OPENED_NAME} failed: the name was still taken by a resource being deleted or replaced "
        f"after {CREATE_ATTEMPTS} attempts"
    ]
    assert store.deleted == []


def test_review_deleted_meanwhile_is_created(client: FlaskClient, store: MemoryReviewStore) -> None:
    post(client, "pull_request.opened.json", "dlv-opened")
    store.resources[OPENED_NAME]["status"] = {"phase": "Cancelled"}
    original_read = store.read_review

    def read_after_retention_deleted_it(name: str) -> None:
        # The operator's retention removes the resource between the receiver's create and its read.
        assert original_read(name) is not None
        del store.resources[name]

    store.read_review = read_after_retention_deleted_it  # type: ignore[method-assign]
    status, body = post(client, "pull_request.reopened.json", "dlv-reopened")

    assert status == 202
    assert body == {"status": "queued", "name": OPENED_NAME, "namespace": "reviews", "duplicate": False}
    assert store.resources[OPENED_NAME]["spec"]["deliveryId"] == "dlv-reopened"
