"""The credential the reviewer posts with: ``GITHUB_TOKEN`` as given, or a GitHub App installation token.

The installation token is requested for the one repository under review and only the permissions
the review needs, so a leaked token can do little and expires within the hour.
"""

from __future__ import annotations

import logging
import time

import jwt

from pr_reviewer.errors import PermanentError
from pr_reviewer.github.client import GitHubClient, NotFound, RetryPolicy, ValidationFailed
from pr_reviewer.settings import ReviewSettings, Secret

logger = logging.getLogger(__name__)

# Fetching the change needs contents and posting the review needs pull_requests. GitHub grants
# metadata: read to every App, and listing it keeps the request explicit.
INSTALLATION_PERMISSIONS = {"pull_requests": "write", "contents": "read", "metadata": "read"}
# GitHub rejects an App JWT whose exp is more than 10 minutes ahead; iat is backdated for clock drift.
JWT_BACKDATE_SECONDS = 60
JWT_LIFETIME_SECONDS = 9 * 60


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
    app_jwt = create_app_jwt(github.app_id, github.app_private_key, now=time.time())
    policy = retry or RetryPolicy(max_retries=github.max_retries)
    with GitHubClient(
        github.api_url, app_jwt,
        credential="GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY",
        timeout_seconds=github.timeout_seconds, retry=policy,
    ) as client:
        token = _create_installation_token(client, github.installation_id, name, settings.repository)

    logger.info(
        "Created a GitHub App installation token for %s (installation %d).",
        settings.repository, github.installation_id,
    )
    return token


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
