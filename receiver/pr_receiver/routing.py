"""Routing of a verified delivery: reply to a ping, queue a review, cancel reviews or ignore it.

Plain functions of the delivery and the settings, so every rule is testable without a server.
"""

from dataclasses import dataclass
from typing import Any

from pr_receiver.config import ReceiverConfig
from pr_receiver.delivery import (
    Delivery,
    InvalidDelivery,
    clone_url_field,
    optional_field,
    positive_int_field,
    repository_field,
    sha_field,
    string_field,
)
from prreview_api import BASE_REF_MAX_LENGTH, CLONE_URL_MAX_LENGTH, SENDER_MAX_LENGTH, TITLE_MAX_LENGTH
from prreview_api.spec import ReviewSpec

CANCEL_ACTIONS = ("closed", "converted_to_draft")


@dataclass(frozen=True)
class Pong:
    zen: str | None


@dataclass(frozen=True)
class QueueReview:
    spec: ReviewSpec


@dataclass(frozen=True)
class CancelReviews:
    repository: str
    pr_number: int
    reason: str  # CamelCase, for status.reason
    message: str


@dataclass(frozen=True)
class Ignore:
    reason: str
    is_misconfiguration: bool = False  # logged as a warning: GitHub sends events the receiver must drop


Route = Pong | QueueReview | CancelReviews | Ignore


def route_delivery(delivery: Delivery, config: ReceiverConfig) -> Route:
    """Decide what ``delivery`` requests; raise ``InvalidDelivery`` when a field needed for that is missing."""
    if delivery.event == "ping":
        return Pong(zen=_optional_str(delivery.payload, "zen"))
    if delivery.event != "pull_request":
        return Ignore(f"event {delivery.event!r} is not handled: only pull_request and ping are")
    return _route_pull_request(delivery, config)


def _route_pull_request(delivery: Delivery, config: ReceiverConfig) -> Route:
    payload = delivery.payload
    action = string_field(payload, "action")
    repository = repository_field(payload, "repository.full_name")
    pr_number = positive_int_field(payload, "pull_request.number")

    if not config.repository_is_allowed(repository):
        return Ignore(f"repository {repository} is not in ALLOWED_REPOSITORIES", is_misconfiguration=True)
    if action in CANCEL_ACTIONS:
        return _route_cancel(action, repository, pr_number, payload, config)
    if action not in config.review_actions:
        allowed = ", ".join(sorted(config.review_actions))
        return Ignore(f"action {action!r} does not trigger a review: REVIEW_ACTIONS is {allowed}")

    spec = review_spec(delivery, action, repository, pr_number)
    if _is_draft(payload) and not config.review_drafts:
        return Ignore(f"PR #{pr_number} is a draft: drafts are not reviewed unless REVIEW_DRAFTS=true")
    return QueueReview(spec)


def _route_cancel(
    action: str, repository: str, pr_number: int, payload: dict[str, Any], config: ReceiverConfig
) -> Route:
    if action == "converted_to_draft":
        if config.review_drafts:
            return Ignore(f"PR #{pr_number} became a draft, and drafts are reviewed because REVIEW_DRAFTS=true")
        return CancelReviews(repository, pr_number, "PullRequestConvertedToDraft", f"PR #{pr_number} became a draft")

    if optional_field(payload, "pull_request.merged") is True:
        return CancelReviews(repository, pr_number, "PullRequestClosed", f"PR #{pr_number} was merged")
    return CancelReviews(repository, pr_number, "PullRequestClosed", f"PR #{pr_number} was closed")


def review_spec(delivery: Delivery, action: str, repository: str, pr_number: int) -> ReviewSpec:
    """Build the review spec from a pull_request payload.

    The clone URL is the base repository's even for forks: ``refs/pull/<N>/head`` exists there,
    and a deleted fork sends ``pull_request.head.repo: null``.
    """
    payload = delivery.payload
    title = _optional_str(payload, "pull_request.title")
    return ReviewSpec(
        repository=repository,
        pr_number=pr_number,
        head_sha=sha_field(payload, "pull_request.head.sha"),
        base_ref=string_field(payload, "pull_request.base.ref", BASE_REF_MAX_LENGTH),
        clone_url=clone_url_field(payload, "pull_request.base.repo.clone_url", CLONE_URL_MAX_LENGTH),
        delivery_id=delivery.delivery_id,
        action=action,
        base_sha=_optional_sha(payload, "pull_request.base.sha"),
        installation_id=_optional_installation(payload),
        sender=_optional_sender(payload),
        title=title[:TITLE_MAX_LENGTH] if title is not None else None,
    )


def _is_draft(payload: dict[str, Any]) -> bool:
    return optional_field(payload, "pull_request.draft") is True


def _optional_str(payload: dict[str, Any], path: str) -> str | None:
    value = optional_field(payload, path)
    return value if isinstance(value, str) else None


def _optional_sender(payload: dict[str, Any]) -> str | None:
    sender = _optional_str(payload, "sender.login")
    if sender is not None and len(sender) > SENDER_MAX_LENGTH:
        raise InvalidDelivery(
            f"invalid field: sender.login: longer than {SENDER_MAX_LENGTH} characters ({len(sender)})"
        )
    return sender


def _optional_sha(payload: dict[str, Any], path: str) -> str | None:
    return sha_field(payload, path) if optional_field(payload, path) is not None else None


def _optional_installation(payload: dict[str, Any]) -> int | None:
    if optional_field(payload, "installation.id") is None:
        return None
    return positive_int_field(payload, "installation.id")


__all__ = ["CancelReviews", "Ignore", "InvalidDelivery", "Pong", "QueueReview", "Route", "route_delivery"]
