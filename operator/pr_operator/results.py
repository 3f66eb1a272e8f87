"""Parse the reviewer's termination message into the outcome written to the resource's status.

The reviewer writes one line of JSON to its termination log::

    {"phase": "Succeeded", "partial": false, "findings": {"critical": 0, ...}, "total": 3,
     "reviewUrl": "https://...", "message": "short text", "exitCode": 0}

The message is the only channel from the Job back to the operator, so every defect in it
(missing, not JSON, wrong types) becomes a ``Failed`` outcome with a reason saying what was wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from prreview_api import Phase

SEVERITIES = ("critical", "high", "medium", "low", "info")
MAX_MESSAGE_CHARS = 512


@dataclass(frozen=True)
class ReviewOutcome:
    phase: str
    reason: str
    message: str
    partial: bool = False
    findings: dict[str, int] = field(default_factory=dict)
    total: int = 0
    review_url: str = ""
    exit_code: int | None = None

    def result_status(self) -> dict[str, Any]:
        """Return the ``status.result`` object for the resource."""
        result: dict[str, Any] = {
            "partial": self.partial,
            "findings": dict(self.findings),
            "total": self.total,
        }
        if self.message:
            result["message"] = self.message
        if self.review_url:
            result["reviewUrl"] = self.review_url
        if self.exit_code is not None:
            result["exitCode"] = self.exit_code
        return result


class InvalidResult(ValueError):
    """The termination message is not the reviewer's JSON result."""


def parse_termination_message(text: str) -> dict[str, Any]:
    """Return the validated result object, or raise :class:`InvalidResult` saying what is wrong."""
    line = _last_json_line(text)
    try:
        data = json.loads(line)
    except json.JSONDecodeError as error:
        raise InvalidResult(f"termination message is not JSON ({error.msg} at column {error.colno})") from None

    if not isinstance(data, dict):
        raise InvalidResult(f"termination message is JSON {type(data).__name__}, expected an object")

    phase = data.get("phase")
    if phase not in (Phase.SUCCEEDED, Phase.FAILED):
        raise InvalidResult(f"termination message has phase {phase!r}, expected 'Succeeded' or 'Failed'")

    findings = data.get("findings", {})
    if not isinstance(findings, dict) or not all(_is_count(findings.get(key, 0)) for key in SEVERITIES):
        raise InvalidResult("termination message has findings that are not counts per severity")

    if not _is_count(data.get("total", 0)):
        raise InvalidResult("termination message has a total that is not a non-negative integer")

    return data


def outcome_from_job(job_succeeded: bool, job_reason: str, termination_message: str | None) -> ReviewOutcome:
    """Combine the Job's final condition with the pod's termination message into one outcome.

    A finished Job whose message is missing or invalid is ``Failed`` even when the Job completed,
    because what the reviewer did is then unknown.
    """
    if not termination_message or not termination_message.strip():
        if job_succeeded:
            return ReviewOutcome(Phase.FAILED, "NoResult", "the Job completed but its pod left no termination message")
        return ReviewOutcome(Phase.FAILED, job_reason or "JobFailed", _job_failure_text(job_reason, None))

    try:
        data = parse_termination_message(termination_message)
    except InvalidResult as error:
        if job_succeeded:
            return ReviewOutcome(Phase.FAILED, "InvalidResult", str(error))
        # A failed pod may leave its log tail instead of JSON (FallbackToLogsOnError): show it.
        failure_text = _job_failure_text(job_reason, termination_message)
        return ReviewOutcome(Phase.FAILED, job_reason or "JobFailed", failure_text)

    return _outcome_from_result(data, job_succeeded, job_reason)


def _outcome_from_result(data: dict[str, Any], job_succeeded: bool, job_reason: str) -> ReviewOutcome:
    reported_phase = data["phase"]
    message = _clip(str(data.get("message") or ""))

    # The Job's own verdict wins over a contradicting message, because a pod that wrote
    # "Succeeded" and then exited non-zero did not finish cleanly.
    if reported_phase == Phase.SUCCEEDED and job_succeeded:
        phase, reason = Phase.SUCCEEDED, "ReviewCompleted"
    elif job_succeeded:
        phase, reason = Phase.FAILED, "ReviewFailed"
    else:
        phase, reason = Phase.FAILED, job_reason or "JobFailed"

    exit_code = data.get("exitCode")
    return ReviewOutcome(
        phase=phase,
        reason=reason,
        message=message or _default_message(phase, reason),
        partial=bool(data.get("partial", False)),
        findings={key: int(data.get("findings", {}).get(key, 0)) for key in SEVERITIES},
        total=int(data.get("total", 0)),
        review_url=str(data.get("reviewUrl") or ""),
        exit_code=exit_code if isinstance(exit_code, int) and not isinstance(exit_code, bool) else None,
    )


def _last_json_line(text: str) -> str:
    # The contract is one line, but a trailing newline or a stray log line before it must not hide the result.
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith("{"):
            return line
    return lines[-1] if lines else ""


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 3] + "..."


def _job_failure_text(job_reason: str, log_tail: str | None) -> str:
    text = f"the Job failed ({job_reason or 'no reason given'})"
    if log_tail:
        text += f"; last output: {_clip(log_tail)}"
    return text


def _default_message(phase: str, reason: str) -> str:
    if phase == Phase.SUCCEEDED:
        return "review completed"
    return f"review failed ({reason})"
