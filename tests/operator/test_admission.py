from pr_operator.admission import ActiveJob, QueuedReview, plan_admission, queue_order


def review(name: str, repository: str = "octo/app", created: str = "2024-05-01T10:00:00Z") -> QueuedReview:
    return QueuedReview(name=name, repository=repository, created=created)


def test_oldest_reviews_are_admitted_first():
    queued = [
        review("c", created="2024-05-01T10:00:03Z"),
        review("a", created="2024-05-01T10:00:01Z"),
        review("b", created="2024-05-01T10:00:02Z"),
    ]

    plan = plan_admission(queued, [], limit=2)

    assert [r.name for r in plan.admit] == ["a", "b"]
    assert [w.review.name for w in plan.waiting] == ["c"]


def test_same_timestamp_is_ordered_by_name():
    queued = [review("r-2"), review("r-10"), review("r-1")]

    assert [r.name for r in queue_order(queued)] == ["r-1", "r-10", "r-2"]


def test_fractional_timestamps_sort_by_time_not_text():
    queued = [review("late", created="2024-05-01T10:00:01Z"), review("early", created="2024-05-01T10:00:00.5Z")]

    assert [r.name for r in queue_order(queued)] == ["early", "late"]


def test_nothing_is_admitted_when_all_slots_are_busy():
    active = [ActiveJob("j1", "octo/app"), ActiveJob("j2", "octo/lib"), ActiveJob("j3", "octo/app")]
    queued = [review(f"r{i}", created=f"2024-05-01T10:00:0{i}Z") for i in range(1, 10)]

    plan = plan_admission(queued, active, limit=3)

    assert plan.admit == ()
    assert plan.busy_slots == 3
    assert len(plan.waiting) == 9
    fourth = plan.waiting[3]
    assert fourth.review.name == "r4"
    assert fourth.position == 4
    assert fourth.queue_length == 9
    assert fourth.message == "position 4 of 9; 3 of 3 slots busy"


def test_positions_count_only_reviews_left_waiting():
    queued = [review(f"r{i}", created=f"2024-05-01T10:00:0{i}Z") for i in range(1, 6)]

    plan = plan_admission(queued, [ActiveJob("j1", "octo/app")], limit=3)

    assert [r.name for r in plan.admit] == ["r1", "r2"]
    assert [(w.review.name, w.position) for w in plan.waiting] == [("r3", 1), ("r4", 2), ("r5", 3)]
    assert plan.waiting[0].message == "position 1 of 3; 3 of 3 slots busy"
    assert plan.slots_text == "3 of 3 slots busy"


def test_repository_cap_lets_other_repositories_pass():
    queued = [
        review("app-1", "octo/app", "2024-05-01T10:00:01Z"),
        review("app-2", "octo/app", "2024-05-01T10:00:02Z"),
        review("lib-1", "octo/lib", "2024-05-01T10:00:03Z"),
    ]

    plan = plan_admission(queued, [ActiveJob("j", "octo/app")], limit=3, per_repository_cap=2)

    assert [r.name for r in plan.admit] == ["app-1", "lib-1"]
    assert len(plan.waiting) == 1
    assert plan.waiting[0].review.name == "app-2"
    assert plan.waiting[0].message == "position 1 of 1; 3 of 3 slots busy"


def test_repository_cap_is_named_when_slots_are_free():
    queued = [review("app-2", "octo/app", "2024-05-01T10:00:02Z")]

    plan = plan_admission(queued, [ActiveJob("j", "octo/app")], limit=3, per_repository_cap=1)

    assert plan.admit == ()
    assert plan.waiting[0].message == "position 1 of 1; 1 of 3 slots busy; octo/app has 1 of 1 reviews running"


def test_zero_cap_means_no_repository_cap():
    queued = [review(f"r{i}", created=f"2024-05-01T10:00:0{i}Z") for i in range(1, 4)]

    plan = plan_admission(queued, [ActiveJob("j", "octo/app")], limit=4, per_repository_cap=0)

    assert [r.name for r in plan.admit] == ["r1", "r2", "r3"]
    assert plan.busy_slots == 4


def test_empty_queue_gives_empty_plan():
    plan = plan_admission([], [ActiveJob("j", "octo/app")], limit=3)

    assert plan.admit == ()
    assert plan.waiting == ()
    assert plan.busy_slots == 1


def test_far_positions_are_shown_as_bands():
    active = [ActiveJob("j1", "octo/app")]
    queued = [review(f"r{i:03d}") for i in range(1, 121)]

    plan = plan_admission(queued, active, limit=1)

    by_position = {w.position: w for w in plan.waiting}
    assert by_position[10].message == "position 10 of 120; 1 of 1 slots busy"
    assert by_position[10].reported_position == 10
    assert by_position[11].message == "position 11-20 in the queue; 1 of 1 slots busy"
    assert by_position[11].reported_position == 20
    assert by_position[75].message == "position 51-100 in the queue; 1 of 1 slots busy"
    assert by_position[120].message == "position 101-200 in the queue; 1 of 1 slots busy"
    assert by_position[120].reported_position == 200


def test_banded_status_stays_the_same_as_the_queue_moves():
    active = [ActiveJob("j1", "octo/app")]
    queued = [review(f"r{i:03d}") for i in range(1, 121)]

    before = {w.review.name: w for w in plan_admission(queued, active, limit=1).waiting}
    after = {w.review.name: w for w in plan_admission(queued[1:], active, limit=1).waiting}

    # One review left the queue: the far ones keep message and reported position, so nothing is written.
    unchanged = [name for name in after if (after[name].message, after[name].reported_position)
                 == (before[name].message, before[name].reported_position)]
    assert len(unchanged) == 119 - 10 - 3
