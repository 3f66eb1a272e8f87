"""The Job the operator builds, configured by the chart: valid batch/v1, and wired to the chart's objects.

The operator's settings come from the environment the chart renders for its Deployment, so a
renamed Secret, ConfigMap or label on either side fails here instead of in a cluster.
"""

from __future__ import annotations

import uuid
from typing import Any

import kubernetes_validate
import pytest

from pr_operator.config import OperatorConfig
from pr_operator.jobs import build_job
from prreview_api.spec import ReviewSpec, review_resource
from tests.chart.conftest import NAMESPACE, RELEASE, Manifest, Render, container_env, find

KUBERNETES_VERSION = "1.33"
VALUES_FILES = [(), ("values-production.yaml",), ("values-inline-secrets.yaml",)]


def operator_config(manifests: list[Manifest]) -> OperatorConfig:
    """Return the operator's settings as its Deployment's environment sets them."""
    env = container_env(find(manifests, "Deployment", f"{RELEASE}-operator"))
    return OperatorConfig.from_env({name: variable["value"] for name, variable in env.items() if "value" in variable})


def review(installation_id: int | None = None) -> dict[str, Any]:
    spec = ReviewSpec(
        repository="octo-org/service-a",
        pr_number=42,
        head_sha="3f9c2b7d81e04a5c6b2d9e8f0a1b4c7d2e5f8a90",
        base_ref="main",
        base_sha="c04e8a1f2b7d3e9c5a6f8b0d1e2c4a7f9b3d5e61",
        clone_url="https://github.com/octo-org/service-a.git",
        delivery_id="72d3162e-cc78-11e3-81ab-4c9367dc0958",
        action="opened",
        installation_id=installation_id,
    )
    resource = review_resource(spec, NAMESPACE, "pr-receiver")
    resource["metadata"]["uid"] = str(uuid.uuid4())
    return resource


def job_for(manifests: list[Manifest], installation_id: int | None = None) -> dict[str, Any]:
    return build_job(review(installation_id), 1, operator_config(manifests))


def secret_references(job: dict[str, Any]) -> dict[str, tuple[str, str]]:
    env = job["spec"]["template"]["spec"]["containers"][0]["env"]
    return {
        variable["name"]: (variable["valueFrom"]["secretKeyRef"]["name"], variable["valueFrom"]["secretKeyRef"]["key"])
        for variable in env
        if "valueFrom" in variable
    }


@pytest.mark.parametrize("values", VALUES_FILES)
def test_review_job_is_valid_batch_v1(render: Render, values: tuple[str, ...]) -> None:
    job = job_for(render(*values), installation_id=12345)

    kubernetes_validate.validate(job, KUBERNETES_VERSION, strict=True)


def test_review_job_has_no_service_account_token(render: Render) -> None:
    pod = job_for(render())["spec"]["template"]["spec"]

    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True


def test_review_job_pods_match_network_policy(render: Render) -> None:
    manifests = render()
    selector = find(manifests, "NetworkPolicy", f"{RELEASE}-review-jobs")["spec"]["podSelector"]["matchLabels"]
    pod_labels = job_for(manifests)["spec"]["template"]["metadata"]["labels"]

    assert selector.items() <= pod_labels.items()


@pytest.mark.parametrize("values", VALUES_FILES)
def test_review_job_reads_chart_configmap(render: Render, values: tuple[str, ...]) -> None:
    manifests = render(*values)
    container = job_for(manifests)["spec"]["template"]["spec"]["containers"][0]

    assert container["envFrom"] == [{"configMapRef": {"name": f"{RELEASE}-reviewer-env", "optional": True}}]
    find(manifests, "ConfigMap", f"{RELEASE}-reviewer-env")


def test_review_job_reads_chart_secrets(render: Render) -> None:
    manifests = render()
    created = {m["metadata"]["name"]: set(m["data"]) for m in manifests if m["kind"] == "Secret"}

    references = secret_references(job_for(manifests))

    assert references == {
        "GITHUB_TOKEN": (f"{RELEASE}-github", "token"),
        "GITHUB_APP_ID": (f"{RELEASE}-github", "app-id"),
        "GITHUB_APP_PRIVATE_KEY": (f"{RELEASE}-github", "private-key"),
        "PR_REVIEW_LLM_API_KEY": (f"{RELEASE}-llm", "api-key"),
    }
    for secret, key in references.values():
        assert key in created[secret], f"the chart's Secret {secret} has no key {key}"


def test_review_job_reads_existing_secrets(render: Render) -> None:
    references = secret_references(job_for(render("values-production.yaml")))

    assert references["GITHUB_APP_ID"] == ("pr-reviewer-github-app", "app-id")
    assert references["GITHUB_APP_PRIVATE_KEY"] == ("pr-reviewer-github-app", "private-key")
    assert references["PR_REVIEW_LLM_API_KEY"] == ("pr-reviewer-llm-key", "api-key")


def test_review_job_holds_no_secret_value(render: Render) -> None:
    job = job_for(render("values-inline-secrets.yaml"))

    text = repr(job)
    for value in ("inline-webhook-secret-value", "inline-app-private-key-value", "inline-llm-api-key-value"):
        assert value not in text


def test_review_job_follows_chart_limits(render: Render) -> None:
    job = job_for(render("values-production.yaml"))
    container = job["spec"]["template"]["spec"]["containers"][0]

    assert job["spec"]["activeDeadlineSeconds"] == 900
    assert job["spec"]["backoffLimit"] == 1
    assert job["spec"]["ttlSecondsAfterFinished"] == 3600
    assert container["image"] == "pr-reviewer/reviewer:1.2.3"
    assert container["imagePullPolicy"] == "Always"
    assert container["resources"] == {
        "requests": {"cpu": "500m", "memory": "1Gi"},
        "limits": {"cpu": "1", "memory": "2Gi"},
    }
