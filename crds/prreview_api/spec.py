"""The typed spec of a PullRequestReview and the resource body built from it."""

from dataclasses import dataclass
from typing import Any

from prreview_api import (
    API_VERSION,
    KIND,
    LABEL_PR,
    LABEL_REPOSITORY,
    SHORT_SHA_LENGTH,
    TITLE_MAX_LENGTH,
)
from prreview_api.names import pr_label_value, repository_label_value, review_name

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"


@dataclass(frozen=True)
class ReviewSpec:
    """What to review: one pull request at one head commit, and the delivery that asked for it.

    ``clone_url`` is the base repository's, because ``refs/pull/<N>/head`` exists there for
    every PR, including PRs from forks that have since been deleted.
    """

    repository: str
    pr_number: int
    head_sha: str
    base_ref: str
    clone_url: str
    delivery_id: str
    action: str
    base_sha: str | None = None
    installation_id: int | None = None
    sender: str | None = None
    title: str | None = None

    @property
    def name(self) -> str:
        """The resource name, derived from repository, PR number and head SHA."""
        return review_name(self.repository, self.pr_number, self.head_sha)

    @property
    def labels(self) -> dict[str, str]:
        """Labels that select this resource by repository and by PR."""
        return {
            LABEL_REPOSITORY: repository_label_value(self.repository),
            LABEL_PR: pr_label_value(self.pr_number),
        }

    def to_dict(self) -> dict[str, Any]:
        """Return the spec as the API stores it (camelCase keys, optional fields omitted when unset)."""
        spec: dict[str, Any] = {
            "repository": self.repository,
            "prNumber": self.pr_number,
            "headSha": self.head_sha,
            "headShortSha": self.head_sha[:SHORT_SHA_LENGTH],
            "baseRef": self.base_ref,
            "cloneUrl": self.clone_url,
            "deliveryId": self.delivery_id,
            "action": self.action,
        }
        optional = {
            "baseSha": self.base_sha,
            "installationId": self.installation_id,
            "sender": self.sender,
            "title": self.title[:TITLE_MAX_LENGTH] if self.title is not None else None,
        }
        spec.update({key: value for key, value in optional.items() if value is not None})
        return spec

    @classmethod
    def from_dict(cls, spec: dict[str, Any]) -> "ReviewSpec":
        """Build a spec from a stored resource's ``spec`` (the derived ``headShortSha`` is ignored)."""
        return cls(
            repository=spec["repository"],
            pr_number=int(spec["prNumber"]),
            head_sha=spec["headSha"],
            base_ref=spec["baseRef"],
            clone_url=spec["cloneUrl"],
            delivery_id=spec["deliveryId"],
            action=spec["action"],
            base_sha=spec.get("baseSha"),
            installation_id=spec.get("installationId"),
            sender=spec.get("sender"),
            title=spec.get("title"),
        )


def review_resource(spec: ReviewSpec, namespace: str, managed_by: str) -> dict[str, Any]:
    """Return the body that creates the PullRequestReview for ``spec`` in ``namespace``, without status."""
    labels = {**spec.labels, MANAGED_BY_LABEL: managed_by}
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": spec.name, "namespace": namespace, "labels": labels},
        "spec": spec.to_dict(),
    }
