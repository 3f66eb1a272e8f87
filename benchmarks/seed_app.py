"""The "before" design for the webhook benchmark: one Flask app that reviews each PR inside the request.

This models the single-process app that preceded the work queue: ``POST /webhook`` verifies the
signature, then clones and reviews the PR before it responds, on Flask's development server,
which by default here serves one request at a time. The inline work is either the real
reviewer (``pr_reviewer.graph.run_review`` on the payload's clone URL, base and head SHAs,
nothing posted) or a CPU-bound stand-in of a fixed number of SHA-512 rounds.

    WEBHOOK_SECRET=... python benchmarks/seed_app.py --port 8090 --work review
    WEBHOOK_SECRET=... python benchmarks/seed_app.py --port 8090 --work cpu --cpu-rounds 400000
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, jsonify, request

logger = logging.getLogger("seed_app")

REVIEW_ACTIONS = ("opened", "synchronize", "reopened")
CALIBRATION_ROUNDS = 20_000

InlineWork = Callable[[dict[str, Any]], str]


def signature_is_valid(secret: bytes, body: bytes, header: str) -> bool:
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


def create_seed_app(secret: bytes, work: InlineWork) -> Flask:
    """Build the app; ``work`` runs inside the request and returns a one-line summary of the review."""
    app = Flask("seed_app")

    @app.post("/webhook")
    def webhook() -> tuple[Response, int]:
        body = request.get_data()
        if not signature_is_valid(secret, body, request.headers.get("X-Hub-Signature-256", "")):
            return jsonify({"error": "invalid or missing X-Hub-Signature-256"}), 401

        event = request.headers.get("X-GitHub-Event", "")
        logger.info("Received event: %s", event)
        payload = json.loads(body)
        if event != "pull_request" or payload.get("action") not in REVIEW_ACTIONS:
            return jsonify({"status": "ignored"}), 200

        number = payload["pull_request"]["number"]
        logger.info("PR #%s action: %s in %s", number, payload["action"], payload["repository"]["full_name"])
        summary = work(payload)
        logger.info("PR #%s reviewed inline: %s", number, summary)
        return jsonify({"status": "reviewed", "summary": summary}), 200

    @app.get("/health")
    def health() -> tuple[Response, int]:
        return jsonify({"status": "healthy"}), 200

    return app


def review_inline(payload: dict[str, Any]) -> str:
    """Clone and review the PR with the real reviewer workflow, without posting anything."""
    from pr_reviewer.graph import run_review
    from pr_reviewer.settings import ReviewSettings

    pull_request = payload["pull_request"]
    settings = ReviewSettings(
        repo=pull_request["base"]["repo"]["clone_url"],
        base=pull_request["base"]["sha"],
        head=pull_request["head"]["sha"],
        repository=payload["repository"]["full_name"],
        pr_number=pull_request["number"],
    )
    result = run_review(settings)
    if result.error is not None:
        raise RuntimeError(f"the inline review of PR #{pull_request['number']} failed: {result.error}")
    assert result.report is not None, "a review without an error has a report"
    return f"{len(result.report.findings)} findings"


def burn_cpu(rounds: int) -> str:
    """Hash a 64-byte value ``rounds`` times: CPU-bound work that holds the GIL like the Python parts of a review."""
    digest = b"\0" * 64
    for _ in range(rounds):
        digest = hashlib.sha512(digest).digest()
    return f"{rounds} SHA-512 rounds"


def calibrate_cpu_rounds(seconds: float) -> int:
    """Return how many ``burn_cpu`` rounds take ``seconds`` on this machine now (an estimate from a short run)."""
    started = time.perf_counter()
    burn_cpu(CALIBRATION_ROUNDS)
    elapsed = time.perf_counter() - started
    return max(1, round(CALIBRATION_ROUNDS * seconds / elapsed))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the single-process, review-inline webhook app on 127.0.0.1.")
    parser.add_argument("--port", type=int, required=True, help="TCP port on 127.0.0.1")
    parser.add_argument("--work", choices=("review", "cpu"), default="review", help="inline work per delivery")
    parser.add_argument("--cpu-rounds", type=int, default=0, help="SHA-512 rounds per delivery for --work cpu")
    parser.add_argument("--threaded", action="store_true", help="serve requests in threads (default: one at a time)")
    arguments = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    secret = os.environ.get("WEBHOOK_SECRET", "")
    if not secret:
        print("seed_app: error: WEBHOOK_SECRET is not set", file=sys.stderr)
        return 2
    if arguments.work == "cpu" and arguments.cpu_rounds < 1:
        print("seed_app: error: --work cpu needs --cpu-rounds of at least 1", file=sys.stderr)
        return 2

    work: InlineWork = review_inline if arguments.work == "review" else lambda _: burn_cpu(arguments.cpu_rounds)
    app = create_seed_app(secret.encode(), work)
    app.run(host="127.0.0.1", port=arguments.port, threaded=arguments.threaded)
    return 0


if __name__ == "__main__":
    sys.exit(main())
