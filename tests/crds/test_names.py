import re

import pytest

from prreview_api import LABEL_PR, LABEL_REPOSITORY
from prreview_api.names import is_dns_label, repository_label_value, review_name
from prreview_api.spec import ReviewSpec, review_resource

SHA_A = "3f9c2b7d81e04a5c6b2d9e8f0a1b4c7d2e5f8a90"
SHA_B = "3f9c2b7d81e04a5c6b2d9e8f0a1b4c7d2e5f8a91"  # same short SHA as SHA_A
LONG_OWNER = "a" * 39
LONG_REPOSITORY = f"{LONG_OWNER}/{'r' * 100}"
LABEL_VALUE = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)?$")


def test_name_is_deterministic() -> None:
    assert review_name("lumen-labs/orbit-api", 42, SHA_A) == review_name("lumen-labs/orbit-api", 42, SHA_A)


def test_name_reads_repository_pr_and_sha() -> None:
    name = review_name("lumen-labs/orbit-api", 42, SHA_A)
    assert re.fullmatch(r"prr-lumen-labs-orbit-api-42-3f9c2b7-[0-9a-f]{10}", name)


def test_name_ignores_repository_case() -> None:
    assert review_name("Lumen-Labs/Orbit-API", 42, SHA_A) == review_name("lumen-labs/orbit-api", 42, SHA_A)


@pytest.mark.parametrize(
    "repository",
    ["lumen-labs/orbit-api", "o/.github", "o/__init__", LONG_REPOSITORY, "a-b/c.d_e", "Z/9"],
)
def test_name_is_valid_dns_label(repository: str) -> None:
    name = review_name(repository, 9_999_999_999, SHA_A)
    assert len(name) <= 63
    assert is_dns_label(name)


def test_names_differ_by_sha_with_same_prefix() -> None:
    assert review_name(LONG_REPOSITORY, 1, SHA_A) != review_name(LONG_REPOSITORY, 1, SHA_B)


def test_names_differ_by_pr() -> None:
    assert review_name(LONG_REPOSITORY, 1, SHA_A) != review_name(LONG_REPOSITORY, 11, SHA_A)


def test_names_differ_by_truncated_repository() -> None:
    first = review_name(f"{LONG_OWNER}/{'r' * 99}x", 1, SHA_A)
    second = review_name(f"{LONG_OWNER}/{'r' * 99}y", 1, SHA_A)
    assert first[:-10] == second[:-10]
    assert first != second


def test_names_differ_by_slug_collision() -> None:
    # "a.b" and "a-b" slug to the same text; only the hash keeps them apart.
    assert review_name("o/a.b", 1, SHA_A) != review_name("o/a-b", 1, SHA_A)


def test_label_value_is_owner_dot_name() -> None:
    assert repository_label_value("Lumen-Labs/orbit-api") == "lumen-labs.orbit-api"


@pytest.mark.parametrize("repository", [LONG_REPOSITORY, "o/trailing-", "o/.github", "o/_x_"])
def test_label_value_is_valid(repository: str) -> None:
    value = repository_label_value(repository)
    assert len(value) <= 63
    assert LABEL_VALUE.match(value)


def test_long_label_values_stay_distinct() -> None:
    first = repository_label_value(f"{LONG_OWNER}/{'r' * 99}x")
    second = repository_label_value(f"{LONG_OWNER}/{'r' * 99}y")
    assert first != second


def test_resource_carries_labels_and_no_status() -> None:
    spec = ReviewSpec(
        repository="lumen-labs/orbit-api", pr_number=42, head_sha=SHA_A, base_ref="main",
        clone_url="https://github.com/lumen-labs/orbit-api.git", delivery_id="d-1", action="opened",
    )
    resource = review_resource(spec, "reviews", "pr-receiver")
    assert resource["metadata"] == {
        "name": spec.name,
        "namespace": "reviews",
        "labels": {
            LABEL_REPOSITORY: "lumen-labs.orbit-api",
            LABEL_PR: "42",
            "app.kubernetes.io/managed-by": "pr-receiver",
        },
    }
    assert "status" not in resource
    assert ReviewSpec.from_dict(resource["spec"]) == spec
