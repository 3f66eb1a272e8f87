"""Which review object a Job belongs to, when a review was replaced under the same name."""

from __future__ import annotations

from pr_operator.jobstate import job_belongs_to
from prreview_api import API_VERSION, KIND


def review(uid: str) -> dict:
    return {"metadata": {"name": "prr-octo-app-7-abc1234-0123456789", "uid": uid}}


def job_owned_by(uid: str) -> dict:
    owner = {"apiVersion": API_VERSION, "kind": KIND, "name": "prr-octo-app-7-abc1234-0123456789",
             "uid": uid, "controller": True}
    return {"metadata": {"name": "prr-octo-app-7-abc1234-0123456789-1", "ownerReferences": [owner]}}


def test_job_of_the_same_object_belongs_to_it() -> None:
    assert job_belongs_to(job_owned_by("uid-new"), review("uid-new")) is True


def test_job_of_a_replaced_object_does_not_belong() -> None:
    assert job_belongs_to(job_owned_by("uid-old"), review("uid-new")) is False


def test_job_without_owner_reference_is_not_rejected() -> None:
    assert job_belongs_to({"metadata": {"name": "x"}}, review("uid-new")) is True
