from datetime import UTC, datetime

from pr_operator import status
from pr_operator.results import ReviewOutcome

NOW = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)


def test_patch_guards_on_current_phase():
    resource = {"metadata": {"resourceVersion": "41"}, "status": {"phase": "Queued", "queuePosition": 3}}

    operations = status.patch_operations(resource, status.running(resource["status"], "r-1", 1, NOW))

    assert operations[0] == {"op": "test", "path": "/status/phase", "value": "Queued"}
    assert {"op": "remove", "path": "/status/queuePosition"} in operations
    assert {"op": "add", "path": "/status/phase", "value": "Running"} in operations
    assert {"op": "add", "path": "/status/jobName", "value": "r-1"} in operations


def test_patch_of_new_resource_guards_on_resource_version():
    resource = {"metadata": {"resourceVersion": "7"}}

    operations = status.patch_operations(resource, status.queued({}, NOW))

    assert operations[0] == {"op": "test", "path": "/metadata/resourceVersion", "value": "7"}
    assert operations[1] == {"op": "add", "path": "/status", "value": {}}
    assert {"op": "add", "path": "/status/queuedAt", "value": "2024-05-01T10:00:00Z"} in operations


def test_removing_an_absent_field_is_skipped():
    resource = {"metadata": {}, "status": {"phase": "Running"}}

    operations = status.patch_operations(resource, {"queuePosition": None})

    assert operations == [{"op": "test", "path": "/status/phase", "value": "Running"}]


def test_condition_keeps_transition_time_when_unchanged():
    earlier = {"conditions": [{"type": "Queued", "status": "True", "lastTransitionTime": "2024-01-01T00:00:00Z"}]}

    conditions = status.set_condition(earlier, "Queued", "True", "Queued", "waiting", NOW)

    assert conditions == [{
        "type": "Queued", "status": "True", "reason": "Queued", "message": "waiting",
        "lastTransitionTime": "2024-01-01T00:00:00Z",
    }]


def test_finished_status_carries_the_result():
    outcome = ReviewOutcome("Succeeded", "ReviewCompleted", "done", findings={"high": 1}, total=1)

    changes = status.finished({"phase": "Running"}, outcome, NOW)

    assert changes["phase"] == "Succeeded"
    assert changes["completedAt"] == "2024-05-01T10:00:00Z"
    assert changes["result"] == {"partial": False, "findings": {"high": 1}, "total": 1, "message": "done"}
    assert changes["conditions"][-1]["type"] == "Finished"
