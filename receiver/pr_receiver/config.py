"""Receiver settings, read once from the environment at start."""

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from prreview_api import ACTIONS

logger = logging.getLogger(__name__)

DEFAULT_REVIEW_ACTIONS = ("opened", "synchronize", "reopened", "ready_for_review")
DEFAULT_MAX_BODY_BYTES = 25 * 1024 * 1024  # GitHub caps webhook payloads at 25 MiB
DEFAULT_KUBE_API_TIMEOUT_SECONDS = 3.0  # well inside the 10 s GitHub waits for a response
DEFAULT_MAX_ACTIVE_REVIEWS = 3
SERVICE_ACCOUNT_NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")

_REPOSITORY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


class ConfigError(ValueError):
    """An environment variable is missing or invalid; the message names it and the fix."""


@dataclass(frozen=True)
class ReceiverConfig:
    """Validated receiver settings. ``webhook_secret`` is kept out of ``repr``."""

    webhook_secret: bytes | None = field(repr=False)
    skip_signature: bool = False
    namespace: str = "default"
    allowed_repositories: frozenset[str] = frozenset()  # lowercased owner/name; empty allows all
    review_actions: frozenset[str] = frozenset(DEFAULT_REVIEW_ACTIONS)
    review_drafts: bool = False
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    kube_api_timeout_seconds: float = DEFAULT_KUBE_API_TIMEOUT_SECONDS
    max_active_reviews: int = DEFAULT_MAX_ACTIVE_REVIEWS

    def repository_is_allowed(self, repository: str) -> bool:
        return not self.allowed_repositories or repository.lower() in self.allowed_repositories


def load_config(environ: Mapping[str, str] | None = None) -> ReceiverConfig:
    """Read and validate the receiver settings from ``environ`` (default: ``os.environ``).

    Raises ``ConfigError`` when ``WEBHOOK_SECRET`` is missing without
    ``RECEIVER_INSECURE_SKIP_SIGNATURE=true``, or when any value is invalid.
    """
    env = os.environ if environ is None else environ

    skip_signature = _flag(env, "RECEIVER_INSECURE_SKIP_SIGNATURE")
    secret = env.get("WEBHOOK_SECRET", "")
    if not secret and not skip_signature:
        raise ConfigError(
            "WEBHOOK_SECRET is not set: set it to the secret configured on the GitHub webhook "
            "(or set RECEIVER_INSECURE_SKIP_SIGNATURE=true to accept unsigned deliveries, for local tests only)"
        )

    return ReceiverConfig(
        webhook_secret=secret.encode("utf-8") if secret else None,
        skip_signature=skip_signature,
        namespace=_namespace(env),
        allowed_repositories=_repositories(env),
        review_actions=_actions(env),
        review_drafts=_flag(env, "REVIEW_DRAFTS"),
        max_body_bytes=_positive_int(env, "MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
        kube_api_timeout_seconds=_positive_float(env, "KUBE_API_TIMEOUT_SECONDS", DEFAULT_KUBE_API_TIMEOUT_SECONDS),
        max_active_reviews=_positive_int(env, "MAX_ACTIVE_REVIEWS", DEFAULT_MAX_ACTIVE_REVIEWS),
    )


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={env[name]!r} is invalid: use true or false")


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is invalid: use a positive integer") from None
    if value < 1:
        raise ConfigError(f"{name}={raw!r} is invalid: use a positive integer")
    return value


def _positive_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is invalid: use a positive number of seconds") from None
    if not value > 0:
        raise ConfigError(f"{name}={raw!r} is invalid: use a positive number of seconds")
    return value


def _comma_list(env: Mapping[str, str], name: str) -> list[str]:
    return [item.strip() for item in env.get(name, "").split(",") if item.strip()]


def _repositories(env: Mapping[str, str]) -> frozenset[str]:
    repositories = _comma_list(env, "ALLOWED_REPOSITORIES")
    invalid = [repository for repository in repositories if not _REPOSITORY.match(repository)]
    if invalid:
        raise ConfigError(f"ALLOWED_REPOSITORIES contains invalid entries {invalid}: use owner/name, comma-separated")
    return frozenset(repository.lower() for repository in repositories)


def _actions(env: Mapping[str, str]) -> frozenset[str]:
    actions = _comma_list(env, "REVIEW_ACTIONS")
    if not actions:
        return frozenset(DEFAULT_REVIEW_ACTIONS)

    webhook_actions = [action for action in ACTIONS if action != "manual"]
    unknown = [action for action in actions if action not in webhook_actions]
    if unknown:
        raise ConfigError(
            f"REVIEW_ACTIONS={env['REVIEW_ACTIONS']!r} is invalid: use a comma list of {', '.join(webhook_actions)}"
        )
    return frozenset(actions)


def _namespace(env: Mapping[str, str]) -> str:
    namespace = env.get("REVIEW_NAMESPACE", "").strip()
    if namespace:
        return namespace
    try:
        return SERVICE_ACCOUNT_NAMESPACE_FILE.read_text(encoding="utf-8").strip() or "default"
    except OSError:
        return "default"
