"""Operator settings, read once from the environment at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_NAMESPACE = "default"
NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


class ConfigError(ValueError):
    """An operator environment variable is invalid; the message names the variable and the value."""


@dataclass(frozen=True)
class OperatorConfig:
    namespace: str = DEFAULT_NAMESPACE
    max_active_reviews: int = 3
    max_active_reviews_per_repository: int = 0  # 0 = no per-repository cap
    reviewer_image: str = "pr-reviewer:latest"
    reviewer_image_pull_policy: str = "IfNotPresent"
    active_deadline_seconds: int = 1800
    backoff_limit: int = 2
    ttl_seconds_after_finished: int = 3600
    retention_seconds: int = 604800
    cpu_request: str = "1"
    cpu_limit: str = "2"
    memory_request: str = "2Gi"
    memory_limit: str = "4Gi"
    github_secret_name: str = "pr-reviewer-github"  # noqa: S105 - the name of a Secret, not a secret
    llm_secret_name: str = "pr-reviewer-llm"  # noqa: S105 - the name of a Secret, not a secret
    reviewer_env_configmap: str = "pr-reviewer-env"
    # The safety-net period of the reconcile loop; Job and resource watch events trigger it sooner.
    reconcile_interval_seconds: float = 30.0
    liveness_endpoint: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> OperatorConfig:
        """Build the settings from ``environ`` (default ``os.environ``), raising :class:`ConfigError` on bad values."""
        env = os.environ if environ is None else environ
        defaults = cls()

        return cls(
            namespace=env.get("REVIEW_NAMESPACE") or _namespace_of_pod(),
            max_active_reviews=_int(env, "MAX_ACTIVE_REVIEWS", defaults.max_active_reviews, minimum=1),
            max_active_reviews_per_repository=_int(
                env, "MAX_ACTIVE_REVIEWS_PER_REPOSITORY", defaults.max_active_reviews_per_repository, minimum=0
            ),
            reviewer_image=env.get("REVIEWER_IMAGE") or defaults.reviewer_image,
            reviewer_image_pull_policy=_choice(
                env, "REVIEWER_IMAGE_PULL_POLICY", defaults.reviewer_image_pull_policy,
                ("Always", "IfNotPresent", "Never"),
            ),
            active_deadline_seconds=_int(
                env, "REVIEW_ACTIVE_DEADLINE_SECONDS", defaults.active_deadline_seconds, minimum=1
            ),
            backoff_limit=_int(env, "REVIEW_BACKOFF_LIMIT", defaults.backoff_limit, minimum=0),
            ttl_seconds_after_finished=_int(
                env, "REVIEW_TTL_SECONDS_AFTER_FINISHED", defaults.ttl_seconds_after_finished, minimum=0
            ),
            retention_seconds=_int(env, "REVIEW_RETENTION_SECONDS", defaults.retention_seconds, minimum=1),
            cpu_request=env.get("REVIEWER_CPU_REQUEST") or defaults.cpu_request,
            cpu_limit=env.get("REVIEWER_CPU_LIMIT") or defaults.cpu_limit,
            memory_request=env.get("REVIEWER_MEMORY_REQUEST") or defaults.memory_request,
            memory_limit=env.get("REVIEWER_MEMORY_LIMIT") or defaults.memory_limit,
            github_secret_name=env.get("GITHUB_SECRET_NAME") or defaults.github_secret_name,
            llm_secret_name=env.get("LLM_SECRET_NAME") or defaults.llm_secret_name,
            reviewer_env_configmap=env.get("REVIEWER_ENV_CONFIGMAP") or defaults.reviewer_env_configmap,
            reconcile_interval_seconds=_float(
                env, "RECONCILE_INTERVAL_SECONDS", defaults.reconcile_interval_seconds, minimum=0.1
            ),
            liveness_endpoint=env.get("OPERATOR_LIVENESS_ENDPOINT", ""),
        )


def _namespace_of_pod() -> str:
    try:
        with open(NAMESPACE_FILE, encoding="utf-8") as handle:
            return handle.read().strip() or DEFAULT_NAMESPACE
    except OSError:
        return DEFAULT_NAMESPACE


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default

    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer: set it to a whole number >= {minimum}") from None

    if value < minimum:
        raise ConfigError(f"{name}={value} is too small: set it to a whole number >= {minimum}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, *, minimum: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default

    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number: set it to a number >= {minimum}") from None

    if value < minimum:
        raise ConfigError(f"{name}={value} is too small: set it to a number >= {minimum}")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    raw = env.get(name, "").strip()
    if not raw:
        return default

    if raw not in allowed:
        raise ConfigError(f"{name}={raw!r} is invalid: use one of {', '.join(allowed)}")
    return raw
