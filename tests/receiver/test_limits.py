"""Values the CRD's schema would reject get 400 naming the field, never the API server's 422 as 503."""

import logging
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from pr_receiver.store import ReviewRejected
from tests.receiver.deliveries import encode, fixture, headers_for
from tests.receiver.memory_store import MemoryReviewStore

INT64_MAX = 2**63 - 1
HEAD_SHA = "3f9c2b7d81e04a5c6b2d9e8f0a1b4c7d2e5f8a90"
CLONE_URL = "https://github.com/lumen-labs/orbit-api.git"
Change = Callable[[dict[str, Any]], None]


def set_path(*path: str, value: object) -> Change:
    def change(payload: dict[str, Any]) -> None:
        parent = payload
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = value

    return change


def post_changed(client: FlaskClient, change: Change, delivery_id: str = "dlv-limits") -> tuple[int, Any]:
    payload = fixture("pull_request.opened.json")
    change(payload)
    body = encode(payload)
    response = client.post("/webhook", data=body, headers=headers_for(body, "pull_request", delivery_id))
    return response.status_code, response.get_json()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (set_path("pull_request", "base", "ref", value="r" * 256),
         "invalid field: pull_request.base.ref: longer than 255 characters (256)"),
        (set_path("sender", "login", value="u" * 101),
         "invalid field: sender.login: longer than 100 characters (101)"),
        (set_path("pull_request", "base", "repo", "clone_url", value=CLONE_URL[:-4] + "x" * 2048 + ".git"),
         "invalid field: pull_request.base.repo.clone_url: longer than 2048 characters (2091)"),
        (set_path("pull_request", "number", value=INT64_MAX + 1),
         f"invalid field: pull_request.number: larger than {INT64_MAX}, the maximum of a 64-bit integer"),
        (set_path("installation", "id", value=INT64_MAX + 1),
         f"invalid field: installation.id: larger than {INT64_MAX}, the maximum of a 64-bit integer"),
        (set_path("installation", "id", value=0), "invalid field: installation.id: expected a positive integer"),
        (set_path("pull_request", "head", "sha", value=HEAD_SHA + "\n"),
         "invalid field: pull_request.head.sha: expected 40 hex digits"),
        (set_path("pull_request", "base", "sha", value="c04e8a1f2b7d3e9c5a6f8b0d1e2c4a7f9b3d5e61\n"),
         "invalid field: pull_request.base.sha: expected 40 hex digits"),
        (set_path("repository", "full_name", value="lumen-labs/orbit-api\n"),
         "invalid field: repository.full_name: expected owner/name"),
        (set_path("pull_request", "base", "repo", "clone_url", value=CLONE_URL + "\n"),
         "invalid field: pull_request.base.repo.clone_url: expected an https, http or file URL without credentials"),
    ],
)
def test_value_beyond_crd_limit_is_rejected(
    client: FlaskClient, store: MemoryReviewStore, change: Change, message: str
) -> None:
    status, body = post_changed(client, change)

    assert status == 400
    assert body == {"error": message}
    assert store.resources == {}


@pytest.mark.parametrize(
    "change",
    [
        set_path("pull_request", "base", "ref", value="r" * 255),
        set_path("sender", "login", value="u" * 100),
        set_path("pull_request", "base", "repo", "clone_url", value=CLONE_URL[:-4] + "x" * 2005 + ".git"),
        set_path("pull_request", "number", value=INT64_MAX),
        set_path("installation", "id", value=INT64_MAX),
    ],
)
def test_value_at_crd_limit_is_accepted(client: FlaskClient, store: MemoryReviewStore, change: Change) -> None:
    status, body = post_changed(client, change)

    assert status == 202
    assert body["duplicate"] is False
    assert len(store.resources) == 1


def test_delivery_id_at_limit_is_accepted(client: FlaskClient, store: MemoryReviewStore) -> None:
    status, _ = post_changed(client, lambda payload: None, delivery_id="d" * 128)

    assert status == 202
    assert [resource["spec"]["deliveryId"] for resource in store.resources.values()] == ["d" * 128]


def test_delivery_id_over_limit_is_rejected(
    client: FlaskClient, store: MemoryReviewStore, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="pr_receiver"):
        status, body = post_changed(client, lambda payload: None, delivery_id="d" * 129)

    assert status == 400
    assert body == {
        "error": "invalid header: X-GitHub-Delivery: longer than 128 characters (129); GitHub sends a UUID"
    }
    assert store.resources == {}
    assert [record.getMessage() for record in caplog.records] == [
        f"Received event: pull_request (delivery {'d' * 64}...)",
        f"Rejected delivery {'d' * 64}... with 400: invalid header: X-GitHub-Delivery: longer than 128 characters "
        "(129); GitHub sends a UUID",
    ]


def test_api_rejection_returns_400_with_api_message(
    client: FlaskClient, store: MemoryReviewStore, caplog: pytest.LogCaptureFixture
) -> None:
    api_message = 'PullRequestReview.prreviewer.io "prr-x" is invalid: spec.title: Too long: may not be longer than 256'
    store.rejection = ReviewRejected(api_message)

    with caplog.at_level(logging.WARNING, logger="pr_receiver"):
        status, body = post_changed(client, lambda payload: None, delivery_id="dlv-422")

    assert status == 400
    assert body == {"error": f"the Kubernetes API rejected the review resource: {api_message}"}
    assert [record.getMessage() for record in caplog.records] == [
        "Rejected delivery dlv-422 for lumen-labs/orbit-api#42 with 400: the Kubernetes API rejected the review "
        f"resource: {api_message}"
    ]
