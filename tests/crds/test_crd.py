import re
from typing import Any

import jsonschema
import pytest

import prreview_api
from prreview_api import Phase
from prreview_api.spec import ReviewSpec, review_resource
from tests.crds.crd import closed_schema, load_crd, open_api_schema

HEAD_SHA = "3f9c2b7d81e04a5c6b2d9e8f0a1b4c7d2e5f8a90"


def sample_resource(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "repository": "lumen-labs/orbit-api", "pr_number": 42, "head_sha": HEAD_SHA, "base_ref": "main",
        "clone_url": "https://github.com/lumen-labs/orbit-api.git", "delivery_id": "d-1", "action": "opened",
        "base_sha": "c04e8a1f2b7d3e9c5a6f8b0d1e2c4a7f9b3d5e61", "installation_id": 48213377, "sender": "mira-dev",
        "title": "Retry orbit window fetches with jitter",
    }
    values.update(changes)
    return review_resource(ReviewSpec(**values), "reviews", "pr-receiver")


def schema_errors(resource: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(closed_schema(open_api_schema()))
    return [error.message for error in validator.iter_errors(resource)]


def test_crd_names_match_constants() -> None:
    crd = load_crd()
    names = crd["spec"]["names"]
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    assert crd["kind"] == "CustomResourceDefinition"
    assert crd["metadata"]["name"] == prreview_api.CRD_NAME
    assert crd["spec"]["group"] == prreview_api.GROUP
    assert crd["spec"]["scope"] == "Namespaced"
    assert names["plural"] == prreview_api.PLURAL
    assert names["singular"] == prreview_api.SINGULAR
    assert names["kind"] == prreview_api.KIND
    assert tuple(names["shortNames"]) == prreview_api.SHORT_NAMES


def test_crd_has_one_served_stored_version() -> None:
    versions = load_crd()["spec"]["versions"]
    assert [version["name"] for version in versions] == [prreview_api.VERSION]
    assert versions[0]["served"] is True
    assert versions[0]["storage"] is True
    assert versions[0]["subresources"] == {"status": {}}


def test_phase_enum_matches_constants() -> None:
    status = open_api_schema()["properties"]["status"]["properties"]
    assert tuple(status["phase"]["enum"]) == Phase.ALL


def test_action_enum_matches_constants() -> None:
    spec = open_api_schema()["properties"]["spec"]["properties"]
    assert tuple(spec["action"]["enum"]) == prreview_api.ACTIONS


def test_spec_declares_every_spec_field() -> None:
    spec = open_api_schema()["properties"]["spec"]
    assert set(prreview_api.SPEC_FIELDS) | {"headShortSha"} == set(spec["properties"])
    assert set(spec["required"]) == {"repository", "prNumber", "headSha", "baseRef", "cloneUrl", "deliveryId", "action"}


def test_schema_is_structural() -> None:
    untyped: list[str] = []

    def walk(node: dict[str, Any], path: str) -> None:
        if "type" not in node and not node.get("x-kubernetes-preserve-unknown-fields"):
            untyped.append(path)
        for name, child in (node.get("properties") or {}).items():
            walk(child, f"{path}.{name}")
        if isinstance(node.get("items"), dict):
            walk(node["items"], f"{path}[]")
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"], f"{path}.*")
        if "properties" in node and isinstance(node.get("additionalProperties"), dict):
            untyped.append(f"{path} (properties and additionalProperties together)")

    walk(open_api_schema(), "")
    assert untyped == []


def test_kopf_status_keeps_unknown_fields() -> None:
    kopf = open_api_schema()["properties"]["status"]["properties"]["kopf"]
    assert kopf == {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


def test_printer_columns_cover_review_overview() -> None:
    columns = {column["name"]: column for column in load_crd()["spec"]["versions"][0]["additionalPrinterColumns"]}
    assert columns["Repository"]["jsonPath"] == ".spec.repository"
    assert columns["PR"]["jsonPath"] == ".spec.prNumber"
    assert columns["Head"]["jsonPath"] == ".spec.headShortSha"
    assert columns["Phase"]["jsonPath"] == ".status.phase"
    assert columns["Findings"]["jsonPath"] == ".status.result.total"
    assert columns["Age"] == {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}


def test_receiver_resource_validates() -> None:
    assert schema_errors(sample_resource()) == []


def test_minimal_resource_validates() -> None:
    resource = sample_resource(base_sha=None, installation_id=None, sender=None, title=None)
    assert schema_errors(resource) == []
    assert set(resource["spec"]) == {
        "repository", "prNumber", "headSha", "headShortSha", "baseRef", "cloneUrl", "deliveryId", "action",
    }


def test_file_clone_url_validates() -> None:
    assert schema_errors(sample_resource(clone_url="file:///tmp/repos/orbit-api.git")) == []


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"repository": "orbit-api"}, "does not match"),
        ({"pr_number": 0}, "less than the minimum of 1"),
        ({"head_sha": "3f9c2b7"}, "does not match"),
        ({"base_sha": "HEAD"}, "does not match"),
        ({"clone_url": "https://x-access-token:ghs_abc@github.com/o/r.git"}, "does not match"),
        ({"clone_url": "git@github.com:lumen-labs/orbit-api.git"}, "does not match"),
        ({"action": "closed"}, "is not one of"),
    ],
)
def test_invalid_spec_is_rejected(changes: dict[str, Any], fragment: str) -> None:
    errors = schema_errors(sample_resource(**changes))
    assert len(errors) == 1
    assert fragment in errors[0]


def test_title_longer_than_limit_is_rejected() -> None:
    resource = sample_resource()
    resource["spec"]["title"] = "x" * 257
    assert schema_errors(resource) == ["'" + "x" * 257 + "' is too long"]


def test_every_operator_status_field_is_declared() -> None:
    resource = sample_resource()
    resource["status"] = {
        "phase": "Succeeded", "reason": "Succeeded", "message": "posted 3 findings",
        "conditions": [{
            "type": "Finished", "status": "True", "reason": "Succeeded", "message": "posted 3 findings",
            "lastTransitionTime": "2025-06-03T09:00:00Z", "observedGeneration": 1,
        }],
        "jobName": "prr-lumen-labs-orbit-api-42-3f9c2b7-76cd8b9cdf", "queuedAt": "2025-06-03T08:46:03Z",
        "startedAt": "2025-06-03T08:46:05Z", "completedAt": "2025-06-03T08:49:12Z", "attempt": 1, "attempts": 1,
        "queuePosition": 2, "supersededBy": "prr-other", "observedGeneration": 1,
        "result": {
            "partial": False, "findings": {"critical": 0, "high": 1, "medium": 2, "low": 0, "info": 0}, "total": 3,
            "reviewUrl": "https://github.com/lumen-labs/orbit-api/pull/42#pullrequestreview-1", "message": "ok",
            "exitCode": 0,
        },
        "kopf": {"progress": {"reconcile": {"started": "2025-06-03T08:46:03Z", "retries": 0}}},
    }
    assert schema_errors(resource) == []


def test_undeclared_status_field_would_be_pruned() -> None:
    resource = sample_resource()
    resource["status"] = {"phase": "Queued", "heartbeat": "2025-06-03T08:46:03Z"}
    errors = schema_errors(resource)
    assert len(errors) == 1
    assert re.search(r"'heartbeat' was unexpected", errors[0])


def test_unknown_phase_is_rejected() -> None:
    resource = sample_resource()
    resource["status"] = {"phase": "Pending"}
    assert schema_errors(resource) == [
        "'Pending' is not one of ['Queued', 'Running', 'Succeeded', 'Failed', 'Superseded', 'Cancelled']"
    ]


@pytest.mark.parametrize(
    ("field", "max_length"),
    [
        ("repository", prreview_api.REPOSITORY_MAX_LENGTH),
        ("baseRef", prreview_api.BASE_REF_MAX_LENGTH),
        ("cloneUrl", prreview_api.CLONE_URL_MAX_LENGTH),
        ("deliveryId", prreview_api.DELIVERY_ID_MAX_LENGTH),
        ("sender", prreview_api.SENDER_MAX_LENGTH),
        ("title", prreview_api.TITLE_MAX_LENGTH),
    ],
)
def test_spec_max_lengths_match_constants(field: str, max_length: int) -> None:
    spec = open_api_schema()["properties"]["spec"]["properties"]
    assert spec[field]["maxLength"] == max_length


@pytest.mark.parametrize(
    ("field", "pattern"),
    [("repository", prreview_api.REPOSITORY_PATTERN), ("cloneUrl", prreview_api.CLONE_URL_PATTERN)],
)
def test_spec_patterns_match_constants(field: str, pattern: str) -> None:
    spec = open_api_schema()["properties"]["spec"]["properties"]
    assert spec[field]["pattern"] == f"^{pattern}$"


@pytest.mark.parametrize("field", ["prNumber", "installationId"])
def test_spec_integers_are_positive_int64(field: str) -> None:
    spec = open_api_schema()["properties"]["spec"]["properties"]
    assert spec[field]["type"] == "integer"
    assert spec[field]["format"] == "int64"
    assert spec[field]["minimum"] == 1
    assert "maximum" not in spec[field]
    assert prreview_api.INT64_MAX == 9223372036854775807
