"""A thin GitHub REST client over httpx: headers, retries on rate limits and 5xx, error classes.

Every failure leaves as :class:`PermanentError` or :class:`TransientError` with a one-line message
that names the request and never contains the token, so callers can log it and exit with its code.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import httpx

from pr_reviewer.errors import PermanentError, TransientError
from pr_reviewer.settings import Secret

logger = logging.getLogger(__name__)

API_VERSION = "2022-11-28"
PAGE_SIZE = 100
RATE_LIMIT_STATUSES = (403, 429)
# GitHub's REST rate-limit docs (API version 2022-11-28) require at least one minute of waiting after a
# secondary rate limit that sends no retry-after header.
SECONDARY_LIMIT_WAIT_SECONDS = 60.0


def _user_agent() -> str:
    try:
        return f"pr-reviewer/{metadata.version('pr-review-platform')}"
    except metadata.PackageNotFoundError:
        return "pr-reviewer"


class ValidationFailed(PermanentError):
    """A 422 response from GitHub: the request was well formed but GitHub rejected one of its fields."""


class NotFound(PermanentError):
    """A 404 response from GitHub: the resource does not exist or the credential cannot read it."""


class Forbidden(PermanentError):
    """A 403 response that is not a rate limit: the credential may not do this. ``detail`` is GitHub's message."""

    def __init__(self, message: str, *, detail: str) -> None:
        super().__init__(message)
        self.detail = detail


@dataclass
class RetryPolicy:
    """How often and how long to wait before giving up on a request.

    ``sleep`` and ``clock`` are injectable so tests can record the waits without sleeping.
    """

    max_retries: int = 3
    backoff_seconds: float = 1.0
    max_wait_seconds: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep)
    clock: Callable[[], float] = field(default=time.time)

    def backoff(self, attempt: int) -> float:
        return min(self.backoff_seconds * 2 ** (attempt - 1), self.max_wait_seconds)


class GitHubClient:
    """Send authenticated requests to one GitHub API base URL (github.com or an Enterprise ``/api/v3``).

    ``credential`` names the setting behind ``token`` (for example ``GITHUB_TOKEN``) so that a 401
    error names the secret to check.
    """

    def __init__(
        self,
        api_url: str,
        token: Secret,
        *,
        credential: str,
        timeout_seconds: float,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._token = token
        self._credential = credential
        self._retry = retry or RetryPolicy()
        self._base = httpx.URL(api_url.rstrip("/") + "/")
        self._http = httpx.Client(
            base_url=self._base,
            timeout=httpx.Timeout(timeout_seconds),
            headers={
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": _user_agent(),
            },
            follow_redirects=False,
        )

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"GitHubClient({str(self._base)!r}, credential={self._credential!r})"

    def close(self) -> None:
        self._http.close()

    def get(self, path: str, params: dict[str, str | int] | None = None) -> Any:
        return self._json(self.request("GET", path, params=params))

    def post(self, path: str, body: dict[str, Any], *, idempotent: bool = False) -> Any:
        return self._json(self.request("POST", path, body=body, idempotent=idempotent))

    def patch(self, path: str, body: dict[str, Any]) -> Any:
        return self._json(self.request("PATCH", path, body=body, idempotent=True))

    def paginate(self, path: str) -> Iterator[dict[str, Any]]:
        """Yield every item of a list endpoint, following the ``Link: rel="next"`` header."""
        url: str = path
        params: dict[str, str | int] | None = {"per_page": PAGE_SIZE}
        while url:
            response = self.request("GET", url, params=params)
            page = self._json(response)
            if not isinstance(page, list):
                raise PermanentError(f"GitHub API GET {self._display_path(url)} returned no list: check the API URL")
            yield from page
            url = self._next_page(response)
            params = None  # the next link already carries the query

    def request(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        params: dict[str, str | int] | None = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """Send one request, retrying rate limits, 5xx responses and network errors within the policy.

        A POST that may have reached GitHub (read timeout, 5xx) is not retried unless ``idempotent``:
        creating a review twice would duplicate it. The Job-level retry re-runs the whole publish
        instead, and the fingerprint markers keep that re-run from posting a comment twice.
        """
        safe_to_resend = method != "POST" if idempotent is None else idempotent
        where = f"{method} {self._display_path(path)}"
        attempt = 0
        while True:
            attempt += 1
            response, failure, delay = self._attempt(method, path, body, params, safe_to_resend, attempt)
            if response is not None:
                return response
            if attempt > self._retry.max_retries:
                raise TransientError(f"GitHub API {where} failed after {attempt} attempts: {failure}")
            logger.warning(
                "GitHub API %s failed (%s); retrying in %.1f s (attempt %d of %d).",
                where, failure, delay, attempt + 1, self._retry.max_retries + 1,
            )
            self._retry.sleep(delay)

    def _attempt(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        params: dict[str, str | int] | None,
        safe_to_resend: bool,
        attempt: int,
    ) -> tuple[httpx.Response | None, str, float]:
        """Send once; return the final response, or the failure text and the delay before the next try."""
        where = f"{method} {self._display_path(path)}"
        headers = {"Authorization": f"Bearer {self._token.reveal()}"}
        try:
            response = self._http.request(method, path, json=body, params=params, headers=headers)
        except httpx.TransportError as error:
            failure = self._redact(f"{type(error).__name__}: {error}")
            # A connect error means the request never left, so resending cannot duplicate it.
            if not safe_to_resend and not isinstance(error, httpx.ConnectError | httpx.ConnectTimeout):
                raise TransientError(f"GitHub API {where} failed: {failure}; not resent because it may have "
                                     "been applied") from None
            return None, failure, self._retry.backoff(attempt)

        rate_limit_wait = self._rate_limit_wait(response)
        if rate_limit_wait is not None:
            if rate_limit_wait > self._retry.max_wait_seconds:
                raise TransientError(
                    f"GitHub API {where} is rate limited for {rate_limit_wait:.0f} s, longer than the "
                    f"{self._retry.max_wait_seconds:.0f} s this run waits: retry later"
                )
            return None, f"rate limited with {response.status_code}", rate_limit_wait

        if response.status_code >= 500:
            failure = f"server error {response.status_code}"
            if not safe_to_resend:
                raise TransientError(f"GitHub API {where} failed with {failure}; not resent because it may "
                                     "have been applied")
            return None, failure, self._retry.backoff(attempt)

        self._raise_for_status(response, where)
        return response, "", 0.0

    def _rate_limit_wait(self, response: httpx.Response) -> float | None:
        """Return the wait in seconds that GitHub requests, or None when the response is not a rate limit."""
        if response.status_code not in RATE_LIMIT_STATUSES:
            return None
        retry_after = response.headers.get("retry-after")
        if retry_after is not None:
            try:
                return max(float(retry_after), 0.0)
            except ValueError:
                return SECONDARY_LIMIT_WAIT_SECONDS
        if response.headers.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in response.headers:
            try:
                reset_at = float(response.headers["x-ratelimit-reset"])
            except ValueError:
                return SECONDARY_LIMIT_WAIT_SECONDS
            return max(reset_at - self._retry.clock(), 0.0) + 1.0
        # A bare 429 is still a rate limit; a bare 403 is a permission problem and is not retried.
        return SECONDARY_LIMIT_WAIT_SECONDS if response.status_code == 429 else None

    def _raise_for_status(self, response: httpx.Response, where: str) -> None:
        status = response.status_code
        if status < 300:
            return
        if status < 400:
            # GitHub answers 301 for a renamed or transferred repository. Redirects are not followed,
            # so the token only goes to URLs built from the configured API URL.
            location = self._display_path(response.headers.get("location", "an unknown location"))
            raise PermanentError(
                f"GitHub API {where} was redirected with {status} to {location}: "
                "set the repository's current owner/name"
            )
        detail = self._redact(_error_detail(response))
        if status == 401:
            raise PermanentError(
                f"GitHub API {where} rejected the credential with 401 ({detail}): check {self._credential}"
            )
        if status == 403:
            raise Forbidden(
                f"GitHub API {where} was forbidden with 403 ({detail}): check that {self._credential} "
                "has pull_requests: write and contents: read on the repository",
                detail=detail,
            )
        if status == 404:
            raise NotFound(f"GitHub API {where} returned 404 ({detail})")
        if status == 422:
            raise ValidationFailed(f"GitHub API {where} rejected the request with 422 ({detail})")
        raise PermanentError(f"GitHub API {where} failed with {status} ({detail})")

    def _json(self, response: httpx.Response) -> Any:
        """Parse a success body; HTML here usually means the API URL points at GitHub's web pages."""
        try:
            return response.json()
        except ValueError:
            where = f"{response.request.method} {self._display_path(str(response.request.url))}"
            raise PermanentError(
                f"GitHub API {where} returned {response.status_code} without a JSON body: check that the API URL "
                f"{str(self._base)!r} is the REST API root (GitHub Enterprise: https://HOST/api/v3)"
            ) from None

    def _next_page(self, response: httpx.Response) -> str:
        next_url = response.links.get("next", {}).get("url", "")
        if not next_url:
            return ""
        # The token goes with every request, so never follow a link that leaves the configured API.
        if not str(httpx.URL(next_url)).startswith(str(self._base)):
            raise PermanentError(
                f"GitHub API pagination link {self._display_path(next_url)} leaves {self._base}: not followed"
            )
        return next_url

    def _display_path(self, path: str) -> str:
        text = str(httpx.URL(path).copy_with(query=None)) if "://" in path else path
        return text.removeprefix(str(self._base).rstrip("/"))

    def _redact(self, text: str) -> str:
        secret = self._token.reveal()
        return text.replace(secret, "***") if secret else text


def _error_detail(response: httpx.Response) -> str:
    """Condense GitHub's error body (``message`` plus ``errors``) into one line."""
    try:
        payload = response.json()
    except ValueError:
        return response.reason_phrase or "no error body"
    if not isinstance(payload, dict):
        return response.reason_phrase or "unexpected error body"

    parts = [str(payload.get("message", "")).strip()]
    for error in payload.get("errors", []) or []:
        if isinstance(error, dict):
            parts.append(str(error.get("message") or error.get("code") or error))
        else:
            parts.append(str(error))
    return "; ".join(part for part in parts if part).replace("\n", " ") or "no message"
