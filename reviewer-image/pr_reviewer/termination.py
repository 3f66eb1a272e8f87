"""The one-line JSON result a Job's container leaves in its termination-message file.

The operator copies it into the PullRequestReview's status, so the pod needs no cluster
credentials. Kubernetes keeps at most 4096 bytes of it, so the message is kept short.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from pr_reviewer.graph import ReviewResult
from pr_reviewer.model import Severity
from pr_reviewer.report import clip

logger = logging.getLogger(__name__)

DEFAULT_PATH = "/dev/termination-log"
MAX_MESSAGE_CHARS = 300


def result_document(result: ReviewResult) -> dict[str, Any]:
    counts = result.report.counts() if result.report else {s.label: 0 for s in sorted(Severity, reverse=True)}
    outcome = result.outcome
    return {
        "phase": "Succeeded" if result.error is None else "Failed",
        "partial": bool(result.report and result.report.coverage.partial),
        "findings": counts,
        "total": sum(counts.values()),
        "reviewUrl": (outcome.review_url or outcome.summary_url) if outcome else "",
        "message": clip(summary_message(result), MAX_MESSAGE_CHARS),
        "exitCode": result.exit_code,
    }


def summary_message(result: ReviewResult) -> str:
    """Say in one sentence what the review did, for ``kubectl get`` and the resource's status."""
    if result.error is not None:
        return str(result.error)
    if result.stale:
        return f"nothing posted: {result.stale}"

    report = result.report
    assert report is not None, "a review without an error has a report"
    parts = [f"{len(report.findings)} findings in {len(report.files_reviewed)} files"]
    if report.coverage.partial:
        parts.append("partial review: " + ", ".join(report.coverage.gaps()))
    outcome = result.outcome
    if outcome is not None and outcome.posted:
        parts.append(f"posted {outcome.inline_posted} inline, {outcome.moved_to_summary} in the summary")
    elif outcome is not None:
        parts.append(f"nothing posted: {outcome.skipped_reason}")
    return "; ".join(parts)


def write_termination_message(path: str, document: dict[str, Any]) -> None:
    """Write the document as one line; a failure to write is logged, not raised, so the exit code survives."""
    try:
        Path(path).write_text(json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    except OSError as error:
        logger.error("Cannot write the termination message to %s: %s", path, error.strerror)

