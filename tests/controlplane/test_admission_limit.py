from tests.controlplane.conftest import FINAL, ActiveJobSampler, sha, wait_for


def test_fifty_reviews_never_exceed_three_active_jobs(plane):
    plane.configure_reviewer(STANDIN_SECONDS="0.2")
    sampler = ActiveJobSampler(plane)
    names = [f"review-{index:02d}" for index in range(50)]
    for index, name in enumerate(names):
        plane.create_review(name, pr=index + 1, head=sha(index))
    plane.start_operator(MAX_ACTIVE_REVIEWS="3")

    wait_for(
        lambda: all(r.get("status", {}).get("phase") in FINAL for r in plane.reviews().values()),
        timeout=90, what="all 50 reviews to finish",
    )
    samples = sampler.stop()

    assert max(samples) == 3
    reviews = plane.reviews()
    assert {r["status"]["phase"] for r in reviews.values()} == {"Succeeded"}
    assert len(plane.jobs()) == 50
    assert plane.admission_order() == names
    assert sorted(plane.started()) == sorted(f"octo/app#{index + 1}" for index in range(50))
