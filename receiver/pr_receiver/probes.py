"""Status endpoints: ``/health`` (liveness), ``/ready`` (readiness), ``/queue`` and ``/metrics``."""

import logging

from flask import Blueprint, Response, current_app, jsonify

from pr_receiver.metrics import CONTENT_TYPE
from pr_receiver.state import ReceiverState
from pr_receiver.store import StoreUnavailable

logger = logging.getLogger(__name__)

probes = Blueprint("probes", __name__)

# /health makes two API calls and /ready makes one. At 1 s each they finish inside the chart's 3 s
# probe timeout even when the API server hangs, so a slow API never fails the probes by itself.
PROBE_API_TIMEOUT_SECONDS = 1.0


def _state() -> ReceiverState:
    state: ReceiverState = current_app.extensions["pr_receiver"]
    return state


def _probe_timeout(state: ReceiverState) -> float:
    return min(PROBE_API_TIMEOUT_SECONDS, state.config.kube_api_timeout_seconds)


@probes.get("/health")
def health() -> tuple[Response, int]:
    # Liveness stays 200 when the API server is down: restarting the receiver cannot bring the
    # API back, and a live receiver keeps responding 503 so GitHub shows the deliveries as failed.
    state = _state()
    try:
        counts = state.store.queue_counts(_probe_timeout(state))
    except StoreUnavailable as error:
        state.outage_log.down("/health", error)
        body: dict[str, object] = {
            "status": "degraded",
            "queue_size": None,
            "active_workers": None,
            "reason": "the Kubernetes API is unavailable",
        }
        return jsonify(body), 200

    state.outage_log.up()
    body = {"status": "healthy", "queue_size": counts.queue_size, "active_workers": counts.active_workers}
    return jsonify(body), 200


@probes.get("/ready")
def ready() -> tuple[Response, int]:
    state = _state()
    try:
        state.store.check_connection(_probe_timeout(state))
    except StoreUnavailable as error:
        state.outage_log.down("/ready", error)
        return jsonify({"status": "unavailable", "reason": "the Kubernetes API is unavailable"}), 503

    state.outage_log.up()
    return jsonify({"status": "ready"}), 200


@probes.get("/queue")
def queue() -> tuple[Response, int]:
    state = _state()
    max_workers = state.config.max_active_reviews
    try:
        counts = state.store.queue_counts()
    except StoreUnavailable as error:
        state.outage_log.down("/queue", error)
        message = "the Kubernetes API is unavailable, so the queue cannot be counted"
        return jsonify({"error": message, "max_workers": max_workers}), 503

    state.outage_log.up()
    body = {"queue_size": counts.queue_size, "active_workers": counts.active_workers, "max_workers": max_workers}
    return jsonify(body), 200


@probes.get("/metrics")
def metrics() -> Response:
    return Response(_state().metrics.exposition(), mimetype=None, content_type=CONTENT_TYPE)
