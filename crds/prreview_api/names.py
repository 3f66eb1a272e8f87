"""Deterministic resource names and label values for PullRequestReview resources.

The receiver and the operator both derive names and labels here, so a redelivered webhook
maps onto the resource that already exists and a label selector built from a repository
matches the labels written on its resources and Jobs.
"""

import hashlib
import re

from prreview_api import SHORT_SHA_LENGTH

MAX_NAME_LENGTH = 63  # a DNS label, so the name can also serve as a Job name and a label value
MAX_LABEL_VALUE_LENGTH = 63
NAME_PREFIX = "prr"
HASH_LENGTH = 10  # 40 bits of sha256; by the birthday bound, a clash needs ~2**20 names with equal other parts

_LABEL_VALUE = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)?$")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def review_identity(repository: str, pr_number: int, head_sha: str) -> str:
    """Return the canonical identity of one review: ``owner/name#N@sha``, lowercased.

    GitHub treats repository names case-insensitively, so two spellings of one repository
    give the same identity and therefore the same resource name.
    """
    return f"{repository.lower()}#{pr_number}@{head_sha.lower()}"


def review_name(repository: str, pr_number: int, head_sha: str) -> str:
    """Return the resource name of the review of ``repository`` PR ``pr_number`` at ``head_sha``.

    The name reads ``prr-<repository slug>-<pr>-<short sha>-<hash>`` and is at most 63
    characters. Only the slug is shortened to fit, and the hash covers the full identity,
    so two reviews that differ anywhere get different names even when their slugs are cut.
    """
    digest = _short_hash(review_identity(repository, pr_number, head_sha))
    short_sha = head_sha.lower()[:SHORT_SHA_LENGTH]
    suffix = f"-{pr_number}-{short_sha}-{digest}"

    room_for_slug = MAX_NAME_LENGTH - len(NAME_PREFIX) - 1 - len(suffix)
    slug = _slug(repository)[:room_for_slug].strip("-")
    if not slug:
        return f"{NAME_PREFIX}{suffix}"
    return f"{NAME_PREFIX}-{slug}{suffix}"


def repository_label_value(repository: str) -> str:
    """Return the value of the repository label for ``owner/name``: ``owner.name``, lowercased.

    A label value is at most 63 characters of ``[A-Za-z0-9._-]`` that start and end with a
    letter or digit. A repository that does not fit (long names, names ending in ``-``) gets
    a shortened value ending in a hash of the full name, so different repositories still get
    different values. Callers that need certainty filter on ``spec.repository`` as well.
    """
    value = repository.lower().replace("/", ".")
    if len(value) <= MAX_LABEL_VALUE_LENGTH and _LABEL_VALUE.match(value):
        return value

    digest = _short_hash(repository.lower())
    head = value[: MAX_LABEL_VALUE_LENGTH - HASH_LENGTH - 1]
    head = re.sub(r"[^a-z0-9._-]", "-", head).strip("._-")
    return f"{head}-{digest}" if head else digest


def pr_label_value(pr_number: int) -> str:
    """Return the value of the PR label: the PR number in decimal."""
    return str(pr_number)


def is_dns_label(value: str) -> bool:
    """Tell whether ``value`` is a valid RFC 1123 DNS label, as Kubernetes checks names."""
    return len(value) <= MAX_NAME_LENGTH and re.fullmatch(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?", value) is not None


def _slug(repository: str) -> str:
    return _NOT_SLUG.sub("-", repository.lower()).strip("-")


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:HASH_LENGTH]
