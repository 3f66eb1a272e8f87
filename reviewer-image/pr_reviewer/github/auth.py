"""The credential the reviewer posts with and the account it posts as.

The credential is ``GITHUB_TOKEN`` as given, or a GitHub App installation token. The installation
token is requested for the one repository under review and only the permissions the review needs,
so a leaked token can do little and expires within the hour.

The account is the login that GitHub writes into ``user.login`` of every comment the reviewer
creates. It is the token's user for ``GITHUB_TOKEN`` and ``<app-slug>[bot]`` for an App.
"""

from __future__ import annotations

import logging
import time

import jwt

from pr_reviewer.errors import PermanentError
from pr_reviewer.github.client import Forbidden, GitHubClient, NotFound, RetryPolicy, ValidationFailed
from pr_reviewer.settings import ReviewSettings, Secret

logger = logging.getLogger(__name__)

# Fetching the change needs contents and posting the review needs pull_requests. GitHub grants
# metadata: read to every App, and listing it keeps the request explicit.
INSTALLATION_PERMISSIONS = {"pull_requests": "write", "contents": "read", "metadata": "read"}
# GitHub rejects an App JWT whose exp is more than 10 minutes ahead; iat is backdated for clock drift.
JWT_BACKDATE_SECONDS = 60
JWT_LIFETIME_SECONDS = 9 * 60
APP_CREDENTIAL = "GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY"


def resolve_token(settings: ReviewSettings, *, retry: RetryPolicy | None = None) -> Secret:
    """Return ``GITHUB_TOKEN`` when set, else exchange an App JWT for a repository-scoped installation token."""
    github = settings.github
    if github.token:
        return github.token
    if not github.uses_app:
        raise PermanentError("posting needs GITHUB_TOKEN, or GITHUB_APP_ID with GITHUB_APP_PRIVATE_KEY")
    if github.installation_id is None:
        raise PermanentError("GitHub App auth needs the installation id: set PR_REVIEW_INSTALLATION_ID")

    _owner, name = split_repository(settings.repository)
    with _app_client(settings, retry) as client:
        token = _create_installation_token(client, github.installation_id, name, settings.repository)

    logger.info(
        "Created a GitHub App installation token for %s (installation %d).",
        settings.repository, github.installation_id,
    )
    return token


def resolve_bot_login(settings: ReviewSettings, client: GitHubClient, *, retry: RetryPolicy | None = None) -> str:
    """Return the login that GitHub records as the author of the comments the reviewer creates.

    ``client`` carries the credential that posts. With ``GITHUB_TOKEN`` that is one ``GET /user``
    on it. An installation token may call neither ``GET /user`` nor ``GET /app``, so with an App
    this signs a new App JWT and sends one ``GET /app`` with it to read the slug.
    """
    if settings.github.token:
        return _token_login(client)
    if not settings.github.uses_app:
        raise PermanentError("posting needs GITHUB_TOKEN, or GITHUB_APP_ID with GITHUB_APP_PRIVATE_KEY")

    with _app_client(settings, retry) as app_client:
        return _app_bot_login(app_client)


def create_app_jwt(app_id: str, private_key: Secret, *, now: float) -> Secret:
    """Sign the short-lived RS256 JWT that authenticates as the App itself."""
    claims = {
        "iat": int(now) - JWT_BACKDATE_SECONDS,
        "exp": int(now) + JWT_LIFETIME_SECONDS,
        "iss": app_id,
    }
    try:
        return Secret(jwt.encode(claims, private_key.reveal(), algorithm="RS256"))
    except (ValueError, TypeError, jwt.PyJWTError):
        # The library's message is dropped so that no part of the key can reach a log.
        raise PermanentError(
            "invalid GITHUB_APP_PRIVATE_KEY: expected the App's RSA private key in PEM format"
        ) from None


def split_repository(repository: str) -> tuple[str, str]:
    owner, _, name = repository.partition("/")
    if not owner or not name or "/" in name:
        raise PermanentError(f"invalid repository {repository!r}: expected owner/name, set PR_REVIEW_REPOSITORY")
    return owner, name


def _app_client(settings: ReviewSettings, retry: RetryPolicy | None) -> GitHubClient:
    """Open a client that authenticates as the App itself with a freshly signed JWT."""
    github = settings.github
    app_jwt = create_app_jwt(github.app_id, github.app_private_key, now=time.time())
    policy = retry or RetryPolicy(max_retries=github.max_retries)
    return GitHubClient(
        github.api_url, app_jwt, credential=APP_CREDENTIAL, timeout_seconds=github.timeout_seconds, retry=policy
    )


def _token_login(client: GitHubClient) -> str:
    try:
        user = client.get("/user")
    except Forbidden as error:
        # An installation token (GitHub Actions' GITHUB_TOKEN is one) gets 403 here, and without the
        # App's JWT its comments' author cannot be learned, so earlier comments could not be told apart.
        raise PermanentError(
            f"GitHub API GET /user was forbidden with 403 ({error.detail}), so GITHUB_TOKEN looks like a GitHub App "
            "installation token: use a user or machine-account token, or set GITHUB_APP_ID and "
            "GITHUB_APP_PRIVATE_KEY instead"
        ) from None
    except NotFound as error:
        raise PermanentError(f"{error}: check that PR_REVIEW_GITHUB_API_URL is the REST API root") from None
    return _field(user, "login", "GET /user")


def _app_bot_login(client: GitHubClient) -> str:
    try:
        app = client.get("/app")
    except NotFound as error:
        raise PermanentError(f"{error}: check GITHUB_APP_ID and PR_REVIEW_GITHUB_API_URL") from None
    return f"{_field(app, 'slug', 'GET /app')}[bot]"


def _field(payload: object, name: str, where: str) -> str:
    value = payload.get(name) if isinstance(payload, dict) else None
    if not isinstance(value, str) or not value:
        raise PermanentError(
            f"GitHub API {where} returned no {name}: check that PR_REVIEW_GITHUB_API_URL is the REST API root"
        )
    return value


def _create_installation_token(client: GitHubClient, installation_id: int, name: str, repository: str) -> Secret:
    body = {"repositories": [name], "permissions": INSTALLATION_PERMISSIONS}
    path = f"/app/installations/{installation_id}/access_tokens"
    try:
        # Asking twice only mints a second short-lived token, so this POST may be resent.
        payload = client.post(path, body, idempotent=True)
    except NotFound:
        raise PermanentError(
            f"GitHub App installation {installation_id} not found: check PR_REVIEW_INSTALLATION_ID and GITHUB_APP_ID"
        ) from None
    except ValidationFailed as error:
        raise PermanentError(
            f"GitHub App installation {installation_id} cannot get a token for {repository}: {error}; "
            "install the App on the repository and grant pull_requests: write and contents: read"
        ) from None

    token = payload.get("token") if isinstance(payload, dict) else None
    if not isinstance(token, str) or not token:
        raise PermanentError(f"GitHub App installation {installation_id} returned no token for {repository}")
    return Secret(token)
