"""The GitHub REST client against the fake GitHub server: headers, errors, retries and pagination."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pr_reviewer.errors import PermanentError, TransientError
from pr_reviewer.github.client import (
    API_VERSION,
    Forbidden,
    GitHubClient,
    NotFound,
    RetryPolicy,
    ValidationFailed,
)
from pr_reviewer.settings import Secret
from tests.fakes.github_api import FakeGitHub

TOKEN = "ghp-client-test-token-0123456789"
REPOSITORY = "acme/widgets"
HEAD = "a" * 40
PULL = f"/repos/{REPOSITORY}/pulls/7"


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(token=TOKEN, page_size=2) as fake:
        fake.add_pull_request(REPOSITORY, 7, head_sha=HEAD, hunks={"app.py": [(1, 10)]})
        yield fake


@pytest.fixture
def sleeps() -> list[float]:
    return []


def make_client(url: str, sleeps: list[float], token: str = TOKEN, max_retries: int = 3) -> GitHubClient:
    retry = RetryPolicy(max_retries=max_retries, sleep=sleeps.append)
    return GitHubClient(url, Secret(token), credential="GITHUB_TOKEN", timeout_seconds=5, retry=retry)


def test_requests_carry_api_headers_and_auth(github: FakeGitHub, sleeps: list[float]) -> None:
    with make_client(github.url, sleeps) as client:
        pull = client.get(PULL)

    assert pull["head"]["sha"] == HEAD
    [request] = github.requests
    assert request.credential == "token"
    assert request.headers["accept"] == "application/vnd.github+json"
    assert request.headers["x-github-api-version"] == API_VERSION
    assert request.headers["user-agent"].startswith("pr-reviewer")
    assert "authorization" not in request.headers


def test_enterprise_base_url_with_path_prefix(sleeps: list[float]) -> None:
    with FakeGitHub(token=TOKEN, path_prefix="/api/v3") as enterprise:
        enterprise.add_pull_request(REPOSITORY, 7, head_sha=HEAD, hunks={})
        assert enterprise.url.endswith("/api/v3")

        with make_client(enterprise.url + "/", sleeps) as client:
            pull = client.get(PULL)

    assert pull["number"] == 7
    assert [request.path for request in enterprise.requests] == [PULL]


def test_bad_token_is_permanent_and_not_quoted(github: FakeGitHub, sleeps: list[float]) -> None:
    wrong = "ghp-wrong-token-9876543210"
    with make_client(github.url, sleeps, token=wrong) as client, pytest.raises(PermanentError) as raised:
        client.get(PULL)

    message = str(raised.value)
    assert "401" in message
    assert "check GITHUB_TOKEN" in message
    assert "Bad credentials" in message
    assert wrong not in message
    assert "\n" not in message
    assert sleeps == []


def test_secondary_rate_limit_waits_retry_after(github: FakeGitHub, sleeps: list[float]) -> None:
    github.rate_limit_next("secondary", seconds=7)

    with make_client(github.url, sleeps) as client:
        pull = client.get(PULL)

    assert pull["number"] == 7
    assert sleeps == [7.0]
    assert len(github.requests_to("GET", PULL)) == 2


def test_primary_rate_limit_waits_until_reset(github: FakeGitHub, sleeps: list[float]) -> None:
    github.rate_limit_next("primary", seconds=5, status=429)

    with make_client(github.url, sleeps) as client:
        client.get(PULL)

    [delay] = sleeps
    # reset is a whole second 5 s ahead, plus the one second of margin the client adds
    assert 4.0 < delay <= 6.0


def test_rate_limit_longer_than_cap_fails_at_once(github: FakeGitHub, sleeps: list[float]) -> None:
    github.rate_limit_next("secondary", seconds=3600)

    with make_client(github.url, sleeps) as client, pytest.raises(TransientError) as raised:
        client.get(PULL)

    assert "rate limited for 3600 s" in str(raised.value)
    assert "retry later" in str(raised.value)
    assert sleeps == []
    assert len(github.requests) == 1


def test_rate_limit_gives_up_after_max_retries(github: FakeGitHub, sleeps: list[float]) -> None:
    for _ in range(3):
        github.rate_limit_next("secondary", seconds=1)

    with make_client(github.url, sleeps, max_retries=2) as client, pytest.raises(TransientError) as raised:
        client.get(PULL)

    assert str(raised.value) == f"GitHub API GET {PULL} failed after 3 attempts: rate limited with 403"
    assert sleeps == [1.0, 1.0]
    assert len(github.requests) == 3


def test_retries_are_logged_with_attempt_and_delay(
    github: FakeGitHub, sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    github.fail_next(503)
    caplog.set_level("WARNING", logger="pr_reviewer.github.client")

    with make_client(github.url, sleeps) as client:
        client.get(PULL)

    [record] = caplog.records
    assert record.getMessage() == (
        f"GitHub API GET {PULL} failed (server error 503); retrying in 1.0 s (attempt 2 of 4)."
    )


def test_server_errors_back_off_then_succeed(github: FakeGitHub, sleeps: list[float]) -> None:
    github.fail_next(502, count=2)

    with make_client(github.url, sleeps) as client:
        pull = client.get(PULL)

    assert pull["number"] == 7
    assert sleeps == [1.0, 2.0]


def test_server_error_on_post_is_not_resent(github: FakeGitHub, sleeps: list[float]) -> None:
    github.fail_next(502)
    path = f"/repos/{REPOSITORY}/issues/7/comments"

    with make_client(github.url, sleeps) as client, pytest.raises(TransientError) as raised:
        client.post(path, {"body": "hello"})

    assert "server error 502" in str(raised.value)
    assert "not resent" in str(raised.value)
    assert len(github.requests_to("POST", path)) == 1
    assert github.issue_comments(REPOSITORY, 7) == []
    assert sleeps == []


def test_network_error_retries_then_is_transient(sleeps: list[float]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]

    client = make_client(f"http://127.0.0.1:{closed_port}", sleeps, max_retries=2)
    with client, pytest.raises(TransientError) as raised:
        client.get(PULL)

    assert str(raised.value).startswith(f"GitHub API GET {PULL} failed after 3 attempts: ConnectError")
    assert sleeps == [1.0, 2.0]


def test_missing_pull_request_is_not_found(github: FakeGitHub, sleeps: list[float]) -> None:
    with make_client(github.url, sleeps) as client, pytest.raises(NotFound) as raised:
        client.get(f"/repos/{REPOSITORY}/pulls/99")

    assert str(raised.value) == f"GitHub API GET /repos/{REPOSITORY}/pulls/99 returned 404 (Not Found)"


def test_forbidden_without_rate_limit_is_not_retried(github: FakeGitHub, sleeps: list[float]) -> None:
    github.fail_next(403, path=PULL)

    with make_client(github.url, sleeps) as client, pytest.raises(Forbidden) as raised:
        client.get(PULL)

    assert str(raised.value) == (
        f"GitHub API GET {PULL} was forbidden with 403 (Server Error): check that GITHUB_TOKEN "
        "has pull_requests: write and contents: read on the repository"
    )
    assert raised.value.detail == "Server Error"
    assert len(github.requests_to("GET", PULL)) == 1
    assert sleeps == []


def test_unprocessable_request_keeps_github_detail(github: FakeGitHub, sleeps: list[float]) -> None:
    comment = {"commit_id": HEAD, "path": "app.py", "line": 50, "side": "RIGHT", "body": "x"}

    with make_client(github.url, sleeps) as client, pytest.raises(ValidationFailed) as raised:
        client.post(f"{PULL}/comments", comment)

    assert str(raised.value) == (
        f"GitHub API POST {PULL}/comments rejected the request with 422 "
        "(Validation Failed; pull_request_review_thread.line must be part of the diff)"
    )


def test_renamed_repository_redirect_is_not_followed(github: FakeGitHub, sleeps: list[float]) -> None:
    github.rename_repository(REPOSITORY, "acme/gizmos")

    with make_client(github.url, sleeps) as client, pytest.raises(PermanentError) as raised:
        client.get(PULL)

    assert str(raised.value) == (
        f"GitHub API GET {PULL} was redirected with 301 to /repos/acme/gizmos/pulls/7: "
        "set the repository's current owner/name"
    )
    assert len(github.requests) == 1


def test_paginate_follows_link_header(github: FakeGitHub, sleeps: list[float]) -> None:
    for number in range(5):
        github.add_issue_comment(REPOSITORY, 7, f"comment {number}")

    with make_client(github.url, sleeps) as client:
        bodies = [comment["body"] for comment in client.paginate(f"/repos/{REPOSITORY}/issues/7/comments")]

    assert bodies == [f"comment {number}" for number in range(5)]
    pages = [request.query.get("page", "1") for request in github.requests]
    assert pages == ["1", "2", "3"]


def test_paginate_refuses_link_to_other_server(github: FakeGitHub, sleeps: list[float]) -> None:
    for number in range(3):
        github.add_issue_comment(REPOSITORY, 7, f"comment {number}")

    with FakeGitHub(token=TOKEN) as elsewhere:
        github.link_origin = elsewhere.origin
        with make_client(github.url, sleeps) as client, pytest.raises(PermanentError) as raised:
            list(client.paginate(f"/repos/{REPOSITORY}/issues/7/comments"))

        assert "leaves" in str(raised.value)
        assert "not followed" in str(raised.value)
        assert elsewhere.requests == []


class WebPageHandler(BaseHTTPRequestHandler):
    """Serve an HTML page for every path, as GitHub's web host does for a wrong API URL."""

    def do_GET(self) -> None:
        body = b"<html><body>Sign in to GitHub</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


def test_html_answer_points_at_api_url(sleeps: list[float]) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), WebPageHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        with make_client(url, sleeps) as client, pytest.raises(PermanentError) as raised:
            client.get(PULL)
    finally:
        server.shutdown()
        server.server_close()

    message = str(raised.value)
    assert message.startswith(f"GitHub API GET {PULL} returned 200 without a JSON body")
    assert "GitHub Enterprise: https://HOST/api/v3" in message
