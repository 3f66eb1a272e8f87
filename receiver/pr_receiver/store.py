"""The review store interface the routes use, and the phase rules every store shares."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from prreview_api import Phase

# Phases a closed PR cancels. A resource without a phase has not been seen by the operator yet
# and would otherwise be queued after the PR was closed.
CANCELLABLE_PHASES = (None, Phase.QUEUED, Phase.RUNNING)


class StoreUnavailable(Exception):
    """The Kubernetes API could not be reached, timed out or refused the request."""


class ReviewExists(Exception):
    """A resource with this name already exists: the same head commit of the PR was queued before."""


class ReviewRejected(Exception):
    """The API server rejected the resource as invalid (HTTP 422); the message is the API's, shortened."""


@dataclass(frozen=True)
class QueueCounts:
    """Reviews waiting for a slot, and review Jobs holding one."""

    queue_size: int
    active_workers: int


class ReviewStore(Protocol):
    """Operations the webhook and status routes need from the Kubernetes API."""

    def create_review(self, body: dict[str, Any]) -> None:
        """Create the resource; raise ``ReviewExists`` on a name clash, ``ReviewRejected`` when the API
        server finds it invalid, ``StoreUnavailable`` on any other API failure."""

    def read_review(self, name: str) -> dict[str, Any] | None:
        """Return the resource called ``name``, or ``None`` when there is none."""

    def delete_review(self, name: str, uid: str) -> None:
        """Delete the resource ``name`` if its uid is still ``uid``; do nothing when it is gone or was replaced.

        Its Jobs go by garbage collection, through their ownerReference.
        """

    def cancel_reviews(self, repository: str, pr_number: int, reason: str, message: str) -> list[str]:
        """Move the PR's cancellable resources to Cancelled; return their names."""

    def queue_counts(self, timeout_seconds: float | None = None) -> QueueCounts:
        """Count resources waiting in the queue and active review Jobs; ``timeout_seconds`` bounds each API call."""

    def check_connection(self, timeout_seconds: float | None = None) -> None:
        """Raise ``StoreUnavailable`` unless the API server responds to a request for resources."""


def phase_of(resource: dict[str, Any]) -> str | None:
    status = resource.get("status") or {}
    phase = status.get("phase")
    return phase if isinstance(phase, str) else None


def is_cancellable(resource: dict[str, Any]) -> bool:
    return phase_of(resource) in CANCELLABLE_PHASES


def is_waiting(resource: dict[str, Any]) -> bool:
    """Tell whether a resource counts toward ``queue_size``: Queued, or new and not yet seen by the operator."""
    return phase_of(resource) in (None, Phase.QUEUED)


def job_is_active(job: dict[str, Any]) -> bool:
    """Tell whether a Job occupies a review slot: it has neither a true Complete nor a true Failed condition."""
    conditions = (job.get("status") or {}).get("conditions") or []
    return not any(
        condition.get("type") in ("Complete", "Failed") and condition.get("status") == "True"
        for condition in conditions
    )


def cancelled_status(reason: str, message: str, now: datetime | None = None) -> dict[str, Any]:
    """Return the status patch that cancels a review."""
    moment = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "phase": Phase.CANCELLED,
        "reason": reason,
        "message": message,
        "completedAt": moment,
        "queuePosition": None,
    }
