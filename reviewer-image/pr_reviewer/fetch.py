"""Fetch the change under review into a fresh work tree, checked out (detached) at head.

A local repository is cloned with ``--shared --no-checkout``: the clone borrows the source's
objects through ``objects/info/alternates``, so nothing is copied and the source is only read.
A URL is fetched into an empty repository, only the two refs needed, as a blobless partial clone
(``--filter=blob:none``). Git then loads the blobs of head at checkout and those of the changed
files at diff time.

A token reaches git only through ``GIT_CONFIG_*`` environment variables as an HTTP header scoped
to the repository's host. It never appears on a command line or in the remote URL that
``.git/config`` stores, and git output is masked for it before going into a log line or an exception.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
import os
import re
import shutil
import tempfile
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pr_reviewer.diff import blob_loading_arguments
from pr_reviewer.errors import PermanentError, TransientError
from pr_reviewer.gitrun import GitOutput, run_git
from pr_reviewer.settings import ReviewSettings, Secret

logger = logging.getLogger(__name__)

# NOTE: fixed limits, not settings: a fetch that takes longer than this is treated as a network failure.
FETCH_TIMEOUT_SECONDS = 900.0
# curl aborts a transfer slower than 1 KB/s for 60 s, so a stalled server fails long before the timeout.
_LOW_SPEED_OPTIONS = ("-c", "http.lowSpeedLimit=1000", "-c", "http.lowSpeedTime=60")

BASE_REF = "refs/review/base"
HEAD_REF = "refs/review/head"
# GitHub reads the token from the password and takes x-access-token as the user for App installation tokens.
DEFAULT_AUTH_USER = "x-access-token"

_FULL_SHA = re.compile(r"^[0-9a-fA-F]{40}$")
# A ref such as "main~2" or "HEAD^": a name git can fetch, then ancestry it resolves locally.
_ANCESTRY_SUFFIX = re.compile(r"^(?P<name>.*?)(?P<suffix>(?:[~^][0-9]*)*)$")
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_SCP_LIKE = re.compile(r"^[^/@:\s]+@[^/:\s]+:")

# git's stderr for a missing ref names it: "couldn't find remote ref main", "not our ref <sha>".
_REF_MISSING = re.compile(r"(?:couldn't find remote ref|not our ref|unadvertised object) (\S+)", re.IGNORECASE)
# Substrings of git's stderr, lowercased: a repository that is not there or credentials it rejects.
_REPOSITORY_MISSING = (
    "repository not found",
    "' not found",
    "does not appear to be a git repository",
    "returned error: 404",
)
_AUTH_REJECTED = (
    "authentication failed",
    "could not read username",
    "could not read password",
    "permission denied",
    "error: 401",
    "error: 403",
    "invalid username or password",
)


@dataclass
class FetchedChange:
    """A work tree checked out (detached) at head; the review owns it and removes it afterwards."""

    workdir: Path
    base_sha: str  # the merge base of base and head, which GitHub's "files changed" diff is against
    head_sha: str


class HeadMovedError(PermanentError):
    """The fetched head differs from the expected SHA: the PR was updated after the review was queued."""


@dataclass(frozen=True)
class _Source:
    """The repository to fetch from (a local path or a URL without credentials) and the token to send with it."""

    location: str
    is_url: bool
    token: Secret
    token_user: str
    label: str = ""  # the location for logs and messages, with any secret text masked


    @property
    def is_http(self) -> bool:
        return self.location.startswith(("https://", "http://"))


@dataclass(frozen=True)
class _Side:
    """One side of the change as the user named it (``main~1``) and the ref git can fetch (``main``)."""

    label: str  # "base" or "head"
    ref: str
    fetch_name: str
    suffix: str


def fetch_change(settings: ReviewSettings, token: Secret | None = None) -> FetchedChange:
    """Fetch base and head of ``settings.repo`` into a new work tree and check out head (detached).

    Raises PermanentError for a path that is not a repository, a ref that does not exist, a
    repository that is not found or rejects the credentials, and HeadMovedError (a PermanentError)
    when head differs from ``settings.expected_head_sha``. Raises TransientError for network failures.
    The work tree is removed again before any error is raised.
    """
    source = _parse_source(settings.repo, token or settings.git_token or None)
    secrets = _secret_texts(source, settings.repo)
    source = dataclasses.replace(source, label=_redact(source.location, secrets))
    base, head = _sides(settings)
    workdir = _create_workdir(settings)
    logger.info(
        "Fetching base %s and head %s of %s from %s into %s",
        base.ref, head.ref, _review_name(settings, source), source.label, workdir,
    )  # fmt: skip

    try:
        environment = _git_environment(source)
        if source.is_url:
            base_commit, head_commit = _fetch_remote(source, base, head, workdir, environment, secrets)
        else:
            base_commit, head_commit = _clone_local(source, base, head, workdir, environment)
        _check_expected_head(settings, head_commit)
        merge_base = _merge_base(workdir, base_commit, head_commit, environment)
        _check_out(workdir, head_commit, environment, secrets)
        if source.is_url:
            _load_diff_blobs(workdir, merge_base, head_commit, environment, secrets)
    except BaseException:
        remove_workdir(workdir)
        raise

    logger.info(
        "Checked out %s at head %s (base %s, merge base %s) in %s",
        _review_name(settings, source), head_commit[:12], base_commit[:12], merge_base[:12], workdir,
    )  # fmt: skip
    return FetchedChange(workdir=workdir, base_sha=merge_base, head_sha=head_commit)


def remove_workdir(path: Path) -> None:
    """Delete a work tree created by :func:`fetch_change`; log a warning instead of raising when that fails."""
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        return
    except OSError as error:
        logger.warning("Could not remove the work tree %s: %s", path, error)
        return
    logger.debug("Removed the work tree %s", path)


def url_without_credentials(url: str) -> str:
    """Return ``url`` without its ``user:password@`` part. An ssh user name stays, and a path is returned as is."""
    return _split_credentials(url)[0]


# --- source and refs ---------------------------------------------------------------------------


def _parse_source(repo: str, token: Secret | None) -> _Source:
    if not (_URL_SCHEME.match(repo) or _SCP_LIKE.match(repo)):
        return _Source(repo, is_url=False, token=token or Secret(""), token_user=DEFAULT_AUTH_USER)

    location, user, password = _split_credentials(repo)
    # GitHub also accepts a token as the only userinfo part (https://TOKEN@github.com/o/r.git).
    url_token = password or (user if location.startswith(("https://", "http://")) else "")
    token_user = user if password else DEFAULT_AUTH_USER
    chosen = token or Secret(url_token)
    return _Source(location, is_url=True, token=chosen, token_user=token_user or DEFAULT_AUTH_USER)


def _split_credentials(url: str) -> tuple[str, str, str]:
    """Split ``scheme://user:password@host/path`` into the URL without userinfo, the user and the password.

    An ssh user (``ssh://git@host/...``) is kept in the URL because ssh needs it and it is not secret.
    """
    if not _URL_SCHEME.match(url):
        return url, "", ""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url, "", ""

    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    user, password = urllib.parse.unquote(user), urllib.parse.unquote(password)
    if parts.scheme in ("ssh", "git+ssh", "ssh+git"):
        hostport = f"{userinfo.partition(':')[0]}@{hostport}"
        user = ""
    return urllib.parse.urlunsplit(parts._replace(netloc=hostport)), user, password


def _sides(settings: ReviewSettings) -> tuple[_Side, _Side]:
    base = _side("base", settings.base)
    if settings.pr_number is not None:
        pull_ref = f"refs/pull/{settings.pr_number}/head"
        return base, _Side("head", pull_ref, pull_ref, "")
    return base, _side("head", settings.head)


def _side(label: str, ref: str) -> _Side:
    # A ref that could be read as an option, or that contains ":" or whitespace, could change the
    # meaning of a refspec or command line. git rejects such names as branch names anyway.
    if not ref or ref.startswith("-") or re.search(r"[\s:\x00-\x1f\x7f]", ref):
        raise PermanentError(f"invalid {label} ref {ref!r}: give a branch, tag or commit SHA")
    match = _ANCESTRY_SUFFIX.match(ref)
    assert match is not None  # the pattern matches every string
    name, suffix = match["name"], match["suffix"]
    return _Side(label, ref, name or "HEAD", suffix)


def _review_name(settings: ReviewSettings, source: _Source) -> str:
    """Name the review in logs without credentials: ``owner/repo#7``, else the repository's location."""
    if settings.repository and settings.pr_number is not None:
        return f"{settings.repository}#{settings.pr_number}"
    return settings.repository or source.label


# --- environment and secrets --------------------------------------------------------------------


def _git_environment(source: _Source) -> dict[str, str]:
    """Build the environment for every git command of a fetch: no prompts, no hooks, and the token if any."""
    environment = {"GIT_TERMINAL_PROMPT": "0", "GIT_LFS_SKIP_SMUDGE": "1", "GCM_INTERACTIVE": "never"}
    if "GIT_SSH_COMMAND" not in os.environ:
        environment["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes"

    # Hooks in a user's template directory would run on checkout of untrusted code.
    config = [("core.hooksPath", os.devnull)]
    if source.token and source.is_http:
        credentials = f"{source.token_user}:{source.token.reveal()}".encode()
        header = f"Authorization: Basic {base64.b64encode(credentials).decode('ascii')}"
        config.append((f"http.{_origin(source.location)}/.extraHeader", header))

    # Entries go after any the caller's environment already defines, which git would otherwise drop.
    offset = int(os.environ.get("GIT_CONFIG_COUNT", "0") or 0)
    for number, (key, value) in enumerate(config, start=offset):
        environment[f"GIT_CONFIG_KEY_{number}"] = key
        environment[f"GIT_CONFIG_VALUE_{number}"] = value
    environment["GIT_CONFIG_COUNT"] = str(offset + len(config))
    return environment


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _secret_texts(source: _Source, original_repo: str) -> list[str]:
    """List every form in which the token could show up in git output: plain, URL-encoded, in a header."""
    texts: list[str] = []
    token = source.token.reveal()
    if token:
        texts += [token, urllib.parse.quote(token, safe="")]
        credentials = f"{source.token_user}:{token}".encode()
        texts.append(base64.b64encode(credentials).decode("ascii"))
    _, user, password = _split_credentials(original_repo)
    texts += [text for text in (password, user if not password else "") if text]
    return sorted({text for text in texts if len(text) >= 4}, key=len, reverse=True)


def _redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


# --- fetching ----------------------------------------------------------------------------------


def _create_workdir(settings: ReviewSettings) -> Path:
    parent = Path(settings.workdir) if settings.workdir else None
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="review-", dir=parent))


def _clone_local(
    source: _Source, base: _Side, head: _Side, workdir: Path, environment: dict[str, str]
) -> tuple[str, str]:
    """Resolve both refs in the user's repository, then clone it sharing its objects, without a checkout."""
    # NOTE: the clone reads the source's object store while the review runs, so a `git gc --prune=now`
    # in the source at the same time could remove objects the review still needs.
    path = Path(source.location).expanduser().resolve()
    if not path.is_dir():
        raise PermanentError(f"not a git repository: {source.label}")
    # The ceiling stops git from finding a repository in a parent folder of the given path.
    probe_environment = {**environment, "GIT_CEILING_DIRECTORIES": str(path.parent)}
    probe = run_git(path, ["rev-parse", "--git-dir"], env=probe_environment)
    if not probe.ok:
        raise PermanentError(f"not a git repository: {source.label}")

    base_commit = _resolve(path, base, base.fetch_name, environment, source.label)
    head_commit = _resolve(path, head, head.fetch_name, environment, source.label)

    arguments = ["clone", "--quiet", "--shared", "--no-checkout", "--", str(path), str(workdir)]
    cloned = run_git(workdir.parent, arguments, env=environment)
    if not cloned.ok:
        raise PermanentError(f"cloning {source.label} failed: {cloned.error_line}")
    return base_commit, head_commit


def _fetch_remote(
    source: _Source, base: _Side, head: _Side, workdir: Path, environment: dict[str, str], secrets: list[str]
) -> tuple[str, str]:
    """Fetch only the two refs into an empty repository whose stored remote URL carries no credentials."""
    _git_or_fail(workdir, ["-c", "init.defaultBranch=review", "init", "--quiet"], environment, secrets, "git init")
    _git_or_fail(workdir, ["config", "remote.origin.url", source.location], environment, secrets, "git config")

    refspecs = [f"+{_fetchable(side)}:{destination}" for side, destination in ((base, BASE_REF), (head, HEAD_REF))]
    arguments = [
        *_LOW_SPEED_OPTIONS, "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--no-recurse-submodules",
        "--filter=blob:none", "origin", *refspecs,
    ]  # fmt: skip
    fetched = run_git(workdir, arguments, env=environment, timeout_seconds=FETCH_TIMEOUT_SECONDS)
    if not fetched.ok:
        raise _fetch_error(fetched, source, (base, head), secrets)

    base_commit = _resolve(workdir, base, BASE_REF, environment, source.label)
    head_commit = _resolve(workdir, head, HEAD_REF, environment, source.label)
    return base_commit, head_commit


def _fetchable(side: _Side) -> str:
    return side.fetch_name.lower() if _FULL_SHA.match(side.fetch_name) else side.fetch_name


def _resolve(repository: Path, side: _Side, ref: str, environment: dict[str, str], location: str) -> str:
    """Return the commit SHA of ``ref`` plus the side's ancestry suffix, or raise that the side's ref is missing."""
    arguments = ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}{side.suffix}^{{commit}}"]
    resolved = run_git(repository, arguments, env=environment)
    if not resolved.ok or not resolved.text:
        raise PermanentError(f"ref not found: {side.ref} ({side.label}) in {location}")
    return resolved.text.strip()


def _fetch_error(output: GitOutput, source: _Source, sides: tuple[_Side, _Side], secrets: list[str]) -> Exception:
    """Classify a failed fetch from git's stderr: a missing ref or repository, rejected credentials, or the network."""
    stderr = _redact(output.stderr, secrets)
    lowered = stderr.lower()
    detail = _redact(output.error_line, secrets)

    missing_ref = _REF_MISSING.search(stderr)
    if missing_ref is not None:
        name = missing_ref[1].lower()
        side = next((side for side in sides if _fetchable(side).lower() == name), sides[1])
        return PermanentError(f"ref not found: {side.ref} ({side.label}) in {source.label}")
    if any(marker in lowered for marker in _AUTH_REJECTED):
        hint = "check the token's access to the repository" if source.token else "give a token"
        return PermanentError(f"authentication required or rejected by {source.label}: {detail} ({hint})")
    if any(marker in lowered for marker in _REPOSITORY_MISSING):
        return PermanentError(f"repository not found: {source.label}: {detail}")
    # Everything else (connection refused, DNS, TLS, timeouts, 5xx, a hung-up remote) may pass.
    return TransientError(f"fetching {source.label} failed: {detail}")


def _git_or_fail(
    workdir: Path, arguments: list[str], environment: dict[str, str], secrets: list[str], action: str
) -> GitOutput:
    output = run_git(workdir, arguments, env=environment)
    if not output.ok:
        raise PermanentError(f"{action} failed in {workdir}: {_redact(output.error_line, secrets)}")
    return output


# --- after fetching -----------------------------------------------------------------------------


def _check_expected_head(settings: ReviewSettings, head_commit: str) -> None:
    expected = settings.expected_head_sha.strip().lower()
    if expected and not head_commit.startswith(expected):
        raise HeadMovedError(
            f"head moved: expected {expected[:12]}, fetched {head_commit[:12]} (the PR was updated after the review "
            "was requested)"
        )


def _merge_base(workdir: Path, base_commit: str, head_commit: str, environment: dict[str, str]) -> str:
    output = run_git(workdir, ["merge-base", base_commit, head_commit], env=environment)
    if output.status == 1 and not output.text:
        raise PermanentError(f"no common ancestor: base {base_commit[:12]} and head {head_commit[:12]} are unrelated")
    if not output.ok:
        raise PermanentError(f"git merge-base {base_commit[:12]} {head_commit[:12]} failed: {output.error_line}")
    return output.text.strip()


def _check_out(workdir: Path, head_commit: str, environment: dict[str, str], secrets: list[str]) -> None:
    arguments = [*_LOW_SPEED_OPTIONS, "checkout", "--quiet", "--detach", head_commit, "--"]
    output = run_git(workdir, arguments, env=environment, timeout_seconds=FETCH_TIMEOUT_SECONDS)
    if not output.ok:
        # In a partial clone, checkout downloads blobs, so it fails like a fetch does.
        raise TransientError(f"checking out {head_commit[:12]} failed: {_redact(output.error_line, secrets)}")


def _load_diff_blobs(
    workdir: Path, base_commit: str, head_commit: str, environment: dict[str, str], secrets: list[str]
) -> None:
    """Diff every changed file once here, with credentials, so git downloads the base-side blobs the review reads.

    The diff step later runs without the token and then finds every blob already present.
    """
    arguments = [*_LOW_SPEED_OPTIONS, *blob_loading_arguments(base_commit, head_commit)]
    output = run_git(workdir, arguments, env=environment, timeout_seconds=FETCH_TIMEOUT_SECONDS)
    if not output.ok:
        raise TransientError(f"loading the changed files failed: {_redact(output.error_line, secrets)}")
