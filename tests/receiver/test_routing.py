from typing import Any

import pytest

from pr_receiver.delivery import Delivery, InvalidDelivery
from pr_receiver.routing import CancelReviews, Ignore, Pong, QueueReview, route_delivery
from tests.receiver.conftest import make_config
from tests.receiver.deliveries import fixture


def delivery(name: str, event: str = "pull_request", **changes: Any) -> Delivery:
    payload = fixture(name)
    payload.update(changes)
    return Delivery(event=event, delivery_id="dlv-7", payload=payload)


def test_opened_pr_routes_to_review() -> None:
    route = route_delivery(delivery("pull_request.opened.json"), make_config())
    assert isinstance(route, QueueReview)
    assert route.spec.delivery_id == "dlv-7"
    assert route.spec.head_sha == "3f9c2b7d81e04a5c6b2d9e8f0a1b4c7d2e5f8a90"


def test_uppercase_sha_is_lowercased() -> None:
    payload = fixture("pull_request.opened.json")
    payload["pull_request"]["head"]["sha"] = payload["pull_request"]["head"]["sha"].upper()
    route = route_delivery(Delivery("pull_request", "dlv-7", payload), make_config())
    assert isinstance(route, QueueReview)
    assert route.spec.head_sha == "3f9c2b7d81e04a5c6b2d9e8f0a1b4c7d2e5f8a90"


def test_long_title_is_cut_to_limit() -> None:
    payload = fixture("pull_request.opened.json")
    payload["pull_request"]["title"] = "t" * 300
    route = route_delivery(Delivery("pull_request", "dlv-7", payload), make_config())
    assert isinstance(route, QueueReview)
    assert route.spec.title == "t" * 256


def test_missing_optional_fields_are_omitted() -> None:
    payload = fixture("pull_request.converted_to_draft.json")  # sent without an installation
    payload["action"] = "opened"
    payload["pull_request"]["draft"] = False
    del payload["sender"]
    payload["pull_request"]["base"]["sha"] = None
    route = route_delivery(Delivery("pull_request", "dlv-7", payload), make_config())
    assert isinstance(route, QueueReview)
    assert route.spec.installation_id is None
    assert route.spec.sender is None
    assert route.spec.base_sha is None


def test_invalid_installation_id_is_named() -> None:
    with pytest.raises(InvalidDelivery) as caught:
        route_delivery(delivery("pull_request.opened.json", installation={"id": "48213377"}), make_config())
    assert str(caught.value) == "invalid field: installation.id: expected a positive integer"


def test_invalid_repository_is_named() -> None:
    payload = fixture("pull_request.opened.json")
    payload["repository"]["full_name"] = "orbit-api"
    with pytest.raises(InvalidDelivery) as caught:
        route_delivery(Delivery("pull_request", "dlv-7", payload), make_config())
    assert str(caught.value) == "invalid field: repository.full_name: expected owner/name"


def test_closed_routes_to_cancel() -> None:
    route = route_delivery(delivery("pull_request.closed.json"), make_config())
    assert route == CancelReviews("lumen-labs/orbit-api", 42, "PullRequestClosed", "PR #42 was closed")


def test_closed_needs_no_head_sha() -> None:
    payload = fixture("pull_request.closed.json")
    del payload["pull_request"]["head"]
    route = route_delivery(Delivery("pull_request", "dlv-7", payload), make_config())
    assert isinstance(route, CancelReviews)


def test_ping_routes_to_pong() -> None:
    assert route_delivery(delivery("ping.json", event="ping"), make_config()) == Pong("Keep it logically awesome.")


def test_allow_list_check_comes_before_cancel() -> None:
    config = make_config(allowed_repositories=frozenset({"lumen-labs/ground-station"}))
    route = route_delivery(delivery("pull_request.closed.json"), config)
    assert route == Ignore("repository lumen-labs/orbit-api is not in ALLOWED_REPOSITORIES", is_misconfiguration=True)


def test_configured_action_is_reviewed() -> None:
    config = make_config(review_actions=frozenset({"labeled"}))
    assert isinstance(route_delivery(delivery("pull_request.labeled.json"), config), QueueReview)
