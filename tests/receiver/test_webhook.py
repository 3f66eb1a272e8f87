import io
import json
import logging
import re

import pytest
from flask.testing import FlaskClient

from pr_receiver.app import create_app
from pr_receiver.store import StoreUnavailable
from tests.receiver.conftest import make_config
from tests.receiver.deliveries import FORM, JSON, SECRET, encode, fixture, headers_for, signed
from tests.receiver.memory_store import MemoryReviewStore

OPENED_NAME = "prr-lumen-labs-orbit-api-42-3f9c2b7-76cd8b9cdf"
DELIVERY = "72d3162e-cc78-11e3-81ab-4c9367dc0958"


def post(client: FlaskClient, name: str, event: str = "pull_request", content_type: str = JSON,
         delivery_id: str = DELIVERY) -> tuple[int, dict[str, object]]:
    body, headers = signed(name, event, content_type, delivery_id)
    response = client.post("/webhook", data=body, headers=headers)
    return response.status_code, response.get_json()


@pytest.mark.parametrize("content_type", [JSON, FORM])
def test_opened_pr_creates_review(client: FlaskClient, store: MemoryReviewStore, content_type: str) -> None:
    status, body = post(client, "pull_request.opened.json", content_type=content_type)

    assert status == 202
    assert body == {"status": "queued", "name": OPENED_NAME, "namespace": "reviews", "duplicate": False}
    assert list(store.resources) == [OPENED_NAME]
    assert store.resources[OPENED_NAME] == {
        "apiVersion": "prreviewer.io/v1alpha1",
        "kind": "PullRequestReview",
        "metadata": {
            "name": OPENED_NAME,
            "namespace": "reviews",
            "labels": {
                "prreviewer.io/repository": "lumen-labs.orbit-api",
                "prreviewer.io/pr": "42",
                "app.kubernetes.io/managed-by": "pr-receiver",
            },
        },
        "spec": {
            "repository": "lumen-labs/orbit-api",
            "prNumber": 42,
            "headSha": "3f9c2b7d81e04a5c6b2d9e8f0a1b4c7d2e5f8a90",
            "headShortSha": "3f9c2b7",
            "baseRef": "main",
            "baseSha": "c04e8a1f2b7d3e9c5a6f8b0d1e2c4a7f9b3d5e61",
            "cloneUrl": "https://github.com/lumen-labs/orbit-api.git",
            "installationId": 48213377,
            "deliveryId": DELIVERY,
            "action": "opened",
            "sender": "mira-dev",
            "title": "Retry orbit window fetches with jitter",
        },
    }


def test_redelivery_is_marked_duplicate(client: FlaskClient, store: MemoryReviewStore) -> None:
    post(client, "pull_request.opened.json", delivery_id="first")
    status, body = post(client, "pull_request.opened.json", delivery_id="second")

    assert status == 202
    assert body == {
        "status": "duplicate", "name": OPENED_NAME, "namespace": "reviews", "duplicate": True, "phase": None,
    }
    assert list(store.resources) == [OPENED_NAME]
    assert store.resources[OPENED_NAME]["spec"]["deliveryId"] == "first"


def test_new_head_creates_second_review(client: FlaskClient, store: MemoryReviewStore) -> None:
    post(client, "pull_request.opened.json")
    status, body = post(client, "pull_request.synchronize.json")

    assert status == 202
    assert re.fullmatch(r"prr-lumen-labs-orbit-api-42-b81d4e0-[0-9a-f]{10}", str(body["name"]))
    assert len(store.resources) == 2
    assert store.resources[str(body["name"])]["spec"]["action"] == "synchronize"


@pytest.mark.parametrize("name", ["pull_request.reopened.json", "pull_request.ready_for_review.json"])
def test_review_actions_are_queued(client: FlaskClient, store: MemoryReviewStore, name: str) -> None:
    status, body = post(client, name)
    assert status == 202
    assert body["duplicate"] is False
    assert len(store.resources) == 1


def test_draft_pr_is_skipped(client: FlaskClient, store: MemoryReviewStore) -> None:
    status, body = post(client, "pull_request.opened.draft.json")
    assert status == 200
    assert body == {
        "status": "ignored",
        "reason": "PR #57 is a draft: drafts are not reviewed unless REVIEW_DRAFTS=true",
    }
    assert store.resources == {}


def test_draft_pr_is_queued_when_drafts_reviewed(store: MemoryReviewStore) -> None:
    client = create_app(make_config(review_drafts=True), store).test_client()
    status, _ = post(client, "pull_request.opened.draft.json")
    assert status == 202
    assert len(store.resources) == 1


def test_fork_pr_uses_base_clone_url(client: FlaskClient, store: MemoryReviewStore) -> None:
    status, body = post(client, "pull_request.opened.fork.json")
    assert status == 202
    spec = store.resources[str(body["name"])]["spec"]
    assert spec["repository"] == "lumen-labs/orbit-api"
    assert spec["cloneUrl"] == "https://github.com/lumen-labs/orbit-api.git"
    assert spec["sender"] == "kestrel-ops"


def test_deleted_fork_pr_is_accepted(client: FlaskClient, store: MemoryReviewStore) -> None:
    assert fixture("pull_request.synchronize.deleted_fork.json")["pull_request"]["head"]["repo"] is None
    status, body = post(client, "pull_request.synchronize.deleted_fork.json")
    assert status == 202
    spec = store.resources[str(body["name"])]["spec"]
    assert spec["prNumber"] == 64
    assert spec["headSha"] == "5a7c9e1b3d2f4a6c8e0b1d3f5a7c9e2b4d6f8a01"
    assert spec["cloneUrl"] == "https://github.com/lumen-labs/orbit-api.git"


def seed_phases(client: FlaskClient, store: MemoryReviewStore) -> dict[str, str | None]:
    """Store four reviews of PR 42 in phases none, Queued, Running and Succeeded; return name -> phase."""
    phases: dict[str, str | None] = {}
    for index, phase in enumerate([None, "Queued", "Running", "Succeeded"]):
        payload = fixture("pull_request.opened.json")
        payload["pull_request"]["head"]["sha"] = f"{index:x}" * 40
        body = encode(payload)
        response = client.post("/webhook", data=body, headers=headers_for(body, "pull_request"))
        name = response.get_json()["name"]
        if phase:
            store.resources[name]["status"] = {"phase": phase}
        phases[name] = phase
    return phases


@pytest.mark.parametrize(
    ("name", "reason", "message"),
    [
        ("pull_request.closed.json", "PullRequestClosed", "PR #42 was closed"),
        ("pull_request.merged.json", "PullRequestClosed", "PR #42 was merged"),
        ("pull_request.converted_to_draft.json", "PullRequestConvertedToDraft", "PR #42 became a draft"),
    ],
)
def test_closing_cancels_pending_reviews(
    client: FlaskClient, store: MemoryReviewStore, name: str, reason: str, message: str
) -> None:
    phases = seed_phases(client, store)
    other_pr = post(client, "pull_request.opened.fork.json")[1]["name"]

    status, body = post(client, name)

    pending = sorted(name for name, phase in phases.items() if phase != "Succeeded")
    assert status == 200
    assert body == {"status": "cancelled", "cancelled": 3, "names": pending, "reason": message}
    for resource_name in pending:
        assert store.resources[resource_name]["status"]["phase"] == "Cancelled"
        assert store.resources[resource_name]["status"]["reason"] == reason
    succeeded = next(name for name, phase in phases.items() if phase == "Succeeded")
    assert store.resources[succeeded]["status"] == {"phase": "Succeeded"}
    assert "status" not in store.resources[str(other_pr)]


def test_converted_to_draft_is_ignored_when_drafts_reviewed(store: MemoryReviewStore) -> None:
    client = create_app(make_config(review_drafts=True), store).test_client()
    post(client, "pull_request.opened.json")
    status, body = post(client, "pull_request.converted_to_draft.json")
    assert status == 200
    assert body == {
        "status": "ignored",
        "reason": "PR #42 became a draft, and drafts are reviewed because REVIEW_DRAFTS=true",
    }
    assert "status" not in store.resources[OPENED_NAME]


def test_ping_gets_pong(client: FlaskClient) -> None:
    status, body = post(client, "ping.json", event="ping")
    assert status == 200
    assert body == {"status": "pong", "zen": "Keep it logically awesome."}


def test_push_is_ignored_with_reason(client: FlaskClient, store: MemoryReviewStore) -> None:
    status, body = post(client, "push.json", event="push")
    assert status == 200
    assert body == {"status": "ignored", "reason": "event 'push' is not handled: only pull_request and ping are"}
    assert store.resources == {}


def test_labeled_is_ignored_with_reason(client: FlaskClient, store: MemoryReviewStore) -> None:
    status, body = post(client, "pull_request.labeled.json")
    assert status == 200
    assert body == {
        "status": "ignored",
        "reason": "action 'labeled' does not trigger a review: REVIEW_ACTIONS is opened, ready_for_review, reopened, "
        "synchronize",
    }
    assert store.resources == {}


def test_repository_outside_allow_list_is_ignored(store: MemoryReviewStore, caplog: pytest.LogCaptureFixture) -> None:
    config = make_config(allowed_repositories=frozenset({"lumen-labs/ground-station"}))
    client = create_app(config, store).test_client()

    with caplog.at_level(logging.INFO):
        status, body = post(client, "pull_request.opened.json")

    assert status == 200
    assert body == {"status": "ignored", "reason": "repository lumen-labs/orbit-api is not in ALLOWED_REPOSITORIES"}
    assert store.resources == {}
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert warnings == [
        f"Ignored delivery {DELIVERY}: repository lumen-labs/orbit-api is not in ALLOWED_REPOSITORIES"
    ]


def test_repository_in_allow_list_is_queued(store: MemoryReviewStore) -> None:
    config = make_config(allowed_repositories=frozenset({"lumen-labs/orbit-api"}))
    status, _ = post(create_app(config, store).test_client(), "pull_request.opened.json")
    assert status == 202


def test_missing_signature_is_rejected(client: FlaskClient, store: MemoryReviewStore) -> None:
    body, headers = signed("pull_request.opened.json", "pull_request")
    del headers["X-Hub-Signature-256"]

    response = client.post("/webhook", data=body, headers=headers)

    assert response.status_code == 401
    assert response.get_json() == {
        "error": "missing X-Hub-Signature-256 header: set a secret on the GitHub webhook, the same as the receiver's "
        "WEBHOOK_SECRET"
    }
    assert store.resources == {}


def test_wrong_signature_is_rejected(client: FlaskClient, store: MemoryReviewStore) -> None:
    body = encode(fixture("pull_request.opened.json"))
    headers = headers_for(body, "pull_request", secret="not-the-secret")

    response = client.post("/webhook", data=body, headers=headers)

    assert response.status_code == 401
    assert response.get_json() == {
        "error": "invalid X-Hub-Signature-256 signature: the GitHub webhook secret does not match the receiver's "
        "WEBHOOK_SECRET"
    }
    assert store.resources == {}


def test_tampered_body_is_rejected(client: FlaskClient, store: MemoryReviewStore) -> None:
    body, headers = signed("pull_request.opened.json", "pull_request")
    response = client.post("/webhook", data=body.replace(b'"number": 42', b'"number": 43'), headers=headers)
    assert response.status_code == 401
    assert store.resources == {}


@pytest.mark.parametrize("content_type", [JSON, FORM])
def test_malformed_json_is_rejected(client: FlaskClient, content_type: str) -> None:
    body = b'{"action": "opened",' if content_type == JSON else b"payload=%7B%22action%22"
    response = client.post("/webhook", data=body, headers=headers_for(body, "pull_request", content_type=content_type))
    assert response.status_code == 400
    assert response.get_json()["error"].startswith("malformed JSON payload: ")


def test_json_array_is_rejected(client: FlaskClient) -> None:
    body = b"[1, 2]"
    response = client.post("/webhook", data=body, headers=headers_for(body, "pull_request"))
    assert response.status_code == 400
    assert response.get_json() == {"error": "malformed JSON payload: expected an object"}


def test_form_without_payload_is_rejected(client: FlaskClient) -> None:
    body = b"data=%7B%7D"
    response = client.post("/webhook", data=body, headers=headers_for(body, "pull_request", content_type=FORM))
    assert response.status_code == 400
    assert response.get_json() == {"error": "missing form field: payload"}


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (("pull_request", "head", "sha"), "missing field: pull_request.head.sha"),
        (("pull_request", "base", "ref"), "missing field: pull_request.base.ref"),
        (("pull_request", "number"), "missing field: pull_request.number"),
        (("repository",), "missing field: repository"),
        (("action",), "missing field: action"),
        (("pull_request", "base", "repo"), "missing field: pull_request.base.repo"),
    ],
)
def test_missing_field_is_named(
    client: FlaskClient, store: MemoryReviewStore, path: tuple[str, ...], message: str
) -> None:
    payload = fixture("pull_request.opened.json")
    parent = payload
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    body = encode(payload)

    response = client.post("/webhook", data=body, headers=headers_for(body, "pull_request"))

    assert response.status_code == 400
    assert response.get_json() == {"error": message}
    assert store.resources == {}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("sha", "HEAD", "invalid field: pull_request.head.sha: expected 40 hex digits"),
        ("number", "42", "invalid field: pull_request.number: expected a positive integer"),
        ("number", True, "invalid field: pull_request.number: expected a positive integer"),
        ("clone_url", "https://user:pw@github.com/o/r.git",
         "invalid field: pull_request.base.repo.clone_url: expected an https, http or file URL without credentials"),
    ],
)
def test_invalid_field_is_named(client: FlaskClient, field: str, value: object, message: str) -> None:
    payload = fixture("pull_request.opened.json")
    if field == "sha":
        payload["pull_request"]["head"]["sha"] = value
    elif field == "number":
        payload["pull_request"]["number"] = value
    else:
        payload["pull_request"]["base"]["repo"]["clone_url"] = value
    body = encode(payload)

    response = client.post("/webhook", data=body, headers=headers_for(body, "pull_request"))

    assert response.status_code == 400
    assert response.get_json() == {"error": message}


@pytest.mark.parametrize("header", ["X-GitHub-Event", "X-GitHub-Delivery"])
def test_missing_github_header_is_named(client: FlaskClient, header: str) -> None:
    body, headers = signed("pull_request.opened.json", "pull_request")
    del headers[header]
    response = client.post("/webhook", data=body, headers=headers)
    assert response.status_code == 400
    assert response.get_json() == {"error": f"missing header: {header}"}


def test_unsupported_content_type_is_rejected(client: FlaskClient) -> None:
    body, headers = signed("pull_request.opened.json", "pull_request")
    headers["Content-Type"] = "text/plain"
    response = client.post("/webhook", data=body, headers=headers)
    assert response.status_code == 415
    assert response.get_json() == {
        "error": "unsupported Content-Type 'text/plain': set the GitHub webhook's content type to application/json "
        "or application/x-www-form-urlencoded"
    }


def test_body_over_limit_is_rejected(store: MemoryReviewStore) -> None:
    client = create_app(make_config(max_body_bytes=1000), store).test_client()
    body, headers = signed("pull_request.opened.json", "pull_request")
    assert len(body) > 1000

    response = client.post("/webhook", data=body, headers=headers)

    assert response.status_code == 413
    assert response.get_json() == {
        "error": "request body exceeds MAX_BODY_BYTES (1000 bytes): GitHub never sends more than 25 MiB, so check "
        "what is posting to this endpoint"
    }
    assert store.resources == {}


@pytest.mark.parametrize("extra_bytes", [0, 1])
def test_chunked_body_over_limit_is_rejected(store: MemoryReviewStore, extra_bytes: int) -> None:
    body, headers = signed("pull_request.opened.json", "pull_request")
    client = create_app(make_config(max_body_bytes=len(body) - extra_bytes), store).test_client()

    # A chunked request has no Content-Length; the WSGI server marks the stream as terminated.
    response = client.post(
        "/webhook", input_stream=io.BytesIO(body), headers={**headers, "Transfer-Encoding": "chunked"},
        environ_base={"wsgi.input_terminated": True},
    )

    assert response.status_code == (413 if extra_bytes else 202)


def test_body_one_byte_over_limit_is_rejected(store: MemoryReviewStore) -> None:
    body, headers = signed("pull_request.opened.json", "pull_request")
    client = create_app(make_config(max_body_bytes=len(body) - 1), store).test_client()
    assert client.post("/webhook", data=body, headers=headers).status_code == 413
    assert store.resources == {}


def test_body_at_limit_is_accepted(store: MemoryReviewStore) -> None:
    body, headers = signed("pull_request.opened.json", "pull_request")
    client = create_app(make_config(max_body_bytes=len(body)), store).test_client()
    assert client.post("/webhook", data=body, headers=headers).status_code == 202


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_wrong_method_is_rejected(client: FlaskClient, method: str) -> None:
    response = client.open("/webhook", method=method)
    assert response.status_code == 405
    assert response.get_json() == {"error": f"method {method} is not allowed on /webhook: use POST"}
    assert "POST" in response.headers["Allow"]


def test_api_down_returns_503_and_logs_delivery(
    client: FlaskClient, store: MemoryReviewStore, caplog: pytest.LogCaptureFixture
) -> None:
    store.failure = StoreUnavailable("Kubernetes API request to create failed: HTTP 503 Service Unavailable")

    with caplog.at_level(logging.INFO):
        status, body = post(client, "pull_request.opened.json", delivery_id="dlv-503")

    assert status == 503
    assert body == {
        "error": "the Kubernetes API failed or timed out, so this delivery may or may not have taken effect: redeliver "
        "it from GitHub once the receiver's /ready endpoint responds 200; a redelivery is safe because the receiver "
        "detects duplicates"
    }
    assert store.resources == {}
    errors = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
    assert errors == [
        "Failed to store delivery dlv-503 for lumen-labs/orbit-api#42, responding 503: Kubernetes API request to "
        "create failed: HTTP 503 Service Unavailable"
    ]


def test_api_down_during_cancel_returns_503(client: FlaskClient, store: MemoryReviewStore) -> None:
    store.failure = StoreUnavailable("down")
    status, _ = post(client, "pull_request.closed.json")
    assert status == 503


def test_insecure_mode_accepts_unsigned_delivery(
    store: MemoryReviewStore, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        app = create_app(make_config(webhook_secret=None, skip_signature=True), store)
    body = encode(fixture("pull_request.opened.json"))

    response = app.test_client().post("/webhook", data=body, headers=headers_for(body, "pull_request", secret=None))

    assert response.status_code == 202
    assert [record.levelno for record in caplog.records] == [logging.WARNING]
    assert caplog.records[0].getMessage().startswith(
        "RECEIVER_INSECURE_SKIP_SIGNATURE=true: webhook signatures are NOT verified"
    )


def test_log_lines_follow_old_format(client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="pr_receiver"):
        post(client, "pull_request.opened.json", delivery_id="dlv-1")

    assert [record.getMessage() for record in caplog.records] == [
        "Received event: pull_request (delivery dlv-1)",
        "PR #42 action: opened in lumen-labs/orbit-api (delivery dlv-1)",
        f"✓ PR #42 added to queue as reviews/{OPENED_NAME} (queue size: 1, delivery dlv-1)",
    ]


def test_rejection_is_logged_as_warning(client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    body = encode(fixture("pull_request.opened.json"))
    with caplog.at_level(logging.INFO, logger="pr_receiver"):
        client.post("/webhook", data=body, headers=headers_for(body, "pull_request", "dlv-401", secret="wrong"))

    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert warnings == [
        "Rejected delivery dlv-401 with 401: invalid X-Hub-Signature-256 signature: the GitHub webhook secret does "
        "not match the receiver's WEBHOOK_SECRET"
    ]


def test_secret_never_reaches_logs_or_resources(
    client: FlaskClient, store: MemoryReviewStore, caplog: pytest.LogCaptureFixture
) -> None:
    signatures = []
    with caplog.at_level(logging.DEBUG):
        for name in ("pull_request.opened.json", "pull_request.closed.json"):
            body, headers = signed(name, "pull_request")
            signatures.append(headers["X-Hub-Signature-256"])
            client.post("/webhook", data=body, headers=headers)
            client.post("/webhook", data=body, headers={**headers, "X-Hub-Signature-256": "sha256=00"})

    logged = caplog.text
    assert store.resources
    assert SECRET not in logged
    assert SECRET not in json.dumps(store.resources)
    for signature in signatures:
        assert signature.removeprefix("sha256=") not in logged


@pytest.mark.parametrize(("method", "path"), [("GET", "/"), ("POST", "/hooks"), ("GET", "/webhook/extra")])
def test_unknown_path_returns_json_404(client: FlaskClient, method: str, path: str) -> None:
    response = client.open(path, method=method)

    assert response.status_code == 404
    assert response.content_type == "application/json"
    assert response.get_json() == {
        "error": f"no endpoint at {path}: use POST /webhook, or GET /health, /ready, /queue or /metrics"
    }


@pytest.mark.parametrize("path", ["/health", "/ready", "/queue", "/metrics"])
def test_post_to_probe_returns_json_405(client: FlaskClient, path: str) -> None:
    response = client.post(path)

    assert response.status_code == 405
    assert response.content_type == "application/json"
    assert response.get_json() == {"error": f"method POST is not allowed on {path}: use GET"}


def test_long_unknown_path_is_cut_in_404(client: FlaskClient) -> None:
    response = client.get("/" + "p" * 8000)

    assert response.status_code == 404
    assert response.get_json() == {
        "error": f"no endpoint at /{'p' * 63}...: use POST /webhook, or GET /health, /ready, /queue or /metrics"
    }


def test_unsigned_delivery_logs_only_header_prefixes(
    client: FlaskClient, store: MemoryReviewStore, caplog: pytest.LogCaptureFixture
) -> None:
    body = encode(fixture("pull_request.opened.json"))
    headers = headers_for(body, "e" * 8000, "d" * 8000, secret=None)

    with caplog.at_level(logging.DEBUG):
        response = client.post("/webhook", data=body, headers=headers)

    assert response.status_code == 401
    assert [record.getMessage() for record in caplog.records] == [
        f"Received event: {'e' * 64}... (delivery {'d' * 64}...)",
        f"Rejected delivery {'d' * 64}... with 401: missing X-Hub-Signature-256 header: set a secret on the GitHub "
        "webhook, the same as the receiver's WEBHOOK_SECRET",
    ]
    assert store.resources == {}


def test_queue_size_for_logs_is_read_once_per_interval(
    client: FlaskClient, store: MemoryReviewStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = []
    original = store.queue_counts

    def counting_queue_counts(*args, **kwargs):
        reads.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(store, "queue_counts", counting_queue_counts)

    first, _ = post(client, "pull_request.opened.json", delivery_id="one")
    second, _ = post(client, "pull_request.synchronize.json", delivery_id="two")

    assert (first, second) == (202, 202)
    assert len(reads) == 1
