"""Decide which queued reviews get a Job now, and where every other one stands in the queue.

Pure functions over plain values: the caller reads the queued resources and the active Jobs
from the API and applies the plan. Order is FIFO by ``creationTimestamp``, then by name, because
the API server stamps creation times to the second, so a burst of webhooks shares one timestamp.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class QueuedReview:
    name: str
    repository: str
    created: str  # RFC 3339 creationTimestamp


@dataclass(frozen=True)
class ActiveJob:
    name: str
    repository: str


# Reviews this close to the front show their exact position, rewritten on every admission. Further
# back, a position is shown as a band (11-20, 21-50, 51-100, 101-200, ...) and the status is written
# only when the review enters a new band. Exact positions for all would cost one status write per
# waiting review on every admission, so the writes would grow with the square of the queue's length.
EXACT_POSITIONS = 10


@dataclass(frozen=True)
class WaitingReview:
    review: QueuedReview
    position: int  # 1-based among the reviews still waiting
    queue_length: int
    message: str
    reported_position: int  # what status.queuePosition shows: exact near the front, else the band's end


@dataclass(frozen=True)
class AdmissionPlan:
    admit: tuple[QueuedReview, ...]
    waiting: tuple[WaitingReview, ...]
    busy_slots: int  # active Jobs once the admitted ones run
    limit: int

    @property
    def slots_text(self) -> str:
        return f"{self.busy_slots} of {self.limit} slots busy"


def queue_order(reviews: Iterable[QueuedReview]) -> list[QueuedReview]:
    """Return ``reviews`` oldest first: by creation time, then by name."""
    return sorted(reviews, key=lambda review: (parse_timestamp(review.created), review.name))


def parse_timestamp(text: str) -> datetime:
    """Parse an RFC 3339 timestamp as the API server writes it; an empty or bad one sorts first."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def plan_admission(
    queued: Iterable[QueuedReview],
    active_jobs: Iterable[ActiveJob],
    limit: int,
    per_repository_cap: int = 0,
) -> AdmissionPlan:
    """Admit the oldest queued reviews while slots are free and their repository is below its cap.

    ``per_repository_cap`` 0 means no cap. A review held back by its repository's cap does not
    block younger reviews of other repositories.
    """
    running_per_repository = Counter(job.repository for job in active_jobs)
    busy = sum(running_per_repository.values())
    admitted: list[QueuedReview] = []
    held: list[QueuedReview] = []

    for review in queue_order(queued):
        repository_is_full = 0 < per_repository_cap <= running_per_repository[review.repository]
        if busy < limit and not repository_is_full:
            admitted.append(review)
            running_per_repository[review.repository] += 1
            busy += 1
        else:
            held.append(review)

    waiting = tuple(
        WaitingReview(
            review=review,
            position=index,
            queue_length=len(held),
            message=_waiting_message(
                index, len(held), busy, limit, review.repository,
                running_per_repository[review.repository], per_repository_cap,
            ),
            reported_position=position_band(index)[1],
        )
        for index, review in enumerate(held, start=1)
    )
    return AdmissionPlan(admit=tuple(admitted), waiting=waiting, busy_slots=busy, limit=limit)


def position_band(position: int) -> tuple[int, int]:
    """Return the first and last position of the band shown for ``position``: itself near the front."""
    if position <= EXACT_POSITIONS:
        return position, position
    low, high = EXACT_POSITIONS, 2 * EXACT_POSITIONS
    while position > high:
        low, high = high, _next_round_number(high)
    return low + 1, high


def _next_round_number(number: int) -> int:
    """Return the next number of the 1-2-5 series after ``number``: 20 → 50 → 100 → 200 → 500."""
    scale = 10 ** (len(str(number)) - 1)
    leading = number // scale
    return {1: 2, 2: 5, 5: 10}.get(leading, 10) * scale


def _waiting_message(
    position: int, length: int, busy: int, limit: int, repository: str, repository_busy: int, cap: int
) -> str:
    first, last = position_band(position)
    if first == last:
        message = f"position {position} of {length}; {busy} of {limit} slots busy"
    else:
        message = f"position {first}-{last} in the queue; {busy} of {limit} slots busy"
    if busy < limit and 0 < cap <= repository_busy:
        message += f"; {repository} has {repository_busy} of {cap} reviews running"
    return message
