from datetime import UTC, datetime

from pr_operator.retention import expired_reviews
from pr_operator.supersede import ReviewHead, find_superseded


def head(name, sha, created, phase="Queued", pr=7, repository="octo/app"):
    return ReviewHead(name, repository, pr, sha, created, phase)


def test_newer_push_supersedes_older_unfinished_reviews():
    reviews = [
        head("r1", "a" * 40, "2024-05-01T10:00:00Z", "Running"),
        head("r2", "b" * 40, "2024-05-01T10:00:05Z", "Queued"),
        head("r3", "c" * 40, "2024-05-01T10:00:09Z", None),
    ]

    found = find_superseded(reviews)

    assert [(s.older.name, s.newer.name) for s in found] == [("r1", "r3"), ("r2", "r3")]


def test_finished_reviews_are_not_superseded():
    reviews = [head("r1", "a" * 40, "2024-05-01T10:00:00Z", "Succeeded"), head("r2", "b" * 40, "2024-05-01T10:01:00Z")]

    assert find_superseded(reviews) == []


def test_same_head_is_not_superseded():
    reviews = [head("r1", "a" * 40, "2024-05-01T10:00:00Z"), head("r2", "a" * 40, "2024-05-01T10:01:00Z")]

    assert find_superseded(reviews) == []


def test_other_pull_requests_are_untouched():
    reviews = [head("r1", "a" * 40, "2024-05-01T10:00:00Z", pr=7), head("r2", "b" * 40, "2024-05-01T10:01:00Z", pr=8)]

    assert find_superseded(reviews) == []


def resource(name, phase, completed=None, created="2024-05-01T00:00:00Z"):
    status = {"phase": phase}
    if completed:
        status["completedAt"] = completed
    return {"metadata": {"name": name, "creationTimestamp": created}, "status": status}


def test_finished_reviews_past_retention_expire():
    now = datetime(2024, 5, 8, 12, 0, tzinfo=UTC)
    resources = [
        resource("old", "Succeeded", "2024-05-01T11:59:59Z"),
        resource("recent", "Failed", "2024-05-08T11:00:00Z"),
        resource("running", "Running"),
        resource("cancelled-unstarted", "Cancelled"),
    ]

    assert expired_reviews(resources, now, retention_seconds=7 * 24 * 3600) == ["old", "cancelled-unstarted"]
