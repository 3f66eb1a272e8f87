"""Find the reviews made obsolete by a newer push to the same pull request."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from pr_operator.admission import parse_timestamp
from pr_operator.phases import is_final


@dataclass(frozen=True)
class ReviewHead:
    name: str
    repository: str
    pr_number: int
    head_sha: str
    created: str  # RFC 3339 creationTimestamp
    phase: str | None


@dataclass(frozen=True)
class Supersession:
    older: ReviewHead
    newer: ReviewHead


def find_superseded(reviews: Iterable[ReviewHead]) -> list[Supersession]:
    """Return every unfinished review for which a younger review of the same PR has a different head SHA.

    Age is the creation time, then the name (timestamps have one-second resolution). The newest review
    of the PR is named as the one that supersedes, because it is the head the reviewer should look at.
    """
    by_pull_request: dict[tuple[str, int], list[ReviewHead]] = defaultdict(list)
    for review in reviews:
        by_pull_request[(review.repository, review.pr_number)].append(review)

    superseded: list[Supersession] = []
    for group in by_pull_request.values():
        group.sort(key=lambda review: (parse_timestamp(review.created), review.name))
        newest = group[-1]
        for index, review in enumerate(group[:-1]):
            younger_shas = {younger.head_sha for younger in group[index + 1:]}
            if not is_final(review.phase) and younger_shas - {review.head_sha}:
                superseded.append(Supersession(older=review, newer=newest))
    return superseded
