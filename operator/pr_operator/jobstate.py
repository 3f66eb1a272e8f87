"""Read the state of review Jobs and their pods from their API objects."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pr_operator.admission import parse_timestamp
from pr_operator.jobs import CONTAINER_NAME, LABEL_ATTEMPT
from prreview_api import KIND, LABEL_REVIEW


@dataclass(frozen=True)
class JobOutcome:
    finished: bool
    succeeded: bool = False
    reason: str = ""  # the reason of the Failed condition: BackoffLimitExceeded, DeadlineExceeded, PodFailurePolicy


def job_outcome(job: dict[str, Any]) -> JobOutcome:
    """Return whether the Job finished and how, from its ``Complete`` and ``Failed`` conditions.

    The interim conditions ``SuccessCriteriaMet`` and ``FailureTarget`` do not count: the Job's pods
    may still be running then, so its slot is still in use.
    """
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("status") != "True":
            continue
        if condition.get("type") == "Complete":
            return JobOutcome(finished=True, succeeded=True, reason=condition.get("reason") or "Completed")
        if condition.get("type") == "Failed":
            return JobOutcome(finished=True, succeeded=False, reason=condition.get("reason") or "JobFailed")
    return JobOutcome(finished=False)


def job_is_active(job: dict[str, Any]) -> bool:
    return not job_outcome(job).finished


def job_owner(job: dict[str, Any]) -> str:
    """Return the name of the review that owns ``job``, or ``""`` for a Job that has none."""
    metadata = job.get("metadata") or {}
    for reference in metadata.get("ownerReferences") or []:
        if reference.get("kind") == KIND and reference.get("controller"):
            return str(reference.get("name", ""))
    return str((metadata.get("annotations") or {}).get(LABEL_REVIEW, ""))


def job_belongs_to(job: dict[str, Any], review: dict[str, Any]) -> bool:
    """Tell whether ``job`` was created for this very review object, not an earlier one of the same name.

    The receiver replaces a cancelled or superseded review by deleting it and creating it again
    under the same name; until garbage collection removes the old Job, only the owner's uid tells
    the two apart.
    """
    review_uid = (review.get("metadata") or {}).get("uid")
    for reference in (job.get("metadata") or {}).get("ownerReferences") or []:
        if reference.get("kind") == KIND and reference.get("controller"):
            return not review_uid or reference.get("uid") == review_uid
    return True


def job_attempt(job: dict[str, Any]) -> int:
    metadata = job.get("metadata") or {}
    raw = (metadata.get("labels") or {}).get(LABEL_ATTEMPT) or (metadata.get("annotations") or {}).get(LABEL_ATTEMPT)
    try:
        return int(str(raw))
    except (TypeError, ValueError):
        return 0


def termination_message(pods: list[dict[str, Any]], succeeded: bool) -> str | None:
    """Return the reviewer container's termination message from the pod that decided the Job's outcome.

    For a completed Job that is the pod that succeeded; for a failed Job the newest pod that terminated.
    """
    wanted_phase = "Succeeded" if succeeded else "Failed"
    candidates = [pod for pod in pods if (pod.get("status") or {}).get("phase") == wanted_phase]
    candidates.sort(key=lambda pod: parse_timestamp(pod["metadata"].get("creationTimestamp", "")))

    for pod in reversed(candidates):
        terminated = _terminated_state(pod)
        if terminated is not None:
            return str(terminated.get("message") or "")
    return None


def _terminated_state(pod: dict[str, Any]) -> dict[str, Any] | None:
    for container in (pod.get("status") or {}).get("containerStatuses") or []:
        if container.get("name") == CONTAINER_NAME:
            terminated = (container.get("state") or {}).get("terminated")
            return terminated if isinstance(terminated, dict) else None
    return None


def unschedulable_reason(pod: dict[str, Any]) -> str | None:
    """Return the scheduler's message when the pod cannot be scheduled, else None."""
    for condition in (pod.get("status") or {}).get("conditions") or []:
        scheduled = condition.get("type") == "PodScheduled" and condition.get("status") == "False"
        if scheduled and condition.get("reason") == "Unschedulable":
            return str(condition.get("message") or "no node fits the pod")
    return None


def pod_is_scheduled(pod: dict[str, Any]) -> bool:
    return any(
        condition.get("type") == "PodScheduled" and condition.get("status") == "True"
        for condition in (pod.get("status") or {}).get("conditions") or []
    )
