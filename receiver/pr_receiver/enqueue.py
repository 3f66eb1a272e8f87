"""Queueing one review, including a head commit whose earlier review was cancelled or superseded.

The resource name derives from repository, PR and head SHA, so the API server's 409 on create
means this head was queued before. That is a redelivery unless the earlier review ended as
Cancelled (the PR was closed, then reopened) or Superseded (a force-push went back to this head).
Such a resource is replaced: deleted, its Job goes by garbage collection, and created again.
"""

import enum
import logging
import time
from dataclasses import dataclass
from typing import Any

from pr_receiver.store import ReviewExists, ReviewStore, StoreUnavailable, phase_of
from prreview_api import Phase

logger = logging.getLogger(__name__)

# A Failed review is not replaced: when it fails for good on every run, replacing it on each
# redelivery would loop. Queued, Running and Succeeded reviews of this head are still valid.
REPLACEABLE_PHASES = (Phase.CANCELLED, Phase.SUPERSEDED)

# Create attempts when the resource keeps changing between our reads (another receiver replica
# replacing it, or a deletion that has not finished). The waits add up to 0.6 s, well inside
# GitHub's 10 s; after the last attempt the delivery gets 503 and a redelivery tries again.
CREATE_ATTEMPTS = 4
RETRY_WAIT_SECONDS = 0.1


class Outcome(enum.Enum):
    QUEUED = "queued"
    DUPLICATE = "duplicate"
    REQUEUED = "requeued"


@dataclass(frozen=True)
class Enqueued:
    """The outcome of queueing one review.

    ``replaced_phase`` is the phase of the resource it replaced. ``existing_phase`` is the phase of
    the resource a duplicate delivery found, None while the operator has not queued it yet.
    """

    outcome: Outcome
    replaced_phase: str | None = None
    existing_phase: str | None = None


def enqueue_review(store: ReviewStore, body: dict[str, Any], delivery_id: str) -> Enqueued:
    """Create the review resource ``body``, replacing a Cancelled or Superseded one of the same name.

    Raises ``StoreUnavailable`` when the API fails or the name is still taken after every attempt,
    and ``ReviewRejected`` when the API server finds ``body`` invalid.
    """
    name = body["metadata"]["name"]
    replaced_phase: str | None = None
    for attempt in range(1, CREATE_ATTEMPTS + 1):
        try:
            store.create_review(body)
        except ReviewExists:
            pass
        else:
            return Enqueued(Outcome.REQUEUED if replaced_phase else Outcome.QUEUED, replaced_phase)

        existing = store.read_review(name)
        if existing is None:
            continue  # deleted since the create: try again at once
        if existing["metadata"].get("deletionTimestamp"):
            # Deleted, but the API server still keeps it (a finalizer, or a foreground deletion).
            if attempt < CREATE_ATTEMPTS:
                time.sleep(RETRY_WAIT_SECONDS * attempt)
            continue

        phase = phase_of(existing)
        if phase not in REPLACEABLE_PHASES:
            return Enqueued(Outcome.DUPLICATE, existing_phase=phase)

        logger.info(
            "Replacing %s review %s/%s so that delivery %s queues this head again",
            phase, body["metadata"]["namespace"], name, delivery_id,
        )
        # The garbage collector deletes the old Job some time later. The operator tells it apart from the
        # new review's Job by the owner's uid, so a leftover Job is never linked to the new review.
        store.delete_review(name, existing["metadata"]["uid"])
        replaced_phase = phase

    raise StoreUnavailable(
        f"Kubernetes API request to create {body['metadata']['namespace']}/{name} failed: "
        f"the name was still taken by a resource being deleted or replaced after {CREATE_ATTEMPTS} attempts"
    )
