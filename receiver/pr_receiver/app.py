"""The receiver's Flask app factory and the ``pr-receiver`` console script."""

import argparse
import logging
import os
import sys
import time

from flask import Flask, Response, current_app, jsonify, request
from gunicorn.app.base import BaseApplication
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge

from pr_receiver.config import ConfigError, ReceiverConfig, load_config
from pr_receiver.delivery import delivery_id_of, loggable, lowercase_headers
from pr_receiver.metrics import ReceiverMetrics
from pr_receiver.probes import probes
from pr_receiver.state import ReceiverState
from pr_receiver.store import ReviewStore
from pr_receiver.webhook import WebhookHandler, WebhookResponse, too_large_response

logger = logging.getLogger(__name__)


def create_app(config: ReceiverConfig | None = None, store: ReviewStore | None = None) -> Flask:
    """Build the receiver app; ``config`` defaults to the environment, ``store`` to the Kubernetes API.

    Raises ``ConfigError`` when the environment is invalid, for example without ``WEBHOOK_SECRET``.
    """
    config = config or load_config()
    if store is None:
        from pr_receiver.kube_store import KubernetesReviewStore, kubernetes_api_client

        store = KubernetesReviewStore(kubernetes_api_client(), config.namespace, config.kube_api_timeout_seconds)

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes + 1  # see _read_body
    app.extensions["pr_receiver"] = ReceiverState(
        config=config, store=store, metrics=ReceiverMetrics(), handler=WebhookHandler(config, store)
    )
    app.add_url_rule("/webhook", "webhook", _webhook, methods=["POST"])
    app.register_blueprint(probes)
    app.register_error_handler(NotFound, _not_found)
    app.register_error_handler(MethodNotAllowed, _method_not_allowed)
    app.register_error_handler(HTTPException, _http_error)

    _log_start(config)
    return app


def _webhook() -> tuple[Response, int, dict[str, str]]:
    started = time.monotonic()
    state = _state()
    headers = lowercase_headers(request.headers.items())
    delivery_id = delivery_id_of(headers)
    event = loggable(headers.get("x-github-event", "unknown"))
    logger.info("Received event: %s (delivery %s)", event, delivery_id)

    response: WebhookResponse
    try:
        body = _read_body(state.config.max_body_bytes)
    except RequestEntityTooLarge:
        response = too_large_response(delivery_id, state.config.max_body_bytes)
    else:
        response = state.handler.handle(headers, body)

    state.metrics.record(response.event, response.outcome, time.monotonic() - started)
    return jsonify(response.body), response.status, response.headers


def _read_body(max_body_bytes: int) -> bytes:
    """Return the raw body; raise ``RequestEntityTooLarge`` when it exceeds ``max_body_bytes``.

    Werkzeug rejects a too-large Content-Length before reading, but it cuts a chunked body at
    MAX_CONTENT_LENGTH silently. That limit is one byte above ours, so a cut body is too long here.
    """
    body = request.get_data(cache=False)
    if len(body) > max_body_bytes:
        raise RequestEntityTooLarge()
    return body


def _state() -> ReceiverState:
    state: ReceiverState = current_app.extensions["pr_receiver"]
    return state


def _not_found(error: HTTPException) -> Response:
    # Not logged: scanners probe paths all day, and the access log records them already.
    message = f"no endpoint at {loggable(request.path)}: use POST /webhook, or GET /health, /ready, /queue or /metrics"
    response = jsonify({"error": message})
    response.status_code = 404
    return response


def _method_not_allowed(error: HTTPException) -> Response:
    valid_methods = sorted(getattr(error, "valid_methods", None) or [])
    allowed = ", ".join(valid_methods)
    usable = " or ".join(method for method in valid_methods if method not in ("HEAD", "OPTIONS"))
    message = f"method {loggable(request.method)} is not allowed on {loggable(request.path)}: use {usable}"
    logger.warning("Rejected %s with 405: %s", loggable(request.path), message)
    response = jsonify({"error": message})
    response.status_code = 405
    response.headers["Allow"] = allowed
    return response


def _http_error(error: HTTPException) -> Response:
    """Return any other HTTP error as JSON too, like every response of the receiver."""
    response = jsonify({"error": f"{error.name}: {error.description}"})
    response.status_code = error.code or 500
    return response


def _log_start(config: ReceiverConfig) -> None:
    if config.skip_signature:
        logger.warning(
            "RECEIVER_INSECURE_SKIP_SIGNATURE=true: webhook signatures are NOT verified, so anyone who can reach "
            "/webhook can queue reviews; use this only for local tests"
        )
    logger.info(
        "Receiver ready: namespace %s, review actions %s, drafts %s, allowed repositories %s",
        config.namespace, ",".join(sorted(config.review_actions)),
        "reviewed" if config.review_drafts else "skipped",
        ",".join(sorted(config.allowed_repositories)) or "all",
    )


class _ReceiverServer(BaseApplication):
    """gunicorn with the settings of ``pr_receiver.gunicorn_conf`` and an already validated config."""

    def __init__(self, config: ReceiverConfig, bind: str | None) -> None:
        self._receiver_config = config
        self._bind = bind
        super().__init__()

    def load_config(self) -> None:
        from pr_receiver import gunicorn_conf

        for key in ("bind", "workers", "worker_class", "threads", "timeout", "graceful_timeout", "keepalive",
                    "accesslog", "errorlog"):
            self.cfg.set(key, getattr(gunicorn_conf, key))
        if self._bind:
            self.cfg.set("bind", self._bind)

    def load(self) -> Flask:
        return create_app(self._receiver_config)


def main(argv: list[str] | None = None) -> int:
    """Run the receiver under gunicorn, or under Flask's development server with ``--dev``."""
    parser = argparse.ArgumentParser(prog="pr-receiver", description="GitHub webhook receiver for PR reviews.")
    parser.add_argument("--dev", action="store_true", help="run Flask's single-process development server")
    parser.add_argument("--bind", help="HOST:PORT to listen on (default: RECEIVER_BIND, else 0.0.0.0:8080)")
    arguments = parser.parse_args(argv)

    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        config = load_config()
    except ConfigError as error:
        logger.error("Receiver cannot start: %s", error)
        print(f"pr-receiver: error: {error}", file=sys.stderr)
        return 2

    if arguments.dev:
        host, _, port = (arguments.bind or os.environ.get("RECEIVER_BIND", "127.0.0.1:8080")).rpartition(":")
        create_app(config).run(host=host or "127.0.0.1", port=int(port), threaded=True)
        return 0

    _ReceiverServer(config, arguments.bind).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
