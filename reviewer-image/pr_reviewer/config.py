"""Build :class:`ReviewSettings` from command-line options or from the Job container's environment.

Secrets are read only from the environment (or ``*_FILE`` paths), never from options, so they
do not show up in ``ps`` output, shell history or a Job's ``args``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import NoReturn

from pr_reviewer.errors import EXIT_PERMANENT, PermanentError
from pr_reviewer.model import Severity
from pr_reviewer.settings import (
    BUILTIN_ANALYZERS,
    DEFAULT_SKIP_GLOBS,
    FILTER_MODES,
    LANGUAGES,
    OUTPUT_FORMATS,
    GitHubSettings,
    LLMSettings,
    ReviewSettings,
    env_secret,
)

ENV_PREFIX = "PR_REVIEW_"
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


class ReviewArgumentParser(argparse.ArgumentParser):
    """An argument parser whose usage errors exit with the documented permanent-failure code."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_PERMANENT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = ReviewArgumentParser(
        prog="pr-review",
        description="Review the change between two refs of a git repository and print or post the review.",
        epilog="Secrets come from the environment only: GITHUB_TOKEN, or GITHUB_APP_ID with GITHUB_APP_PRIVATE_KEY "
        "(or GITHUB_APP_PRIVATE_KEY_FILE); PR_REVIEW_LLM_API_KEY; PR_REVIEW_GIT_TOKEN for a private clone URL. "
        "Exit codes: 0 success, 64 permanent failure, 75 transient failure, 1 internal error.",
    )
    parser.add_argument("--repo", required=True, help="local path or clone URL of the repository")
    parser.add_argument("--base", required=True, help="base ref or SHA, for example main or HEAD~1")
    parser.add_argument("--head", required=True, help="head ref or SHA, for example a branch name or HEAD")

    parser.add_argument("--format", dest="output_format", choices=OUTPUT_FORMATS, default="md",
                        help="md prints the Markdown summary; json prints one JSON document (default: md)")
    parser.add_argument("--post", choices=("github", "dry-run"), default=None,
                        help="github posts the review to the PR; dry-run prints what would be posted")
    parser.add_argument("--dry-run", action="store_true", help="same as --post dry-run")

    parser.add_argument("--repository", default="", help="GitHub owner/name, needed to post")
    parser.add_argument("--pr", dest="pr_number", type=int, default=None,
                        help="PR number: fetch refs/pull/N/head and post to this PR")
    parser.add_argument("--expected-head-sha", default="", help="fail unless the fetched head is this SHA")

    parser.add_argument("--language", choices=LANGUAGES, default="en", help="review language (default: en)")
    parser.add_argument("--top-n", type=int, default=50,
                        help="review at most this many files, riskiest first (default: 50)")
    parser.add_argument("--batch-size", type=int, default=5, help="hunks per LLM request (default: 5)")
    parser.add_argument("--filter-mode", choices=FILTER_MODES, default="added",
                        help="which findings survive: on added lines, anywhere in the diff hunks, or in the file "
                        "(default: added)")
    parser.add_argument("--min-severity", default="low",
                        help="drop findings below this: info|low|medium|high|critical (default: low)")
    parser.add_argument("--analyzers", default=",".join(BUILTIN_ANALYZERS),
                        help="comma-separated built-in analyzers to run; the LLM runs when an endpoint is set "
                        "(default: secrets,ruff,bandit,shellcheck)")
    parser.add_argument("--skip-glob", action="append", default=None,
                        help="path glob to skip; repeat it; replaces the default lock/vendor/generated list")

    parser.add_argument("--github-api-url", default="https://api.github.com",
                        help="GitHub API base URL; for GitHub Enterprise https://HOST/api/v3")
    parser.add_argument("--installation-id", type=int, default=None, help="GitHub App installation id")
    parser.add_argument("--llm-base-url", default="", help="OpenAI-compatible endpoint, for example http://127.0.0.1:11434/v1")
    parser.add_argument("--llm-model", default="", help="model name at the LLM endpoint")

    parser.add_argument("--workdir", default="", help="folder for the temporary work tree (default: system temp)")
    parser.add_argument("--log-level", default="INFO", help="logging level on standard error (default: INFO)")
    return parser


def settings_from_args(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> ReviewSettings:
    env = dict(os.environ if environ is None else environ)
    post = args.post == "github"
    settings = ReviewSettings(
        repo=args.repo,
        base=args.base,
        head=args.head,
        repository=args.repository,
        pr_number=args.pr_number,
        expected_head_sha=args.expected_head_sha,
        git_token=env_secret("PR_REVIEW_GIT_TOKEN", env),
        language=args.language,
        top_n=args.top_n,
        batch_size=args.batch_size,
        filter_mode=args.filter_mode,
        min_severity=_severity(args.min_severity),
        analyzers=_names(args.analyzers),
        skip_globs=tuple(args.skip_glob) if args.skip_glob is not None else DEFAULT_SKIP_GLOBS,
        output_format=args.output_format,
        post=post or args.dry_run or args.post == "dry-run",
        dry_run=args.dry_run or args.post == "dry-run",
        workdir=args.workdir,
        llm=_llm(args.llm_base_url, args.llm_model, env),
        github=_github(args.github_api_url, args.installation_id, env),
    )
    settings.validate()
    return settings


def settings_from_env(environ: Mapping[str, str] | None = None) -> ReviewSettings:
    """Read the Job container's settings; the variable names are listed in the README."""
    env = dict(os.environ if environ is None else environ)
    repository = _required(env, "REPOSITORY")
    head_sha = _required(env, "HEAD_SHA")
    clone_url = env.get(f"{ENV_PREFIX}CLONE_URL") or f"https://github.com/{repository}.git"
    base = env.get(f"{ENV_PREFIX}BASE_SHA") or _required(env, "BASE_REF")
    installation = _int(env, "INSTALLATION_ID", None)
    dry_run = _bool(env, "DRY_RUN", default=False)

    settings = ReviewSettings(
        repo=clone_url,
        base=base,
        head=head_sha,
        repository=repository,
        pr_number=_int(env, "PR_NUMBER", None),
        expected_head_sha=head_sha,
        git_token=env_secret("PR_REVIEW_GIT_TOKEN", env),
        language=env.get(f"{ENV_PREFIX}LANGUAGE", "en"),
        top_n=_int_or(env, "TOP_N", 50),
        batch_size=_int_or(env, "BATCH_SIZE", 5),
        filter_mode=env.get(f"{ENV_PREFIX}FILTER_MODE", "added"),
        min_severity=_severity(env.get(f"{ENV_PREFIX}MIN_SEVERITY", "low")),
        analyzers=_names(env.get(f"{ENV_PREFIX}ANALYZERS", ",".join(BUILTIN_ANALYZERS))),
        output_format="json",
        post=True,
        dry_run=dry_run,
        workdir=env.get(f"{ENV_PREFIX}WORKDIR", ""),
        llm=_llm(env.get(f"{ENV_PREFIX}LLM_BASE_URL", ""), env.get(f"{ENV_PREFIX}LLM_MODEL", ""), env),
        github=_github(env.get(f"{ENV_PREFIX}GITHUB_API_URL", "https://api.github.com"), installation, env),
    )
    if settings.pr_number is None:
        raise PermanentError(f"missing {ENV_PREFIX}PR_NUMBER: the Job must name the pull request")
    settings.validate()
    return settings


def _llm(base_url: str, model: str, env: Mapping[str, str]) -> LLMSettings:
    return LLMSettings(base_url=base_url, model=model, api_key=env_secret("PR_REVIEW_LLM_API_KEY", dict(env)))


def _github(api_url: str, installation_id: int | None, env: Mapping[str, str]) -> GitHubSettings:
    return GitHubSettings(
        api_url=api_url.rstrip("/"),
        token=env_secret("GITHUB_TOKEN", dict(env)),
        app_id=env.get("GITHUB_APP_ID", "").strip(),
        app_private_key=env_secret("GITHUB_APP_PRIVATE_KEY", dict(env)),
        installation_id=installation_id,
    )


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(f"{ENV_PREFIX}{name}", "").strip()
    if not value:
        raise PermanentError(f"missing {ENV_PREFIX}{name}: the Job must set it")
    return value


def _int(env: Mapping[str, str], name: str, default: int | None) -> int | None:
    raw = env.get(f"{ENV_PREFIX}{name}", "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise PermanentError(f"invalid {ENV_PREFIX}{name}={raw!r}: expected a whole number") from None


def _int_or(env: Mapping[str, str], name: str, default: int) -> int:
    value = _int(env, name, default)
    return default if value is None else value


def _bool(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = env.get(f"{ENV_PREFIX}{name}", "").strip().lower()
    if not raw:
        return default
    if raw in TRUE_WORDS:
        return True
    if raw in FALSE_WORDS:
        return False
    # A typo must not turn a dry run into real posting.
    raise PermanentError(f"invalid {ENV_PREFIX}{name}={raw!r}: expected true or false")


def _severity(text: str) -> Severity:
    try:
        return Severity.parse(text)
    except ValueError as error:
        raise PermanentError(str(error)) from None


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())
