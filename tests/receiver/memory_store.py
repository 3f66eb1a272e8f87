"""An in-memory ReviewStore for route tests that do not need the Kubernetes API."""

import copy
import itertools
from typing import Any

from pr_receiver.store import (
    QueueCounts,
    ReviewExists,
    ReviewRejected,
    StoreUnavailable,
    cancelled_status,
    is_cancellable,
    is_waiting,
    job_is_active,
)


class MemoryReviewStore:
    """Keeps resources by name; ``failure`` makes every call raise it, as an unreachable API would.

    ``rejection`` makes creates raise it, as the API server's 422 would. ``uids`` holds the uid the
    API server would give each resource, and ``deleted`` lists the deletes in order, as (name, uid).
    """

    def __init__(self) -> None:
        self.resources: dict[str, dict[str, Any]] = {}
        self.jobs: list[dict[str, Any]] = []
        self.failure: StoreUnavailable | None = None
        self.rejection: ReviewRejected | None = None
        self.uids: dict[str, str] = {}
        self.deleted: list[tuple[str, str]] = []
        self._uid_numbers = itertools.count(1)

    def create_review(self, body: dict[str, Any]) -> None:
        self._fail_if_down()
        if self.rejection is not None:
            raise self.rejection
        name = body["metadata"]["name"]
        if name in self.resources:
            raise ReviewExists(name)
        self.resources[name] = copy.deepcopy(body)
        self.uids[name] = f"uid-{next(self._uid_numbers)}"

    def read_review(self, name: str) -> dict[str, Any] | None:
        self._fail_if_down()
        if name not in self.resources:
            return None
        resource = copy.deepcopy(self.resources[name])
        resource["metadata"]["uid"] = self.uids[name]
        return resource

    def delete_review(self, name: str, uid: str) -> None:
        self._fail_if_down()
        if name in self.resources and self.uids[name] == uid:
            del self.resources[name]
            self.deleted.append((name, uid))

    def cancel_reviews(self, repository: str, pr_number: int, reason: str, message: str) -> list[str]:
        self._fail_if_down()
        cancelled = []
        for name, resource in sorted(self.resources.items()):
            spec = resource["spec"]
            if spec["repository"] == repository and spec["prNumber"] == pr_number and is_cancellable(resource):
                resource.setdefault("status", {}).update(cancelled_status(reason, message))
                cancelled.append(name)
        return cancelled

    def queue_counts(self, timeout_seconds: float | None = None) -> QueueCounts:
        self._fail_if_down()
        return QueueCounts(
            queue_size=sum(1 for resource in self.resources.values() if is_waiting(resource)),
            active_workers=sum(1 for job in self.jobs if job_is_active(job)),
        )

    def check_connection(self, timeout_seconds: float | None = None) -> None:
        self._fail_if_down()

    def _fail_if_down(self) -> None:
        if self.failure is not None:
            raise self.failure
