"""The ``POST /webhook`` handler: read the raw body, verify the signature, parse, validate, act, response.

The handler only stores a PullRequestReview (or cancels some); the operator does the slow work.
"""

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from pr_receiver.config import ReceiverConfig
from pr_receiver.delivery import (
    Delivery,
    InvalidDelivery,
    UnsupportedContentType,
    delivery_id_of,
    parse_delivery,
)
from pr_receiver.enqueue import Outcome, enqueue_review
from pr_receiver.metrics import UNVERIFIED_EVENT
from pr_receiver.routing import CancelReviews, Ignore, Pong, QueueReview, route_delivery
from pr_receiver.signature import SIGNATURE_HEADER, SignatureError, verify_signature
from pr_receiver.store import ReviewRejected, ReviewStore, StoreUnavailable
from prreview_api.spec import review_resource

logger = logging.getLogger(__name__)

MANAGED_BY = "pr-receiver"
HANDLED_EVENTS = ("pull_request", "ping")
UNAVAILABLE_MESSAGE = (
    "the Kubernetes API failed or timed out, so this delivery may or may not have taken effect: redeliver it "
    "from GitHub once the receiver's /ready endpoint responds 200; a redelivery is safe because the receiver "
    "detects duplicates"
)


@dataclass(frozen=True)
class WebhookResponse:
    """An HTTP response plus the labels it is counted under."""

    status: int
    body: dict[str, Any]
    outcome: str
    event: str = UNVERIFIED_EVENT
    headers: dict[str, str] = field(default_factory=dict)


def too_large_response(delivery_id: str, max_body_bytes: int) -> WebhookResponse:
    message = (
        f"request body exceeds MAX_BODY_BYTES ({max_body_bytes} bytes): GitHub never sends more than 25 MiB, "
        "so check what is posting to this endpoint"
    )
    logger.warning("Rejected delivery %s with 413: %s", delivery_id, message)
    return WebhookResponse(413, {"error": message}, "too_large")


# Maximum age of the queue size shown in "added to queue" log lines.
QUEUE_SIZE_MAX_AGE_SECONDS = 5.0


class WebhookHandler:
    """Turns a delivery's headers and raw body into an ``WebhookResponse``, storing or cancelling reviews on the way."""

    def __init__(self, config: ReceiverConfig, store: ReviewStore) -> None:
        self._config = config
        self._store = store
        self._queue_size_lock = threading.Lock()
        self._queue_size_read: tuple[float, str] | None = None

    def handle(self, headers: dict[str, str], body: bytes) -> WebhookResponse:
        """Handle one delivery; ``headers`` are keyed by lowercase name."""
        delivery_id = delivery_id_of(headers)

        rejection = self._check_signature(headers, body, delivery_id)
        if rejection:
            return rejection

        try:
            delivery = parse_delivery(headers, body)
            route = route_delivery(delivery, self._config)
        except UnsupportedContentType as error:
            return self._reject(415, str(error), "unsupported_media_type", delivery_id)
        except InvalidDelivery as error:
            return self._reject(400, str(error), "invalid", delivery_id)

        event = delivery.event if delivery.event in HANDLED_EVENTS else "other"
        if isinstance(route, Pong):
            logger.info("Responded to ping for hook %s (delivery %s)", delivery.payload.get("hook_id"), delivery_id)
            return WebhookResponse(200, {"status": "pong", "zen": route.zen}, "pong", event)
        if isinstance(route, Ignore):
            return self._ignore(route, delivery, event)

        self._log_pull_request(delivery)
        if isinstance(route, QueueReview):
            return self._queue(route, delivery_id, event)
        return self._cancel(route, delivery_id, event)

    def _check_signature(self, headers: dict[str, str], body: bytes, delivery_id: str) -> WebhookResponse | None:
        if self._config.skip_signature or self._config.webhook_secret is None:
            return None
        try:
            verify_signature(self._config.webhook_secret, body, headers.get(SIGNATURE_HEADER.lower()))
        except SignatureError as error:
            return self._reject(401, str(error), "unauthorized", delivery_id)
        return None

    def _reject(self, status: int, message: str, outcome: str, delivery_id: str) -> WebhookResponse:
        logger.warning("Rejected delivery %s with %d: %s", delivery_id, status, message)
        return WebhookResponse(status, {"error": message}, outcome)

    def _ignore(self, route: Ignore, delivery: Delivery, event: str) -> WebhookResponse:
        if route.is_misconfiguration:
            logger.warning("Ignored delivery %s: %s", delivery.delivery_id, route.reason)
        else:
            logger.info("Ignored delivery %s: %s", delivery.delivery_id, route.reason)
        return WebhookResponse(200, {"status": "ignored", "reason": route.reason}, "ignored", event)

    def _log_pull_request(self, delivery: Delivery) -> None:
        payload = delivery.payload
        logger.info(
            "PR #%s action: %s in %s (delivery %s)",
            payload["pull_request"]["number"], payload["action"], payload["repository"]["full_name"],
            delivery.delivery_id,
        )

    def _queue(self, route: QueueReview, delivery_id: str, event: str) -> WebhookResponse:
        spec = route.spec
        body = review_resource(spec, self._config.namespace, MANAGED_BY)
        response_body = {"status": "queued", "name": spec.name, "namespace": self._config.namespace}
        try:
            enqueued = enqueue_review(self._store, body, delivery_id)
        except ReviewRejected as error:
            return self._rejected_by_api(error, f"{spec.repository}#{spec.pr_number}", delivery_id, event)
        except StoreUnavailable as error:
            return self._unavailable(error, f"{spec.repository}#{spec.pr_number}", delivery_id, event)

        if enqueued.outcome is Outcome.DUPLICATE:
            logger.info(
                "PR #%d of %s at %s is already queued as %s/%s: delivery %s is a redelivery",
                spec.pr_number, spec.repository, spec.head_sha[:7], self._config.namespace, spec.name, delivery_id,
            )
            duplicate = {"status": "duplicate", "duplicate": True, "phase": enqueued.existing_phase}
            return WebhookResponse(202, {**response_body, **duplicate}, "duplicate", event)

        if enqueued.outcome is Outcome.REQUEUED:
            logger.info(
                "✓ PR #%d queued again as %s/%s, replacing its %s review (queue size: %s, delivery %s)",
                spec.pr_number, self._config.namespace, spec.name, enqueued.replaced_phase, self._queue_size(),
                delivery_id,
            )
            requeued = {"duplicate": False, "requeued": True, "replaced_phase": enqueued.replaced_phase}
            return WebhookResponse(202, {**response_body, **requeued}, "requeued", event)

        logger.info(
            "✓ PR #%d added to queue as %s/%s (queue size: %s, delivery %s)",
            spec.pr_number, self._config.namespace, spec.name, self._queue_size(), delivery_id,
        )
        return WebhookResponse(202, {**response_body, "duplicate": False}, "queued", event)

    def _cancel(self, route: CancelReviews, delivery_id: str, event: str) -> WebhookResponse:
        try:
            names = self._store.cancel_reviews(route.repository, route.pr_number, route.reason, route.message)
        except StoreUnavailable as error:
            return self._unavailable(error, f"{route.repository}#{route.pr_number}", delivery_id, event)

        logger.info(
            "Cancelled %d review(s) of %s#%d because %s: %s (delivery %s)",
            len(names), route.repository, route.pr_number, route.message, ", ".join(names) or "none pending",
            delivery_id,
        )
        body = {"status": "cancelled", "cancelled": len(names), "names": names, "reason": route.message}
        return WebhookResponse(200, body, "cancelled", event)

    def _rejected_by_api(
        self, error: ReviewRejected, pull_request: str, delivery_id: str, event: str
    ) -> WebhookResponse:
        # A redelivery would be rejected the same way, so this is a client error, never 503.
        message = f"the Kubernetes API rejected the review resource: {error}"
        logger.warning("Rejected delivery %s for %s with 400: %s", delivery_id, pull_request, message)
        return WebhookResponse(400, {"error": message}, "invalid", event)

    def _unavailable(self, error: StoreUnavailable, pull_request: str, delivery_id: str, event: str) -> WebhookResponse:
        logger.error("Failed to store delivery %s for %s, responding 503: %s", delivery_id, pull_request, error)
        return WebhookResponse(503, {"error": UNAVAILABLE_MESSAGE}, "unavailable", event)

    def _queue_size(self) -> str:
        """Return the queue size for log lines, read at most once per ``QUEUE_SIZE_MAX_AGE_SECONDS``.

        Counting means listing every review in the namespace, which grows with the retained reviews;
        doing it for every delivery made acknowledgements slower as the namespace filled up.
        """
        now = time.monotonic()
        with self._queue_size_lock:
            cached = self._queue_size_read
        if cached is not None and now - cached[0] < QUEUE_SIZE_MAX_AGE_SECONDS:
            return cached[1]

        try:
            size = str(self._store.queue_counts().queue_size)
        except StoreUnavailable:
            return "unknown"
        with self._queue_size_lock:
            self._queue_size_read = (now, size)
        return size
