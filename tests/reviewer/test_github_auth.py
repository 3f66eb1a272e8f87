"""Resolving the GitHub credential: a plain token, or a GitHub App installation token via a signed JWT."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from pr_reviewer.errors import PermanentError
from pr_reviewer.github.auth import INSTALLATION_PERMISSIONS, create_app_jwt, resolve_bot_login, resolve_token
from pr_reviewer.github.client import Forbidden, GitHubClient, NotFound, RetryPolicy
from pr_reviewer.settings import GitHubSettings, ReviewSettings, Secret
from tests.fakes.github_api import AppKeyPair, FakeGitHub

APP_ID = "424242"
INSTALLATION_ID = 77
REPOSITORY = "acme/widgets"
PLAIN_TOKEN = "ghp-auth-test-token-4711"
OTHER_REPOSITORY = "acme/gadgets"


@pytest.fixture(scope="module")
def app_key() -> AppKeyPair:
    return AppKeyPair.generate()


@pytest.fixture
def github(app_key: AppKeyPair) -> Iterator[FakeGitHub]:
    installations = {INSTALLATION_ID: [REPOSITORY, OTHER_REPOSITORY]}
    with FakeGitHub(token=None, app_id=APP_ID, app_public_key=app_key.public_pem, installations=installations) as fake:
        fake.add_pull_request(REPOSITORY, 7, head_sha="a" * 40, hunks={"app.py": [(1, 5)]})
        fake.add_pull_request(OTHER_REPOSITORY, 3, head_sha="b" * 40, hunks={"lib.py": [(1, 5)]})
        yield fake


def app_settings(api_url: str, private_key: str, installation_id: int | None = INSTALLATION_ID) -> ReviewSettings:
    github = GitHubSettings(
        api_url=api_url, app_id=APP_ID, app_private_key=Secret(private_key), installation_id=installation_id
    )
    return ReviewSettings(repo=".", base="main", head="feature", repository=REPOSITORY, pr_number=7, github=github)


def no_sleep(seconds: float) -> None:
    raise AssertionError(f"unexpected retry wait of {seconds} s")


def token_settings(api_url: str, token: str = PLAIN_TOKEN) -> ReviewSettings:
    github = GitHubSettings(api_url=api_url, token=Secret(token))
    return ReviewSettings(repo=".", base="main", head="feature", repository=REPOSITORY, pr_number=7, github=github)


def client_for(api_url: str, token: Secret, credential: str = "installation token") -> GitHubClient:
    retry = RetryPolicy(sleep=no_sleep)
    return GitHubClient(api_url, token, credential=credential, timeout_seconds=5, retry=retry)


def test_plain_token_is_used_as_is() -> None:
    settings = ReviewSettings(repo=".", base="main", head="feature", repository=REPOSITORY, pr_number=7)
    settings.github = GitHubSettings(api_url="http://127.0.0.1:9", token=Secret("ghp-plain"))

    token = resolve_token(settings)

    assert token.reveal() == "ghp-plain"


def test_app_jwt_is_verified_with_app_key(github: FakeGitHub, app_key: AppKeyPair) -> None:
    before = time.time()

    resolve_token(app_settings(github.url, app_key.private_pem), retry=RetryPolicy(sleep=no_sleep))

    [claims] = github.jwt_claims
    assert claims["iss"] == APP_ID
    assert claims["iat"] <= before - 59
    assert claims["exp"] - claims["iat"] < 11 * 60
    assert claims["exp"] <= time.time() + 600
    [request] = github.requests
    assert request.method == "POST"
    assert request.path == f"/app/installations/{INSTALLATION_ID}/access_tokens"
    assert request.credential == "app"


def test_installation_token_is_scoped_to_one_repository(github: FakeGitHub, app_key: AppKeyPair) -> None:
    token = resolve_token(app_settings(github.url, app_key.private_pem), retry=RetryPolicy(sleep=no_sleep))

    [request] = github.requests
    assert request.body == {
        "repositories": ["widgets"],
        "permissions": {"pull_requests": "write", "contents": "read", "metadata": "read"},
    }
    [issued] = github.issued_tokens
    assert issued.token == token.reveal()
    assert issued.repositories == [REPOSITORY]
    assert issued.permissions == INSTALLATION_PERMISSIONS

    with GitHubClient(github.url, token, credential="installation token", timeout_seconds=5) as client:
        assert client.get(f"/repos/{REPOSITORY}/pulls/7")["number"] == 7
        with pytest.raises(NotFound):
            client.get(f"/repos/{OTHER_REPOSITORY}/pulls/3")


def test_jwt_signed_with_other_key_is_rejected(github: FakeGitHub) -> None:
    stranger = AppKeyPair.generate()

    with pytest.raises(PermanentError) as raised:
        resolve_token(app_settings(github.url, stranger.private_pem), retry=RetryPolicy(sleep=no_sleep))

    message = str(raised.value)
    assert "401" in message
    assert "check GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY" in message
    assert github.issued_tokens == []


def test_private_key_that_is_not_pem_is_rejected() -> None:
    garbage = "-----BEGIN RSA PRIVATE KEY-----\nnot-a-key-c2VjcmV0\n-----END RSA PRIVATE KEY-----"

    with pytest.raises(PermanentError) as raised:
        create_app_jwt(APP_ID, Secret(garbage), now=time.time())

    assert str(raised.value) == "invalid GITHUB_APP_PRIVATE_KEY: expected the App's RSA private key in PEM format"
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__


def test_unknown_installation_names_setting(github: FakeGitHub, app_key: AppKeyPair) -> None:
    settings = app_settings(github.url, app_key.private_pem, installation_id=999)

    with pytest.raises(PermanentError) as raised:
        resolve_token(settings, retry=RetryPolicy(sleep=no_sleep))

    assert str(raised.value) == (
        "GitHub App installation 999 not found: check PR_REVIEW_INSTALLATION_ID and GITHUB_APP_ID"
    )


def test_repository_outside_installation_is_rejected(github: FakeGitHub, app_key: AppKeyPair) -> None:
    settings = app_settings(github.url, app_key.private_pem)
    settings.repository = "acme/secret-plans"

    with pytest.raises(PermanentError) as raised:
        resolve_token(settings, retry=RetryPolicy(sleep=no_sleep))

    message = str(raised.value)
    assert message.startswith("GitHub App installation 77 cannot get a token for acme/secret-plans")
    assert "install the App on the repository" in message
    assert github.issued_tokens == []


def test_permissions_beyond_grant_are_rejected(app_key: AppKeyPair) -> None:
    read_only = {"pull_requests": "read", "contents": "read", "metadata": "read"}
    installations = {INSTALLATION_ID: [REPOSITORY]}
    with FakeGitHub(
        token=None, app_id=APP_ID, app_public_key=app_key.public_pem,
        installations=installations, installation_permissions=read_only,
    ) as github:
        with pytest.raises(PermanentError) as raised:
            resolve_token(app_settings(github.url, app_key.private_pem), retry=RetryPolicy(sleep=no_sleep))

        assert "The permissions requested are not granted to this installation." in str(raised.value)
        assert "grant pull_requests: write and contents: read" in str(raised.value)
        assert github.issued_tokens == []


def test_missing_installation_id_is_rejected(app_key: AppKeyPair) -> None:
    settings = app_settings("http://127.0.0.1:9", app_key.private_pem, installation_id=None)

    with pytest.raises(PermanentError) as raised:
        resolve_token(settings)

    assert str(raised.value) == "GitHub App auth needs the installation id: set PR_REVIEW_INSTALLATION_ID"


def test_missing_credentials_are_rejected() -> None:
    settings = ReviewSettings(repo=".", base="main", head="feature", repository=REPOSITORY, pr_number=7)

    with pytest.raises(PermanentError) as raised:
        resolve_token(settings)

    assert str(raised.value) == "posting needs GITHUB_TOKEN, or GITHUB_APP_ID with GITHUB_APP_PRIVATE_KEY"


def test_invalid_repository_name_is_rejected(app_key: AppKeyPair) -> None:
    settings = app_settings("http://127.0.0.1:9", app_key.private_pem)
    settings.repository = "widgets"

    with pytest.raises(PermanentError) as raised:
        resolve_token(settings)

    assert str(raised.value) == "invalid repository 'widgets': expected owner/name, set PR_REVIEW_REPOSITORY"


def test_app_secrets_stay_out_of_logs_and_repr(
    github: FakeGitHub, app_key: AppKeyPair, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    settings = app_settings(github.url, app_key.private_pem)

    token = resolve_token(settings, retry=RetryPolicy(sleep=no_sleep))

    [issued] = github.issued_tokens
    key_body = app_key.private_pem.splitlines()[1]
    assert issued.token not in caplog.text
    assert key_body not in caplog.text
    assert "eyJ" not in caplog.text  # every JWT starts with the base64 of '{"'
    assert issued.token not in repr(token)
    assert key_body not in repr(settings)
    assert "Created a GitHub App installation token for acme/widgets (installation 77)." in caplog.text


def test_token_login_comes_from_get_user() -> None:
    with FakeGitHub(token=PLAIN_TOKEN, login="Review-Bot") as github:
        settings = token_settings(github.url)
        with client_for(github.url, Secret(PLAIN_TOKEN), "GITHUB_TOKEN") as client:
            login = resolve_bot_login(settings, client)

        assert login == "Review-Bot"
        assert [(request.method, request.path, request.credential) for request in github.requests] == [
            ("GET", "/user", "token"),
        ]


def test_app_login_is_slug_with_bot_suffix(github: FakeGitHub, app_key: AppKeyPair) -> None:
    settings = app_settings(github.url, app_key.private_pem)
    token = resolve_token(settings, retry=RetryPolicy(sleep=no_sleep))

    with client_for(github.url, token) as client:
        login = resolve_bot_login(settings, client, retry=RetryPolicy(sleep=no_sleep))

    assert login == "pr-reviewer[bot]"
    assert [(request.method, request.path, request.credential) for request in github.requests][1:] == [
        ("GET", "/app", "app"),
    ]
    assert len(github.jwt_claims) == 2


def test_installation_token_cannot_read_user_or_app(github: FakeGitHub, app_key: AppKeyPair) -> None:
    token = resolve_token(app_settings(github.url, app_key.private_pem), retry=RetryPolicy(sleep=no_sleep))

    with client_for(github.url, token) as client:
        with pytest.raises(Forbidden) as user_error:
            client.get("/user")
        with pytest.raises(PermanentError) as app_error:
            client.get("/app")

    assert user_error.value.detail == "Resource not accessible by integration"
    assert str(app_error.value) == (
        "GitHub API GET /app rejected the credential with 401 (A JSON web token could not be decoded): "
        "check installation token"
    )


def test_installation_token_as_github_token_is_rejected(github: FakeGitHub, app_key: AppKeyPair) -> None:
    token = resolve_token(app_settings(github.url, app_key.private_pem), retry=RetryPolicy(sleep=no_sleep))
    settings = token_settings(github.url, token.reveal())

    with client_for(github.url, token) as client, pytest.raises(PermanentError) as raised:
        resolve_bot_login(settings, client)

    assert str(raised.value) == (
        "GitHub API GET /user was forbidden with 403 (Resource not accessible by integration), so GITHUB_TOKEN "
        "looks like a GitHub App installation token: use a user or machine-account token, or set GITHUB_APP_ID "
        "and GITHUB_APP_PRIVATE_KEY instead"
    )
    assert token.reveal() not in str(raised.value)


def test_bad_token_login_names_github_token() -> None:
    with FakeGitHub(token=PLAIN_TOKEN) as github:
        wrong = Secret("ghp-not-this-one-1234")
        with client_for(github.url, wrong, "GITHUB_TOKEN") as client, pytest.raises(PermanentError) as raised:
            resolve_bot_login(token_settings(github.url, wrong.reveal()), client)

    assert str(raised.value) == (
        "GitHub API GET /user rejected the credential with 401 (Bad credentials): check GITHUB_TOKEN"
    )


def test_app_login_with_wrong_key_names_app_settings(github: FakeGitHub, app_key: AppKeyPair) -> None:
    token = resolve_token(app_settings(github.url, app_key.private_pem), retry=RetryPolicy(sleep=no_sleep))
    stranger = AppKeyPair.generate()

    with client_for(github.url, token) as client, pytest.raises(PermanentError) as raised:
        resolve_bot_login(app_settings(github.url, stranger.private_pem), client, retry=RetryPolicy(sleep=no_sleep))

    assert str(raised.value) == (
        "GitHub API GET /app rejected the credential with 401 (A JSON web token could not be decoded): "
        "check GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY"
    )


def test_login_from_wrong_api_root_names_api_url() -> None:
    with FakeGitHub(token=PLAIN_TOKEN, path_prefix="/api/v3") as enterprise:
        settings = token_settings(enterprise.origin)
        client = client_for(enterprise.origin, Secret(PLAIN_TOKEN), "GITHUB_TOKEN")
        with client, pytest.raises(PermanentError) as raised:
            resolve_bot_login(settings, client)

    assert str(raised.value) == (
        "GitHub API GET /user returned 404 (Not Found): check that PR_REVIEW_GITHUB_API_URL is the REST API root"
    )
