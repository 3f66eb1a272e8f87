import json

import pytest

from pr_operator.results import InvalidResult, outcome_from_job, parse_termination_message

GOOD = {
    "phase": "Succeeded",
    "partial": False,
    "findings": {"critical": 1, "high": 0, "medium": 2, "low": 0, "info": 0},
    "total": 3,
    "reviewUrl": "https://github.example/octo/app/pull/7#pullrequestreview-1",
    "message": "posted 3 findings",
    "exitCode": 0,
}


def test_successful_result_is_parsed():
    outcome = outcome_from_job(True, "Completed", json.dumps(GOOD) + "\n")

    assert outcome.phase == "Succeeded"
    assert outcome.reason == "ReviewCompleted"
    assert outcome.message == "posted 3 findings"
    assert outcome.total == 3
    assert outcome.findings == {"critical": 1, "high": 0, "medium": 2, "low": 0, "info": 0}
    assert outcome.result_status() == {
        "partial": False,
        "findings": {"critical": 1, "high": 0, "medium": 2, "low": 0, "info": 0},
        "total": 3,
        "message": "posted 3 findings",
        "reviewUrl": "https://github.example/octo/app/pull/7#pullrequestreview-1",
        "exitCode": 0,
    }


def test_result_after_a_log_line_is_found():
    text = "warning: something\n" + json.dumps(GOOD)

    assert parse_termination_message(text)["total"] == 3


def test_bad_json_fails_the_review_with_reason():
    outcome = outcome_from_job(True, "Completed", "{not json")

    assert outcome.phase == "Failed"
    assert outcome.reason == "InvalidResult"
    assert outcome.message.startswith("termination message is not JSON")


def test_json_array_is_rejected():
    with pytest.raises(InvalidResult, match="termination message is JSON list, expected an object"):
        parse_termination_message("[1, 2]")


def test_unknown_phase_is_rejected():
    with pytest.raises(InvalidResult, match="termination message has phase 'Done'"):
        parse_termination_message(json.dumps({**GOOD, "phase": "Done"}))


def test_negative_finding_count_is_rejected():
    with pytest.raises(InvalidResult, match="findings that are not counts"):
        parse_termination_message(json.dumps({**GOOD, "findings": {"high": -1}}))


def test_string_total_is_rejected():
    with pytest.raises(InvalidResult, match="total that is not a non-negative integer"):
        parse_termination_message(json.dumps({**GOOD, "total": "3"}))


def test_completed_job_without_message_fails():
    outcome = outcome_from_job(True, "Completed", None)

    assert outcome.phase == "Failed"
    assert outcome.reason == "NoResult"
    assert outcome.message == "the Job completed but its pod left no termination message"


def test_permanent_failure_keeps_reviewer_message():
    message = json.dumps({**GOOD, "phase": "Failed", "message": "repository not found", "exitCode": 64})

    outcome = outcome_from_job(False, "PodFailurePolicy", message)

    assert outcome.phase == "Failed"
    assert outcome.reason == "PodFailurePolicy"
    assert outcome.message == "repository not found"
    assert outcome.exit_code == 64


def test_failed_job_with_log_tail_shows_it():
    outcome = outcome_from_job(False, "BackoffLimitExceeded", "Traceback (most recent call last):\nKeyError: 'x'")

    assert outcome.phase == "Failed"
    assert outcome.reason == "BackoffLimitExceeded"
    assert outcome.message == (
        "the Job failed (BackoffLimitExceeded); last output: Traceback (most recent call last): KeyError: 'x'"
    )


def test_failed_job_without_message_names_the_job_reason():
    outcome = outcome_from_job(False, "DeadlineExceeded", "")

    assert outcome.reason == "DeadlineExceeded"
    assert outcome.message == "the Job failed (DeadlineExceeded)"


def test_succeeded_message_from_failed_job_is_failed():
    outcome = outcome_from_job(False, "BackoffLimitExceeded", json.dumps(GOOD))

    assert outcome.phase == "Failed"
    assert outcome.reason == "BackoffLimitExceeded"


def test_failed_result_from_completed_job_is_failed():
    outcome = outcome_from_job(True, "Completed", json.dumps({**GOOD, "phase": "Failed", "message": ""}))

    assert outcome.phase == "Failed"
    assert outcome.reason == "ReviewFailed"
    assert outcome.message == "review failed (ReviewFailed)"


def test_long_message_is_clipped():
    outcome = outcome_from_job(True, "Completed", json.dumps({**GOOD, "message": "x" * 2000}))

    assert len(outcome.message) == 512
    assert outcome.message.endswith("...")
