"""The interval arithmetic the kind suite uses to check that no more Jobs overlapped than the limit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.e2e.timeline import job_interval, job_is_active, max_overlap


def at(second: int) -> datetime:
    return datetime(2025, 1, 1, 12, 0, second, tzinfo=UTC)


def job(created: str, conditions: list[dict[str, str]]) -> dict[str, Any]:
    return {"metadata": {"creationTimestamp": created}, "status": {"conditions": conditions}}


def test_overlap_counts_concurrent_intervals() -> None:
    intervals = [(at(0), at(10)), (at(5), at(15)), (at(6), at(8)), (at(20), at(30))]

    assert max_overlap(intervals) == 3


def test_overlap_ignores_touching_intervals() -> None:
    intervals = [(at(0), at(10)), (at(10), at(20)), (at(20), at(30))]

    assert max_overlap(intervals) == 1


def test_overlap_of_nothing_is_zero() -> None:
    assert max_overlap([]) == 0


def test_job_without_final_condition_is_active() -> None:
    running = job("2025-01-01T12:00:00Z", [{"type": "Suspended", "status": "False"}])
    complete = job("2025-01-01T12:00:00Z", [{"type": "Complete", "status": "True"}])
    failed = job("2025-01-01T12:00:00Z", [{"type": "Failed", "status": "True"}])

    assert job_is_active(running) is True
    assert job_is_active(complete) is False
    assert job_is_active(failed) is False
    assert job_is_active({"metadata": {}, "status": {}}) is True


def test_job_interval_ends_at_final_condition() -> None:
    finished = job(
        "2025-01-01T12:00:01Z",
        [
            {"type": "SuccessCriteriaMet", "status": "True", "lastTransitionTime": "2025-01-01T12:00:08Z"},
            {"type": "Complete", "status": "True", "lastTransitionTime": "2025-01-01T12:00:09Z"},
        ],
    )

    assert job_interval(finished) == (at(1), at(9))
