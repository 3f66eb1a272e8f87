"""Review settings: one dataclass filled from command-line options or from the Job's environment.

Secrets (GitHub token, App private key, LLM API key) are wrapped in :class:`Secret`, whose
``repr`` and ``str`` never show the value, so a logged or printed settings object is safe.
"""

from __future__ import annotations

import os
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from pr_reviewer.errors import PermanentError
from pr_reviewer.model import Severity

DEFAULT_SKIP_GLOBS: tuple[str, ...] = (
    # lock files
    "*.lock", "package-lock.json", "pnpm-lock.yaml", "yarn.lock", "poetry.lock", "Cargo.lock",
    "go.sum", "composer.lock", "Gemfile.lock", "Pipfile.lock", "uv.lock",
    # vendored and third-party code
    "vendor/*", "*/vendor/*", "third_party/*", "*/third_party/*", "node_modules/*", "*/node_modules/*",
    # generated files
    "*.min.js", "*.min.css", "*.map", "*_pb2.py", "*_pb2_grpc.py", "*.pb.go", "*.generated.*",
    "dist/*", "build/*",
)

FILTER_MODES = ("added", "diff_context", "file")
LANGUAGES = ("en", "zh-CN")
BUILTIN_ANALYZERS = ("secrets", "ruff", "bandit", "shellcheck")
OUTPUT_FORMATS = ("md", "json")


class Secret:
    """A string that must not leak: its ``repr`` and ``str`` are masked; read it with ``reveal()``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__


@dataclass
class LLMSettings:
    """An OpenAI-compatible chat endpoint; the analyzer is off while ``base_url`` is empty."""

    base_url: str = ""
    model: str = ""
    api_key: Secret = field(default_factory=lambda: Secret(""))
    timeout_seconds: float = 60.0
    max_retries: int = 1

    @property
    def enabled(self) -> bool:
        return bool(self.base_url and self.model)


@dataclass
class GitHubSettings:
    """The GitHub endpoint and credentials to publish with. Either ``token`` or the App triple must be set to post."""

    api_url: str = "https://api.github.com"
    token: Secret = field(default_factory=lambda: Secret(""))
    app_id: str = ""
    app_private_key: Secret = field(default_factory=lambda: Secret(""))
    installation_id: int | None = None
    max_inline_comments: int = 30
    max_retries: int = 3
    timeout_seconds: float = 20.0

    @property
    def uses_app(self) -> bool:
        return bool(self.app_id and self.app_private_key)


@dataclass
class ReviewSettings:
    """Everything one review needs. ``repo`` is a local path or a clone URL."""

    repo: str
    base: str
    head: str
    repository: str = ""  # owner/name on GitHub, needed to publish
    pr_number: int | None = None
    expected_head_sha: str = ""
    git_token: Secret = field(default_factory=lambda: Secret(""))
    language: str = "en"
    top_n: int = 50
    batch_size: int = 5
    filter_mode: str = "added"
    min_severity: Severity = Severity.LOW
    max_findings_per_file: int = 10
    max_findings_total: int = 50
    max_file_bytes: int = 1_000_000
    max_hunk_lines: int = 400
    skip_globs: tuple[str, ...] = DEFAULT_SKIP_GLOBS
    analyzers: tuple[str, ...] = BUILTIN_ANALYZERS
    analyzer_timeout_seconds: float = 300.0
    output_format: str = "md"
    post: bool = False
    dry_run: bool = False
    workdir: str = ""
    llm: LLMSettings = field(default_factory=LLMSettings)
    github: GitHubSettings = field(default_factory=GitHubSettings)

    @property
    def subject(self) -> str:
        """Name of the review in logs: ``owner/repo#7`` for a PR, else the repository and its refs."""
        if self.repository and self.pr_number is not None:
            return f"{self.repository}#{self.pr_number}"
        return f"{_without_userinfo(self.repo)} {self.base}..{self.head}"

    def validate(self) -> None:
        """Raise :class:`PermanentError` naming the first invalid setting."""
        if not self.repo:
            raise PermanentError("missing repository: give a local path or a clone URL")
        if not self.base or not self.head:
            raise PermanentError("missing base or head ref: give both, for example BASE=main HEAD=feature")
        if self.language not in LANGUAGES:
            raise PermanentError(f"invalid language {self.language!r}: expected one of {', '.join(LANGUAGES)}")
        if self.filter_mode not in FILTER_MODES:
            raise PermanentError(f"invalid filter mode {self.filter_mode!r}: expected one of {', '.join(FILTER_MODES)}")
        if self.output_format not in OUTPUT_FORMATS:
            raise PermanentError(f"invalid format {self.output_format!r}: expected one of {', '.join(OUTPUT_FORMATS)}")
        if self.top_n < 1 or self.batch_size < 1:
            raise PermanentError(f"invalid top_n={self.top_n} or batch_size={self.batch_size}: both must be at least 1")
        unknown = sorted(set(self.analyzers) - set(BUILTIN_ANALYZERS) - {"llm"})
        if unknown:
            known = ", ".join((*BUILTIN_ANALYZERS, "llm"))
            raise PermanentError(f"unknown analyzer {unknown[0]!r}: expected some of {known}")
        if self.pr_number is not None and self.pr_number < 1:
            raise PermanentError(f"invalid PR number {self.pr_number}: it must be at least 1")
        self._validate_workdir()
        self._validate_api_url()
        if self.post and not self.dry_run:
            self._validate_publishing()

    def _validate_workdir(self) -> None:
        if not self.workdir:
            return
        # Git runs in other folders during the review, so a relative path would point elsewhere there.
        self.workdir = str(Path(self.workdir).resolve())
        if Path(self.workdir).exists() and not Path(self.workdir).is_dir():
            raise PermanentError(f"invalid workdir {self.workdir!r}: it exists and is not a folder")

    def _validate_api_url(self) -> None:
        parts = urllib.parse.urlsplit(self.github.api_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PermanentError(
                f"invalid GitHub API URL {self.github.api_url!r}: expected https://api.github.com "
                "or https://HOST/api/v3 for GitHub Enterprise"
            )

    def _validate_publishing(self) -> None:
        if not self.repository or self.pr_number is None:
            raise PermanentError("posting needs the GitHub repository (owner/name) and the PR number")
        if not self.github.token and not self.github.uses_app:
            raise PermanentError("posting needs GITHUB_TOKEN, or GITHUB_APP_ID with GITHUB_APP_PRIVATE_KEY")
        if self.github.uses_app and self.github.installation_id is None:
            raise PermanentError("GitHub App auth needs the installation id")


def _without_userinfo(repo: str) -> str:
    """Drop ``user:token@`` from a clone URL, so a token given in the URL stays out of log lines."""
    parts = urllib.parse.urlsplit(repo)
    if not parts.scheme or "@" not in parts.netloc:
        return repo
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def env_secret(name: str, environ: dict[str, str] | None = None) -> Secret:
    """Read a secret from ``NAME`` or from the file named by ``NAME_FILE`` (a mounted Secret)."""
    environ = dict(os.environ) if environ is None else environ
    path = environ.get(f"{name}_FILE", "")
    if path:
        try:
            with open(path, encoding="utf-8") as handle:
                return Secret(handle.read().strip())
        except OSError as error:
            raise PermanentError(f"cannot read {name}_FILE {path!r}: {error.strerror}") from None
    return Secret(environ.get(name, ""))
