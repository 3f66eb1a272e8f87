"""Build the batch/v1 Job manifest that runs one review attempt.

Secrets reach the container only as ``valueFrom.secretKeyRef``: the manifest names Secrets and
keys and never holds a secret value, so a Job can be read, logged and stored safely. Every Secret
key is optional, so a Secret with ``token`` (personal or machine token) and one with ``app-id`` +
``private-key`` (GitHub App) both work, and a missing LLM Secret leaves the LLM analyzer off.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from pr_operator.config import OperatorConfig
from prreview_api import (
    KIND,
    LABEL_COMPONENT,
    LABEL_PR,
    LABEL_REPOSITORY,
    LABEL_REVIEW,
    REVIEW_JOB_COMPONENT,
)

CONTAINER_NAME = "reviewer"
COMMAND = ["pr-review-job"]
WORKDIR = "/work"
TERMINATION_LOG = "/dev/termination-log"
RUN_AS_USER = 10001
# The reviewer's exit code for a failure that retrying cannot fix (pr_reviewer.errors.EXIT_PERMANENT);
# repeated here because the operator must not import the reviewer package.
EXIT_PERMANENT = 64

LABEL_ATTEMPT = "prreviewer.io/attempt"
LABEL_NAME = "app.kubernetes.io/name"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
APP_NAME = "pr-reviewer"
MANAGER = "pr-operator"
MAX_NAME_LENGTH = 63  # a Job's name is copied into its pods' job-name label, which allows 63 characters

REVIEW_JOB_SELECTOR = f"{LABEL_COMPONENT}={REVIEW_JOB_COMPONENT},{LABEL_MANAGED_BY}={MANAGER}"

# (environment variable, spec field); an absent or empty field is left out of the Job.
SPEC_ENVIRONMENT = (
    ("PR_REVIEW_REPOSITORY", "repository"),
    ("PR_REVIEW_PR_NUMBER", "prNumber"),
    ("PR_REVIEW_HEAD_SHA", "headSha"),
    ("PR_REVIEW_BASE_REF", "baseRef"),
    ("PR_REVIEW_BASE_SHA", "baseSha"),
    ("PR_REVIEW_CLONE_URL", "cloneUrl"),
    ("PR_REVIEW_INSTALLATION_ID", "installationId"),
)


def job_name(resource_name: str, attempt: int) -> str:
    """Return the Job name for one attempt: ``<resource-name>-<attempt>``, shortened with a hash to 63 characters."""
    suffix = f"-{attempt}"
    return shorten_name(resource_name, MAX_NAME_LENGTH - len(suffix)) + suffix


def shorten_name(name: str, limit: int = MAX_NAME_LENGTH) -> str:
    """Return ``name`` if it fits in ``limit`` characters, else a prefix of it plus a hash of the whole name."""
    if len(name) <= limit:
        return name

    # The hash covers the full name, so two long names with the same prefix stay apart.
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - len(digest) - 1].rstrip('-.')}-{digest}"


def repository_label(repository: str) -> str:
    """Return ``owner/name`` as a label value: ``owner.name``, limited to the characters and length labels allow."""
    value = re.sub(r"[^A-Za-z0-9_.-]", "-", repository.replace("/", "."))[:MAX_NAME_LENGTH]
    return value.strip("-_.")


def review_labels(resource: dict[str, Any]) -> dict[str, str]:
    """Return the labels shared by a review's Jobs and pods."""
    spec = resource.get("spec", {})
    name = resource["metadata"]["name"]
    return {
        LABEL_NAME: APP_NAME,
        LABEL_MANAGED_BY: MANAGER,
        LABEL_COMPONENT: REVIEW_JOB_COMPONENT,
        LABEL_REPOSITORY: repository_label(str(spec.get("repository", ""))),
        LABEL_PR: str(spec.get("prNumber", "")),
        LABEL_REVIEW: shorten_name(name),
    }


def build_job(resource: dict[str, Any], attempt: int, config: OperatorConfig) -> dict[str, Any]:
    """Return the Job manifest for ``attempt`` (1-based) of the review described by ``resource``."""
    metadata = resource["metadata"]
    labels = {**review_labels(resource), LABEL_ATTEMPT: str(attempt)}

    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job_name(metadata["name"], attempt),
            "namespace": metadata.get("namespace", config.namespace),
            "labels": labels,
            "annotations": {LABEL_ATTEMPT: str(attempt), LABEL_REVIEW: metadata["name"]},
            "ownerReferences": [_owner_reference(resource)],
        },
        "spec": {
            "backoffLimit": config.backoff_limit,
            "activeDeadlineSeconds": config.active_deadline_seconds,
            "ttlSecondsAfterFinished": config.ttl_seconds_after_finished,
            "completions": 1,
            "parallelism": 1,
            "podFailurePolicy": _pod_failure_policy(),
            "template": {
                "metadata": {"labels": labels, "annotations": {LABEL_REVIEW: metadata["name"]}},
                "spec": _pod_spec(resource, config),
            },
        },
    }


def _owner_reference(resource: dict[str, Any]) -> dict[str, Any]:
    metadata = resource["metadata"]
    return {
        "apiVersion": resource.get("apiVersion", ""),
        "kind": resource.get("kind", KIND),
        "name": metadata["name"],
        "uid": metadata["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _pod_failure_policy() -> dict[str, Any]:
    # A permanent failure fails the Job at once; a pod evicted by a disruption (drain, preemption)
    # is retried without counting toward backoffLimit. Other exits count toward backoffLimit.
    return {
        "rules": [
            {
                "action": "FailJob",
                "onExitCodes": {"containerName": CONTAINER_NAME, "operator": "In", "values": [EXIT_PERMANENT]},
            },
            {
                "action": "Ignore",
                "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}],
            },
        ]
    }


def _pod_spec(resource: dict[str, Any], config: OperatorConfig) -> dict[str, Any]:
    return {
        "restartPolicy": "Never",  # required by podFailurePolicy
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS_USER,
            "runAsGroup": RUN_AS_USER,
            "fsGroup": RUN_AS_USER,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [_container(resource, config)],
        "volumes": [
            {"name": "work", "emptyDir": {}},
            {"name": "tmp", "emptyDir": {}},
        ],
    }


def _container(resource: dict[str, Any], config: OperatorConfig) -> dict[str, Any]:
    return {
        "name": CONTAINER_NAME,
        "image": config.reviewer_image,
        "imagePullPolicy": config.reviewer_image_pull_policy,
        "command": list(COMMAND),
        "env": _environment(resource.get("spec", {}), config),
        "envFrom": [{"configMapRef": {"name": config.reviewer_env_configmap, "optional": True}}],
        "resources": {
            "requests": {"cpu": config.cpu_request, "memory": config.memory_request},
            "limits": {"cpu": config.cpu_limit, "memory": config.memory_limit},
        },
        "securityContext": {
            "runAsNonRoot": True,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [
            {"name": "work", "mountPath": WORKDIR},
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - an emptyDir, because the root filesystem is read-only
        ],
        "terminationMessagePath": TERMINATION_LOG,
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }


def _environment(spec: dict[str, Any], config: OperatorConfig) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [
        {"name": variable, "value": str(spec[field])}
        for variable, field in SPEC_ENVIRONMENT
        if spec.get(field) not in (None, "")
    ]
    env += [
        {"name": "PR_REVIEW_WORKDIR", "value": WORKDIR},
        {"name": "PR_REVIEW_TERMINATION_LOG", "value": TERMINATION_LOG},
        {"name": "HOME", "value": "/tmp"},  # noqa: S108 - git writes its config under HOME
        _secret_variable("GITHUB_TOKEN", config.github_secret_name, "token"),
        _secret_variable("GITHUB_APP_ID", config.github_secret_name, "app-id"),
        _secret_variable("GITHUB_APP_PRIVATE_KEY", config.github_secret_name, "private-key"),
        _secret_variable("PR_REVIEW_LLM_API_KEY", config.llm_secret_name, "api-key"),
    ]
    return env


def _secret_variable(variable: str, secret_name: str, key: str) -> dict[str, Any]:
    return {
        "name": variable,
        "valueFrom": {"secretKeyRef": {"name": secret_name, "key": key, "optional": True}},
    }
