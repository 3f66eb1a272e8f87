"""A fake GitHub REST API: a real HTTP server on 127.0.0.1 that behaves like GitHub where the reviewer relies on it.

Usage::

    with FakeGitHub(token="ghp-test") as github:
        github.add_pull_request("acme/widgets", 7, head_sha="a" * 40, hunks={"app.py": [(1, 12)]})
        settings.github.api_url = github.url          # or PR_REVIEW_GITHUB_API_URL for a subprocess
        ...
        assert github.review_comments("acme/widgets", 7)[0]["line"] == 3

What it checks, as GitHub does:

* Every request needs ``Authorization: token X`` or ``Bearer X`` with the configured token or an
  installation token this server issued; anything else gets 401 ``Bad credentials``.
* ``GET /app`` and ``POST /app/installations/{id}/access_tokens`` take only an App JWT, verified
  with the App's public key (RS256, ``iss`` = App id, ``exp`` at most 10 minutes ahead).
  ``GET /app`` returns the App's ``id`` and ``slug``. The requested repositories must belong to
  the installation and the permissions must not exceed its grant. An installation token then
  reaches only its repositories (404 elsewhere) and needs ``pull_requests: write`` to post
  (403 otherwise).
* Comments and reviews record their author in ``user``: ``login`` (the fake's ``login``) and
  type ``User`` for the configured token, ``<app_slug>[bot]`` and type ``Bot`` for an
  installation token. ``GET /user`` returns the token's login; an installation token gets 403
  ``Resource not accessible by integration`` there, as on GitHub. ``add_issue_comment`` and
  ``add_review_comment`` seed comments by other users.
* Each PR has a state, a head SHA and, per path, its hunks as inclusive ranges of head-side lines.
  A review comment on a line outside them, on the LEFT side, or with a ``start_line`` in another
  hunk gets 422 in GitHub's error shape.
* List endpoints paginate with ``page``/``per_page`` and a ``Link`` header; ``page_size`` caps a page.
* ``rate_limit_next`` and ``fail_next`` make the next authenticated request fail once per call.
* ``rename_repository`` makes the old name answer 301, as for a renamed or transferred repository.

Every request is recorded with its JSON body and headers, minus ``Authorization``.
``path_prefix="/api/v3"`` serves the API under a prefix, as GitHub Enterprise Server does.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

DOCS_URL = "https://docs.github.com/rest"
DEFAULT_PAGE_SIZE = 30
MAX_PAGE_SIZE = 100
# GitHub rejects an App JWT whose exp is more than 10 minutes ahead.
MAX_JWT_LIFETIME_SECONDS = 600
PERMISSION_LEVELS = {"read": 1, "write": 2, "admin": 3}
DEFAULT_INSTALLATION_PERMISSIONS = {
    "pull_requests": "write", "contents": "read", "metadata": "read", "issues": "write", "checks": "write",
}


@dataclass(frozen=True)
class AppKeyPair:
    """A GitHub App's RSA key pair in PEM: the client signs with ``private_pem``, the fake verifies with the other."""

    private_pem: str
    public_pem: str

    @classmethod
    def generate(cls) -> AppKeyPair:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
        return cls(private_pem, public_pem)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as received. ``path`` has neither the prefix nor the query; ``headers`` lack ``authorization``.

    ``credential`` is ``token``, ``installation``, ``app`` (a valid App JWT) or ``""`` when authentication failed.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    credential: str = ""


@dataclass
class IssuedToken:
    """An installation token this server created, with what it was scoped to."""

    token: str
    installation_id: int
    repositories: list[str]  # owner/name
    permissions: dict[str, str]


@dataclass
class FakePullRequest:
    """A PR's state and diff. ``hunks`` maps a path to its hunks' inclusive head-side line ranges."""

    repository: str
    number: int
    head_sha: str
    hunks: dict[str, list[tuple[int, int]]]
    state: str = "open"
    merged: bool = False
    known_shas: set[str] = field(default_factory=set)

    def hunk_of(self, path: str, line: int) -> int | None:
        for index, (first, last) in enumerate(self.hunks.get(path, [])):
            if first <= line <= last:
                return index
        return None


@dataclass
class _Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Injected:
    """A failure waiting for the next request that matches ``method`` and ``path`` (None matches any)."""

    reply: _Reply
    method: str | None = None
    path: str | None = None

    def matches(self, method: str, path: str) -> bool:
        return self.method in (None, method) and self.path in (None, path)


@dataclass
class _Caller:
    kind: str  # token, installation or app
    login: str
    issued: IssuedToken | None = None


class FakeGitHub:
    """The server; use it as a context manager. Thread-safe, so clients may send concurrent requests."""

    def __init__(
        self,
        *,
        token: str | None = "ghp-fake-token",
        login: str = "review-bot",
        path_prefix: str = "",
        page_size: int = DEFAULT_PAGE_SIZE,
        app_id: str = "",
        app_public_key: str = "",
        app_slug: str = "pr-reviewer",
        installations: Mapping[int, Iterable[str]] | None = None,
        installation_permissions: Mapping[str, str] | None = None,
    ) -> None:
        self.token = token
        self.login = login
        self.path_prefix = "/" + path_prefix.strip("/") if path_prefix.strip("/") else ""
        self.page_size = page_size
        self.app_id = app_id
        self.app_public_key = app_public_key
        self.app_slug = app_slug
        self.installations = {key: list(value) for key, value in (installations or {}).items()}
        self.installation_permissions = dict(installation_permissions or DEFAULT_INSTALLATION_PERMISSIONS)
        # Origin written into Link headers; point it at another server to test that a client does not follow.
        self.link_origin: str | None = None

        self._lock = threading.Lock()
        self._ids = itertools.count(1001)
        self._requests: list[RecordedRequest] = []
        self._pulls: dict[tuple[str, int], FakePullRequest] = {}
        self._issue_comments: dict[tuple[str, int], list[dict[str, Any]]] = {}
        self._review_comments: dict[tuple[str, int], list[dict[str, Any]]] = {}
        self._reviews: dict[tuple[str, int], list[dict[str, Any]]] = {}
        self._issued: list[IssuedToken] = []
        self._jwt_claims: list[dict[str, Any]] = []
        self._injected: list[_Injected] = []
        self._renamed: dict[str, str] = {}

        self._server = _Server(("127.0.0.1", 0), _Handler, self)
        # A short poll interval lets close() return quickly, which keeps test teardown fast.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-github", daemon=True
        )

    # Lifecycle

    def __enter__(self) -> FakeGitHub:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def origin(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def url(self) -> str:
        """The API base URL to configure the client with (``PR_REVIEW_GITHUB_API_URL``), prefix included."""
        return self.origin + self.path_prefix

    # Test setup

    def add_pull_request(
        self,
        repository: str,
        number: int,
        *,
        head_sha: str,
        hunks: Mapping[str, Iterable[tuple[int, int]]],
        state: str = "open",
    ) -> FakePullRequest:
        pull = FakePullRequest(
            repository, number, head_sha, {path: list(ranges) for path, ranges in hunks.items()}, state,
            known_shas={head_sha},
        )
        with self._lock:
            self._pulls[(repository, number)] = pull
        return pull

    def update_pull_request(
        self,
        repository: str,
        number: int,
        *,
        head_sha: str | None = None,
        state: str | None = None,
        merged: bool | None = None,
        hunks: Mapping[str, Iterable[tuple[int, int]]] | None = None,
    ) -> None:
        """Change a PR as a push, close or merge would."""
        with self._lock:
            pull = self._pulls[(repository, number)]
            if head_sha is not None:
                pull.head_sha = head_sha
                pull.known_shas.add(head_sha)
            if state is not None:
                pull.state = state
            if merged is not None:
                pull.merged = merged
            if hunks is not None:
                pull.hunks = {path: list(ranges) for path, ranges in hunks.items()}

    def rename_repository(self, old: str, new: str) -> None:
        """Answer requests under ``/repos/<old>/`` with 301 to the same path under ``new``, as GitHub does."""
        with self._lock:
            self._renamed[old] = new

    def add_issue_comment(self, repository: str, number: int, body: str, *, login: str = "octocat") -> dict[str, Any]:
        """Seed a PR conversation comment, as if someone else had written it."""
        with self._lock:
            return self._create_issue_comment(repository, number, body, _Caller("token", login))

    def add_review_comment(
        self, repository: str, number: int, body: str, *, path: str, line: int, login: str = "octocat"
    ) -> dict[str, Any]:
        """Seed an inline comment on the PR's head, as if someone else had written it; the line is not checked."""
        with self._lock:
            pull = self._pulls[(repository, number)]
            comment = {"body": body, "path": path, "line": line, "side": "RIGHT"}
            return self._store_review_comment(pull, comment, pull.head_sha, _Caller("token", login), next(self._ids))

    def rate_limit_next(
        self,
        kind: str = "secondary",
        *,
        seconds: int = 2,
        status: int = 403,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Make the next authenticated request (with this method and path, when given) fail with a rate limit.

        ``secondary`` sends ``retry-after``; ``primary`` sends ``x-ratelimit-remaining: 0`` and a reset time.
        ``path`` excludes the prefix and the query, as in :class:`RecordedRequest`.
        """
        if kind == "secondary":
            body = _error("You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                          status)
            reply = _Reply(status, body, {"retry-after": str(seconds)})
        elif kind == "primary":
            reset = int(time.time()) + seconds
            headers = {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "0", "x-ratelimit-used": "5000",
                       "x-ratelimit-reset": str(reset), "x-ratelimit-resource": "core"}
            reply = _Reply(status, _error("API rate limit exceeded for user ID 1.", status), headers)
        else:
            raise ValueError(f"invalid rate limit kind {kind!r}: expected secondary or primary")
        with self._lock:
            self._injected.append(_Injected(reply, method, path))

    def fail_next(
        self, status: int = 502, count: int = 1, *, method: str | None = None, path: str | None = None
    ) -> None:
        """Make the next ``count`` authenticated requests with this method and path (None: any) fail with ``status``."""
        with self._lock:
            self._injected.extend(
                _Injected(_Reply(status, _error("Server Error", status)), method, path) for _ in range(count)
            )

    # Inspection

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.method == method and request.path == path]

    @property
    def issued_tokens(self) -> list[IssuedToken]:
        with self._lock:
            return list(self._issued)

    @property
    def jwt_claims(self) -> list[dict[str, Any]]:
        """The claims of every App JWT that passed verification."""
        with self._lock:
            return list(self._jwt_claims)

    def issue_comments(self, repository: str, number: int) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(comment) for comment in self._issue_comments.get((repository, number), [])]

    def review_comments(self, repository: str, number: int) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(comment) for comment in self._review_comments.get((repository, number), [])]

    def reviews(self, repository: str, number: int) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(review) for review in self._reviews.get((repository, number), [])]

    # Request handling, called from the server's threads

    def handle(self, method: str, target: str, headers: dict[str, str], raw_body: bytes) -> _Reply:
        split = urlsplit(target)
        query = {name: values[-1] for name, values in parse_qs(split.query).items()}
        path = split.path
        body = _parse_json(raw_body)
        recorded_headers = {name: value for name, value in headers.items() if name != "authorization"}

        if not path.startswith(self.path_prefix + "/"):
            self._record(RecordedRequest(method, path, query, recorded_headers, body))
            return _Reply(404, _error("Not Found", 404))
        path = path.removeprefix(self.path_prefix)

        with self._lock:
            caller, failure = self._authenticate(path, headers.get("authorization", ""))
            self._requests.append(
                RecordedRequest(method, path, query, recorded_headers, body, caller.kind if caller else "")
            )
            if failure is not None:
                return failure
            assert caller is not None
            for injected in self._injected:
                if injected.matches(method, path):
                    self._injected.remove(injected)
                    return injected.reply
            return self._route(method, path, query, body, caller)

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _authenticate(self, path: str, authorization: str) -> tuple[_Caller | None, _Reply | None]:
        scheme, _, credential = authorization.partition(" ")
        if scheme.lower() not in ("token", "bearer") or not credential:
            return None, _Reply(401, _error("Requires authentication", 401))

        if path == "/app" or path.startswith("/app/"):
            return self._authenticate_app(credential)
        if self.token is not None and credential == self.token:
            return _Caller("token", self.login), None
        for issued in self._issued:
            if issued.token == credential:
                return _Caller("installation", f"{self.app_slug}[bot]", issued), None
        return None, _Reply(401, _error("Bad credentials", 401))

    def _authenticate_app(self, credential: str) -> tuple[_Caller | None, _Reply | None]:
        if not self.app_id or not self.app_public_key:
            return None, _Reply(401, _error("A JSON web token could not be decoded", 401))
        try:
            claims = jwt.decode(
                credential, self.app_public_key, algorithms=["RS256"], options={"require": ["iat", "exp", "iss"]}
            )
        except jwt.PyJWTError:
            return None, _Reply(401, _error("A JSON web token could not be decoded", 401))

        if str(claims["iss"]) != self.app_id:
            return None, _Reply(401, _error("A JSON web token could not be decoded", 401))
        if int(claims["exp"]) - time.time() > MAX_JWT_LIFETIME_SECONDS:
            message = "'Expiration time' claim ('exp') is too far in the future"
            return None, _Reply(401, _error(message, 401))
        self._jwt_claims.append(claims)
        return _Caller("app", f"{self.app_slug}[bot]"), None

    def _route(self, method: str, path: str, query: dict[str, str], body: Any, caller: _Caller) -> _Reply:
        for old, new in self._renamed.items():
            if path == f"/repos/{old}" or path.startswith(f"/repos/{old}/"):
                location = self.url + path.replace(f"/repos/{old}", f"/repos/{new}", 1)
                return _Reply(301, {"message": "Moved Permanently", "url": location}, {"Location": location})
        for route_method, pattern, handler in _ROUTES:
            match = pattern.fullmatch(path)
            if match and route_method == method:
                return handler(self, match, query, body, caller)
        return _Reply(404, _error("Not Found", 404))

    # Endpoints; each runs with the lock held

    def _access_tokens(self, match: re.Match[str], query: dict[str, str], body: Any, caller: _Caller) -> _Reply:
        if caller.kind != "app":
            return _Reply(401, _error("A JSON web token could not be decoded", 401))
        installation_id = int(match["installation"])
        if installation_id not in self.installations:
            return _Reply(404, _error("Not Found", 404))

        request = body if isinstance(body, dict) else {}
        installed = self.installations[installation_id]
        by_name = {repository.split("/", 1)[1]: repository for repository in installed}
        names = request.get("repositories")
        if names is None:
            repositories = list(installed)
        else:
            unknown = [name for name in names if name not in by_name]
            if unknown:
                return _Reply(422, _error("There is at least one repository that does not exist or is not "
                                          "accessible to the parent installation.", 422))
            repositories = [by_name[name] for name in names]

        permissions = request.get("permissions")
        if permissions is None:
            permissions = dict(self.installation_permissions)
        for name, level in permissions.items():
            granted = self.installation_permissions.get(name, "")
            if PERMISSION_LEVELS.get(level, 99) > PERMISSION_LEVELS.get(granted, 0):
                return _Reply(422, _error("The permissions requested are not granted to this installation.", 422))

        issued = IssuedToken(f"ghs_fake{next(self._ids)}", installation_id, repositories, dict(permissions))
        self._issued.append(issued)
        expires_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        payload = {
            "token": issued.token,
            "expires_at": expires_at,
            "permissions": issued.permissions,
            "repository_selection": "selected",
            "repositories": [{"full_name": repository, "name": repository.split("/", 1)[1]}
                             for repository in repositories],
        }
        return _Reply(201, payload)

    def _get_user(self, match: re.Match[str], query: dict[str, str], body: Any, caller: _Caller) -> _Reply:
        if caller.kind != "token":
            return _Reply(403, _error("Resource not accessible by integration", 403))
        return _Reply(200, {"login": caller.login, "id": 1, "type": "User"})

    def _get_app(self, match: re.Match[str], query: dict[str, str], body: Any, caller: _Caller) -> _Reply:
        app_id: int | str = int(self.app_id) if self.app_id.isdigit() else self.app_id
        return _Reply(200, {"id": app_id, "slug": self.app_slug, "name": self.app_slug})

    def _get_repository(self, match: re.Match[str], query: dict[str, str], body: Any, caller: _Caller) -> _Reply:
        repository = match["repo"]
        denied = self._deny(caller, repository, "metadata", "read")
        if denied:
            return denied
        if not any(key[0] == repository for key in self._pulls):
            return _Reply(404, _error("Not Found", 404))
        return _Reply(200, {"full_name": repository, "name": repository.split("/", 1)[1], "private": True})

    def _get_pull(self, match: re.Match[str], query: dict[str, str], body: Any, caller: _Caller) -> _Reply:
        pull, failure = self._pull_for(match, caller, "read")
        if failure:
            return failure
        assert pull is not None
        return _Reply(200, {
            "number": pull.number,
            "state": pull.state,
            "merged": pull.merged,
            "head": {"sha": pull.head_sha},
            "html_url": f"{self.origin}/{pull.repository}/pull/{pull.number}",
        })

    def _list_review_comments(
        self, match: re.Match[str], query: dict[str, str], body: Any, caller: _Caller
    ) -> _Reply:
        pull, failure = self._pull_for(match, caller, "read")
        if failure:
            return failure
        assert pull is not None
        return self._page(self._review_comments.get((pull.repository, pull.number), []), match.group(0), query)

    def _list_reviews(self, match: re.Match[str], query: dict[str, str], body: Any, caller: _Caller) -> _Reply:
        pull, failure = self._pull_for(match, caller, "read")
        if failure:
            return failure
        assert pull is not None
        return self._page(self._reviews.get((pull.repository, pull.number), []), match.group(0), query)

    def _create_review(self, match: re.Match[str], query: dict[str, str], body: Any, caller: _Caller) -> _Reply:
        pull, failure = self._pull_for(match, caller, "write")
        if failure:
            return failure
        assert pull is not None
        request = body if isinstance(body, dict) else {}
        commit_id = str(request.get("commit_id") or pull.head_sha)
        event = request.get("event")
        comments = request.get("comments") or []

        if commit_id not in pull.known_shas:
            return _Reply(422, _error("Unprocessable Entity", 422, ["Commit ID could not be resolved"]))
        if event not in (None, "COMMENT", "APPROVE", "REQUEST_CHANGES"):
            return _Reply(422, _error("Unprocessable Entity", 422, [f"Event {event} is not valid"]))
        if event == "COMMENT" and not request.get("body") and not comments:
            return _Reply(422, _error("Unprocessable Entity", 422, ["Body is required for a COMMENT review"]))
        for comment in comments:
            problem = _line_problem(pull, comment)
            if problem:
                field_name, reason = problem
                sentence = f"Pull request review thread {field_name.replace('_', ' ')} {reason}"
                return _Reply(422, _error("Unprocessable Entity", 422, [sentence]))

        review_id = next(self._ids)
        html_url = f"{self.origin}/{pull.repository}/pull/{pull.number}#pullrequestreview-{review_id}"
        review = {
            "id": review_id,
            "user": _user(caller),
            "body": request.get("body") or "",
            "state": "COMMENTED" if event == "COMMENT" else (event or "PENDING"),
            "commit_id": commit_id,
            "html_url": html_url,
        }
        self._reviews.setdefault((pull.repository, pull.number), []).append(review)
        for comment in comments:
            self._store_review_comment(pull, comment, commit_id, caller, review_id)
        return _Reply(200, review)

    def _create_review_comment(
        self, match: re.Match[str], query: dict[str, str], body: Any, caller: _Caller
    ) -> _Reply:
        pull, failure = self._pull_for(match, caller, "write")
        if failure:
            return failure
        assert pull is not None
        comment = body if isinstance(body, dict) else {}
        missing = [name for name in ("body", "commit_id", "path", "line") if not comment.get(name)]
        if missing:
            return _Reply(422, _error("Invalid request.", 422, [f"{missing[0]} wasn't supplied."]))
        if comment["commit_id"] not in pull.known_shas:
            return _Reply(422, _validation_failed("commit_id", "could not be resolved"))
        problem = _line_problem(pull, comment)
        if problem:
            field_name, reason = problem
            qualified = f"pull_request_review_thread.{field_name}"
            return _Reply(422, _validation_failed(qualified, f"{qualified} {reason}"))
        stored = self._store_review_comment(pull, comment, str(comment["commit_id"]), caller, next(self._ids))
        return _Reply(201, stored)

    def _list_issue_comments(self, match: re.Match[str], query: dict[str, str], body: Any, caller: _Caller) -> _Reply:
        pull, failure = self._pull_for(match, caller, "read")
        if failure:
            return failure
        assert pull is not None
        return self._page(self._issue_comments.get((pull.repository, pull.number), []), match.group(0), query)

    def _post_issue_comment(self, match: re.Match[str], query: dict[str, str], body: Any, caller: _Caller) -> _Reply:
        pull, failure = self._pull_for(match, caller, "write")
        if failure:
            return failure
        assert pull is not None
        text = body.get("body") if isinstance(body, dict) else None
        if not text:
            return _Reply(422, _error("Invalid request.", 422, ["body wasn't supplied."]))
        return _Reply(201, self._create_issue_comment(pull.repository, pull.number, text, caller))

    def _patch_issue_comment(self, match: re.Match[str], query: dict[str, str], body: Any, caller: _Caller) -> _Reply:
        repository = match["repo"]
        denied = self._deny(caller, repository, "pull_requests", "write")
        if denied:
            return denied
        text = body.get("body") if isinstance(body, dict) else None
        if not text:
            return _Reply(422, _error("Invalid request.", 422, ["body wasn't supplied."]))
        comment_id = int(match["comment"])
        for (owner_repository, _number), comments in self._issue_comments.items():
            for comment in comments:
                if owner_repository == repository and comment["id"] == comment_id:
                    comment["body"] = text
                    comment["updated_at"] = _now()
                    return _Reply(200, dict(comment))
        return _Reply(404, _error("Not Found", 404))

    # Helpers

    def _deny(self, caller: _Caller, repository: str, permission: str, level: str) -> _Reply | None:
        """Return GitHub's error response when an installation token lacks this access, else None."""
        if caller.issued is None:
            return None
        if repository not in caller.issued.repositories:
            return _Reply(404, _error("Not Found", 404))
        granted = caller.issued.permissions.get(permission, "")
        if PERMISSION_LEVELS[level] > PERMISSION_LEVELS.get(granted, 0):
            return _Reply(403, _error("Resource not accessible by integration", 403))
        return None

    def _pull_for(
        self, match: re.Match[str], caller: _Caller, level: str
    ) -> tuple[FakePullRequest | None, _Reply | None]:
        repository = match["repo"]
        denied = self._deny(caller, repository, "pull_requests", level)
        if denied:
            return None, denied
        pull = self._pulls.get((repository, int(match["number"])))
        if pull is None:
            return None, _Reply(404, _error("Not Found", 404))
        return pull, None

    def _page(self, items: list[dict[str, Any]], path: str, query: dict[str, str]) -> _Reply:
        try:
            page = max(int(query.get("page", "1")), 1)
            requested = int(query.get("per_page", str(DEFAULT_PAGE_SIZE)))
        except ValueError:
            return _Reply(422, _error("Invalid request.", 422, ["page and per_page must be integers"]))
        per_page = max(min(requested, self.page_size, MAX_PAGE_SIZE), 1)
        last = max((len(items) + per_page - 1) // per_page, 1)
        chunk = [dict(item) for item in items[(page - 1) * per_page: page * per_page]]

        def link(number: int, rel: str) -> str:
            base = (self.link_origin or self.origin) + self.path_prefix
            return f'<{base}{path}?per_page={per_page}&page={number}>; rel="{rel}"'

        links = []
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        if page > 1:
            links += [link(1, "first"), link(page - 1, "prev")]
        return _Reply(200, chunk, {"Link": ", ".join(links)} if links else {})

    def _create_issue_comment(self, repository: str, number: int, text: str, caller: _Caller) -> dict[str, Any]:
        comment_id = next(self._ids)
        comment = {
            "id": comment_id,
            "body": text,
            "user": _user(caller),
            "html_url": f"{self.origin}/{repository}/pull/{number}#issuecomment-{comment_id}",
            "created_at": _now(),
            "updated_at": _now(),
        }
        self._issue_comments.setdefault((repository, number), []).append(comment)
        return dict(comment)

    def _store_review_comment(
        self, pull: FakePullRequest, comment: dict[str, Any], commit_id: str, caller: _Caller, review_id: int
    ) -> dict[str, Any]:
        comment_id = next(self._ids)
        stored = {
            "id": comment_id,
            "pull_request_review_id": review_id,
            "body": comment.get("body", ""),
            "path": comment.get("path"),
            "line": comment.get("line"),
            "side": comment.get("side", "RIGHT"),
            "start_line": comment.get("start_line"),
            "start_side": comment.get("start_side"),
            "commit_id": commit_id,
            "user": _user(caller),
            "html_url": f"{self.origin}/{pull.repository}/pull/{pull.number}#discussion_r{comment_id}",
        }
        self._review_comments.setdefault((pull.repository, pull.number), []).append(stored)
        return dict(stored)


Endpoint = Callable[[FakeGitHub, re.Match[str], dict[str, str], Any, _Caller], _Reply]
_REPO = r"/repos/(?P<repo>[^/]+/[^/]+)"
_ROUTES: list[tuple[str, re.Pattern[str], Endpoint]] = [
    ("GET", re.compile(r"/user"), FakeGitHub._get_user),
    ("GET", re.compile(r"/app"), FakeGitHub._get_app),
    ("POST", re.compile(r"/app/installations/(?P<installation>\d+)/access_tokens"), FakeGitHub._access_tokens),
    ("GET", re.compile(_REPO), FakeGitHub._get_repository),
    ("GET", re.compile(_REPO + r"/pulls/(?P<number>\d+)"), FakeGitHub._get_pull),
    ("GET", re.compile(_REPO + r"/pulls/(?P<number>\d+)/comments"), FakeGitHub._list_review_comments),
    ("POST", re.compile(_REPO + r"/pulls/(?P<number>\d+)/comments"), FakeGitHub._create_review_comment),
    ("GET", re.compile(_REPO + r"/pulls/(?P<number>\d+)/reviews"), FakeGitHub._list_reviews),
    ("POST", re.compile(_REPO + r"/pulls/(?P<number>\d+)/reviews"), FakeGitHub._create_review),
    ("GET", re.compile(_REPO + r"/issues/(?P<number>\d+)/comments"), FakeGitHub._list_issue_comments),
    ("POST", re.compile(_REPO + r"/issues/(?P<number>\d+)/comments"), FakeGitHub._post_issue_comment),
    ("PATCH", re.compile(_REPO + r"/issues/comments/(?P<comment>\d+)"), FakeGitHub._patch_issue_comment),
]


def _line_problem(pull: FakePullRequest, comment: Mapping[str, Any]) -> tuple[str, str] | None:
    """Return the field GitHub would reject and why, or None when the comment's position is valid.

    A create-review call reports it as "Pull request review thread <field> <reason>", a single
    comment as "pull_request_review_thread.<field> <reason>", as GitHub's own 422 bodies do.
    """
    path = str(comment.get("path") or "")
    line = comment.get("line")
    if path not in pull.hunks:
        return "path", "could not be resolved"
    # The fake models head-side lines only, so a LEFT comment is never on a diff line here.
    if comment.get("side", "RIGHT") != "RIGHT":
        return "line", "must be part of the diff"
    if not isinstance(line, int) or pull.hunk_of(path, line) is None:
        return "line", "must be part of the diff"

    start_line = comment.get("start_line")
    if start_line is None:
        return None
    if not isinstance(start_line, int) or start_line >= line or comment.get("start_side", "RIGHT") != "RIGHT":
        return "start_line", "must precede the end line."
    if pull.hunk_of(path, start_line) != pull.hunk_of(path, line):
        return "start_line", "must be part of the same hunk as the line."
    return None


def _user(caller: _Caller) -> dict[str, str]:
    return {"login": caller.login, "type": "User" if caller.kind == "token" else "Bot"}


def _error(message: str, status: int, errors: list[Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message, "documentation_url": DOCS_URL, "status": str(status)}
    if errors is not None:
        body["errors"] = errors
    return body


def _validation_failed(field_name: str, message: str) -> dict[str, Any]:
    error = {"resource": "PullRequestReviewComment", "code": "custom", "field": field_name, "message": message}
    return _error("Validation Failed", 422, [error])


def _parse_json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return None


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], fake: FakeGitHub) -> None:
        super().__init__(address, handler)
        self.fake = fake


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body leave in separate writes; with Nagle's algorithm on, a keep-alive client
    # waits for the delayed ACK (about 40 ms on Linux) before it sees each body.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        reply = self.server.fake.handle(self.command, self.path, headers, raw)

        body = json.dumps(reply.body).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # Quiet: tests assert on the recorded requests instead of the access log.
        return
