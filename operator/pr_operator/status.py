"""Build the ``status`` changes for each phase transition, and the JSON patch that applies them safely.

Status fields the operator writes: ``phase``, ``reason``, ``message``, ``queuedAt``, ``startedAt``,
``completedAt``, ``attempt``, ``attempts``, ``jobName``, ``queuePosition``, ``supersededBy``, ``result`` and
``conditions`` (types ``Queued``, ``Admitted`` and ``Finished``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pr_operator.results import ReviewOutcome
from prreview_api import Phase

# A value of None in a change set removes the field.
StatusChanges = dict[str, Any]


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def queued(status: dict[str, Any], now: datetime) -> StatusChanges:
    return {
        "phase": Phase.QUEUED,
        "reason": "Queued",
        "message": "waiting for a free review slot",
        "queuedAt": status.get("queuedAt") or timestamp(now),
        "attempt": status.get("attempt") or 1,
        "conditions": set_condition(status, "Queued", "True", "Queued", "waiting for a free review slot", now),
    }


def waiting(message: str, position: int) -> StatusChanges:
    return {"message": message, "queuePosition": position}


def running(status: dict[str, Any], job_name: str, attempt: int, now: datetime) -> StatusChanges:
    message = f"running as Job {job_name} (attempt {attempt})"
    conditions = set_condition(status, "Queued", "False", "Admitted", message, now)
    return {
        "phase": Phase.RUNNING,
        "reason": "Admitted",
        "message": message,
        "startedAt": timestamp(now),
        "jobName": job_name,
        "attempt": attempt,
        "attempts": attempt,
        "queuePosition": None,
        "conditions": set_condition({"conditions": conditions}, "Admitted", "True", "Admitted", message, now),
    }


def requeued(status: dict[str, Any], attempt: int, message: str, now: datetime) -> StatusChanges:
    conditions = set_condition(status, "Admitted", "False", "JobMissing", message, now)
    return {
        "phase": Phase.QUEUED,
        "reason": "JobMissing",
        "message": message,
        "attempt": attempt,
        "jobName": None,
        "conditions": set_condition({"conditions": conditions}, "Queued", "True", "JobMissing", message, now),
    }


def finished(status: dict[str, Any], outcome: ReviewOutcome, now: datetime) -> StatusChanges:
    return {
        "phase": outcome.phase,
        "reason": outcome.reason,
        "message": outcome.message,
        "completedAt": timestamp(now),
        "queuePosition": None,
        "result": outcome.result_status(),
        "conditions": set_condition(status, "Finished", "True", outcome.reason, outcome.message, now),
    }


def failed(status: dict[str, Any], reason: str, message: str, now: datetime) -> StatusChanges:
    return finished(status, ReviewOutcome(Phase.FAILED, reason, message), now)


def superseded(status: dict[str, Any], newer_name: str, newer_sha: str, now: datetime) -> StatusChanges:
    message = f"superseded by {newer_name} for head {newer_sha[:12]}"
    return {
        "phase": Phase.SUPERSEDED,
        "reason": "Superseded",
        "message": message,
        "supersededBy": newer_name,
        "completedAt": timestamp(now),
        "queuePosition": None,
        "conditions": set_condition(status, "Finished", "True", "Superseded", message, now),
    }


def set_condition(
    status: dict[str, Any], kind: str, value: str, reason: str, message: str, now: datetime
) -> list[dict[str, Any]]:
    """Return the status's conditions with the one of type ``kind`` replaced or added."""
    conditions = [dict(condition) for condition in status.get("conditions") or [] if condition.get("type") != kind]
    previous = next((c for c in status.get("conditions") or [] if c.get("type") == kind), None)
    transitioned = previous is None or previous.get("status") != value
    conditions.append({
        "type": kind,
        "status": value,
        "reason": reason,
        "message": message,
        "lastTransitionTime": (
            timestamp(now) if transitioned else (previous or {}).get("lastTransitionTime") or timestamp(now)
        ),
    })
    return conditions


def patch_operations(resource: dict[str, Any], changes: StatusChanges) -> list[dict[str, Any]]:
    """Return a JSON patch that applies ``changes`` only if the status did not change since ``resource`` was read.

    The first operation is a ``test``: of ``status.phase`` when there is one, so that a concurrent write
    by the receiver (marking the review ``Cancelled``) makes the patch fail instead of being overwritten;
    of ``metadata.resourceVersion`` while the resource has no phase yet.
    """
    status = resource.get("status") or {}
    phase = status.get("phase")
    if phase:
        operations: list[dict[str, Any]] = [{"op": "test", "path": "/status/phase", "value": phase}]
    else:
        version = resource["metadata"].get("resourceVersion", "")
        operations = [{"op": "test", "path": "/metadata/resourceVersion", "value": version}]

    if "status" not in resource or not isinstance(resource["status"], dict):
        operations.append({"op": "add", "path": "/status", "value": {}})

    for key, value in changes.items():
        if value is None:
            if key in status:
                operations.append({"op": "remove", "path": f"/status/{key}"})
        else:
            operations.append({"op": "add", "path": f"/status/{key}", "value": value})
    return operations


def apply_changes(status: dict[str, Any], changes: StatusChanges) -> dict[str, Any]:
    """Return ``status`` with ``changes`` applied, to keep a local copy current without re-reading it."""
    updated = dict(status)
    for key, value in changes.items():
        if value is None:
            updated.pop(key, None)
        else:
            updated[key] = value
    return updated
