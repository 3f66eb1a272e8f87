import os

from tests.controlplane.conftest import JOBS, NAMESPACE, REVIEWS, ActiveJobSampler, sha, wait_for

SLOW = sha(999)


def process_is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def running_pid(plane, head: str) -> int:
    runs = wait_for(lambda: [pid for _, h, pid in plane.runs("start") if h == head], what=f"a run of head {head}")
    return runs[-1]


def test_succeeded_review_carries_result_and_events(plane):
    plane.configure_reviewer()
    plane.create_review("one", pr=7, head=sha(7))
    plane.start_operator()

    review = plane.wait_phase("one", "Succeeded")

    status = review["status"]
    assert status["reason"] == "ReviewCompleted"
    assert status["message"] == f"stand-in reviewed {sha(7)[:7]}"
    assert status["jobName"] == "one-1"
    assert status["attempt"] == 1
    assert status["result"]["total"] == 1
    assert status["result"]["findings"]["high"] == 1
    assert status["queuedAt"] <= status["startedAt"] <= status["completedAt"]
    assert "queuePosition" not in status
    assert review["metadata"].get("finalizers") is None
    reasons = [reason for reason, _ in plane.events("one")]
    assert reasons == ["Queued", "Admitted", "Succeeded"]
    job = plane.jobs()[0]
    assert job["metadata"]["ownerReferences"][0]["uid"] == review["metadata"]["uid"]


def test_queued_reviews_show_their_position(plane):
    plane.configure_reviewer(STANDIN_SLOW_HEADS=SLOW, STANDIN_SLOW_SECONDS="30")
    plane.create_review("first", pr=1, head=SLOW)
    plane.start_operator(MAX_ACTIVE_REVIEWS="1")
    plane.wait_phase("first", "Running")
    plane.create_review("second", pr=2, head=sha(2))
    plane.create_review("third", pr=3, head=sha(3))

    def status_of(name):
        return (plane.review(name) or {}).get("status") or {}

    wait_for(lambda: status_of("third").get("queuePosition") == 2, what="third to be at position 2")
    assert status_of("second")["queuePosition"] == 1
    assert status_of("second")["message"] == "position 1 of 2; 1 of 1 slots busy"
    assert status_of("third")["message"] == "position 2 of 2; 1 of 1 slots busy"

    plane.delete(f"{REVIEWS}/first")

    plane.wait_phase("second", "Running", "Succeeded")
    wait_for(lambda: status_of("third").get("queuePosition") == 1, what="third to move up to position 1")
    assert status_of("third")["message"] in ("position 1 of 1; 1 of 1 slots busy",)


def test_newer_push_supersedes_queued_and_running_reviews(plane):
    plane.configure_reviewer(STANDIN_SLOW_HEADS=SLOW, STANDIN_SLOW_SECONDS="30")
    plane.create_review("push-1", pr=7, head=SLOW)
    plane.start_operator(MAX_ACTIVE_REVIEWS="1")
    plane.wait_phase("push-1", "Running")
    pid = running_pid(plane, SLOW)
    plane.create_review("push-2", pr=7, head=sha(7, 2))
    plane.create_review("push-3", pr=7, head=sha(7, 3))

    newest = plane.wait_phase("push-3", "Succeeded")

    running = plane.review("push-1")["status"]
    queued = plane.review("push-2")["status"]
    assert running["phase"] == "Superseded"
    # The operator may see push-2 before push-3 exists; either was the newest push at that moment.
    assert running["supersededBy"] in ("push-2", "push-3")
    assert queued["phase"] == "Superseded"
    assert queued["supersededBy"] == "push-3"
    assert newest["status"]["phase"] == "Succeeded"
    assert [name for name in (j["metadata"]["name"] for j in plane.jobs())] == ["push-3-1"]
    wait_for(lambda: not process_is_alive(pid), what="the superseded review's process to end")
    assert [head for _, head, _ in plane.runs("start")] == [SLOW, sha(7, 3)]
    assert ("Superseded", "deleted the running Job push-1-1") in plane.events("push-1")
    assert [reason for reason, _ in plane.events("push-2")] == ["Queued", "Superseded"]


def test_deleting_a_review_stops_its_job(plane):
    plane.configure_reviewer(STANDIN_SLOW_HEADS=SLOW, STANDIN_SLOW_SECONDS="30")
    plane.create_review("doomed", pr=1, head=SLOW)
    plane.create_review("next", pr=2, head=sha(2))
    plane.start_operator(MAX_ACTIVE_REVIEWS="1")
    plane.wait_phase("doomed", "Running")
    pid = running_pid(plane, SLOW)

    plane.delete(f"{REVIEWS}/doomed")

    wait_for(lambda: not process_is_alive(pid), what="the deleted review's process to end")
    plane.wait_phase("next", "Succeeded")
    assert [j["metadata"]["name"] for j in plane.jobs()] == ["next-1"]
    assert [head for _, head, _ in plane.runs("end")] == [sha(2)]


def test_cancelled_review_loses_its_job(plane):
    plane.configure_reviewer(STANDIN_SLOW_HEADS=SLOW, STANDIN_SLOW_SECONDS="30")
    plane.create_review("closed", pr=1, head=SLOW)
    plane.start_operator()
    plane.wait_phase("closed", "Running")
    pid = running_pid(plane, SLOW)

    plane.patch_status("closed", {"phase": "Cancelled", "reason": "PullRequestClosed", "message": "PR closed"})

    wait_for(lambda: not process_is_alive(pid), what="the cancelled review's process to end")
    wait_for(lambda: plane.jobs() == [], what="the cancelled review's Job to go")
    assert plane.phase("closed") == "Cancelled"
    assert ("Cancelled", "deleted the running Job closed-1") in plane.events("closed")


def test_vanished_job_is_requeued_once_then_fails(plane):
    plane.configure_reviewer(STANDIN_SLOW_HEADS=SLOW, STANDIN_SLOW_SECONDS="30")
    plane.create_review("lost", pr=1, head=SLOW)
    plane.start_operator()
    plane.wait_phase("lost", "Running")

    plane.delete(f"{JOBS}/lost-1")
    wait_for(lambda: (plane.review("lost")["status"].get("jobName") == "lost-2"), what="attempt 2 to start")
    plane.delete(f"{JOBS}/lost-2")

    review = plane.wait_phase("lost", "Failed")
    assert review["status"]["reason"] == "JobMissing"
    assert review["status"]["message"] == "Job lost-2 disappeared before it finished, on attempt 2; giving up"
    missing = [message for reason, message in plane.events("lost") if reason == "JobMissing"]
    assert missing == [
        "Job lost-1 disappeared before it finished; queued again as attempt 2",
        "Job lost-2 disappeared before it finished, on attempt 2; giving up",
    ]


def test_unschedulable_pod_is_reported(plane):
    plane.configure_reviewer(STANDIN_SLOW_HEADS=SLOW, STANDIN_SLOW_SECONDS="30")
    plane.create_review("pending", pr=1, head=SLOW)
    plane.start_operator()
    plane.wait_phase("pending", "Running")
    running_pid(plane, SLOW)
    pods = f"/api/v1/namespaces/{NAMESPACE}/pods"
    pod = plane.items(f"{pods}?labelSelector=job-name%3Dpending-1")[0]["metadata"]["name"]

    def set_scheduled(value: str, reason: str, message: str) -> None:
        condition = {"type": "PodScheduled", "status": value, "reason": reason, "message": message}
        response = plane.http.patch(f"{pods}/{pod}/status", json={"status": {"conditions": [condition]}},
                                    headers={"Content-Type": "application/merge-patch+json"})
        assert response.status_code == 200, response.text

    set_scheduled("False", "Unschedulable", "0/1 nodes are available: 1 Insufficient cpu.")

    expected = f"pod {pod} of Job pending-1 cannot be scheduled: 0/1 nodes are available: 1 Insufficient cpu."
    wait_for(lambda: plane.review("pending")["status"].get("message") == expected, what="the Unschedulable message")
    assert plane.review("pending")["status"]["reason"] == "Unschedulable"
    assert plane.phase("pending") == "Running"
    assert ("Unschedulable", expected) in plane.events("pending")

    set_scheduled("True", "", "")

    back = "running as Job pending-1 (attempt 1)"
    wait_for(lambda: plane.review("pending")["status"].get("message") == back, what="the message to clear")


def test_finished_reviews_are_deleted_after_retention(plane):
    plane.configure_reviewer()
    plane.create_review("old", pr=1, head=sha(1))
    plane.start_operator(REVIEW_RETENTION_SECONDS="1", RECONCILE_INTERVAL_SECONDS="0.5")

    plane.wait_phase("old", "Succeeded")

    wait_for(lambda: plane.review("old") is None, timeout=10, what="the finished review's deletion")


def test_limit_counts_jobs_from_the_api_after_restart(plane):
    # Reviews that outlive the restart show the re-linking; the kill comes before any can finish.
    plane.configure_reviewer(STANDIN_SECONDS="3")
    for index in range(8):
        plane.create_review(f"r{index}", pr=index + 1, head=sha(index))
    # Hold every status write for a second, so the kill lands between creating a Job and recording it.
    plane.apiserver.inject_delay(1.0, method="PATCH", path_prefix=REVIEWS)
    sampler = ActiveJobSampler(plane)
    plane.start_operator()
    wait_for(lambda: plane.jobs(), what="the first Job")
    plane.kill_operator()
    plane.apiserver.clear_faults()
    orphaned = [j["metadata"]["name"] for j in plane.jobs()]

    plane.start_operator()
    wait_for(lambda: all(plane.phase(f"r{i}") == "Succeeded" for i in range(8)), timeout=60, what="all 8 reviews")
    samples = sampler.stop()

    assert max(samples) <= 3
    names = sorted(j["metadata"]["name"] for j in plane.jobs())
    assert names == [f"r{i}-1" for i in range(8)]
    assert sorted(plane.started()) == sorted(f"octo/app#{i + 1}" for i in range(8))
    for name in orphaned:
        review = name.removesuffix("-1")
        assert ("Admitted", f"re-linked to Job {name} (attempt 1)") in plane.events(review)
