"""When review Jobs ran, read from their timestamps, to check the concurrency limit after the fact."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def job_is_active(job: dict[str, Any]) -> bool:
    """Tell whether a Job is unfinished, as the operator counts it: no Complete or Failed condition yet."""
    conditions = job.get("status", {}).get("conditions") or []
    return not any(c["type"] in ("Complete", "Failed") and c["status"] == "True" for c in conditions)


def job_interval(job: dict[str, Any]) -> tuple[datetime, datetime]:
    """Return when a finished Job was created and when it finished."""
    created = parse_time(job["metadata"]["creationTimestamp"])
    finished = max(
        parse_time(c["lastTransitionTime"])
        for c in job["status"]["conditions"]
        if c["type"] in ("Complete", "Failed") and c["status"] == "True"
    )
    return created, finished


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def max_overlap(intervals: list[tuple[datetime, datetime]]) -> int:
    """Return the largest number of intervals open at one time; one ending when another starts does not overlap."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    open_now = peak = 0
    for _, change in events:
        open_now += change
        peak = max(peak, open_now)
    return peak
