"""End to end on a kind cluster: signed webhook in through the ingress, review posted to a fake GitHub.

Run with ``make images kind-up kind-load deploy e2e kind-down``. The module is skipped where docker
or kind is missing, the docker daemon does not respond, or the kind cluster does not exist.

The suite deploys a fake GitHub (tests/e2e/fake_server.py) in the release namespace. It serves
the scenario's repository over git's smart HTTP protocol and the REST API the reviewer posts to,
at the URL that tests/e2e/values-kind.yaml gives the reviewer (github.apiUrl).
"""

from __future__ import annotations

import base64
import re
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml

from tests.e2e import cluster
from tests.e2e.cluster import apply, helm, kubectl, kubectl_json, port_forward, wait_until
from tests.e2e.scenario import Scenario, build_scenario, pull_request_payload, signed_delivery
from tests.e2e.timeline import job_interval, job_is_active, max_overlap

REASON = cluster.unavailable_reason()
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(REASON is not None, reason=REASON or "")]

RELEASE = "pr-reviewer"
OPERATOR_DEPLOYMENT = f"{RELEASE}-operator"
RECEIVER_DEPLOYMENT = f"{RELEASE}-receiver"
FAKE = "e2e-fake-github"
FAKE_PORT = 8080
VALUES = yaml.safe_load((cluster.ROOT / "tests" / "e2e" / "values-kind.yaml").read_text(encoding="utf-8"))
WEBHOOK_SECRET: str = VALUES["webhook"]["secret"]
GITHUB_TOKEN: str = VALUES["github"]["token"]
SINGLE_PR = 1
CONCURRENT_PRS = [2, 3, 4, 5, 6]
FINAL_PHASES = ("Succeeded", "Failed", "Superseded", "Cancelled")
REVIEW_TIMEOUT_SECONDS = 420
ALL_REVIEWS_TIMEOUT_SECONDS = 900


@pytest.fixture(scope="module")
def release() -> dict[str, str]:
    """Install the chart unless `make deploy` did; return the operator's environment once it is rolled out."""
    if helm("status", RELEASE).returncode != 0:
        subprocess.run(["bash", str(cluster.ROOT / "scripts" / "kind.sh"), "deploy"], check=True, timeout=600)

    for deployment in (OPERATOR_DEPLOYMENT, RECEIVER_DEPLOYMENT):
        kubectl("rollout", "status", f"deployment/{deployment}", "--timeout=300s")
    operator = kubectl_json("get", "deployment", OPERATOR_DEPLOYMENT)
    environment = operator["spec"]["template"]["spec"]["containers"][0]["env"]
    return {variable["name"]: variable.get("value", "") for variable in environment}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    # A new repository name per run keeps resource names apart from those of earlier runs,
    # because the fixed commit dates make the SHAs repeat.
    repository = f"octo-org/e2e-{uuid.uuid4().hex[:8]}"
    return build_scenario(tmp_path_factory.mktemp("e2e"), [SINGLE_PR, *CONCURRENT_PRS], repository)


@pytest.fixture(scope="module")
def fake_github(release: dict[str, str], scenario: Scenario) -> Iterator[str]:
    """Deploy the fake GitHub with the scenario's bundle, register its PRs, and yield its control URL."""
    delete_fake()
    apply(*fake_manifests(release["REVIEWER_IMAGE"], scenario))
    kubectl("rollout", "status", f"deployment/{FAKE}", "--timeout=180s")

    try:
        with port_forward(FAKE, FAKE_PORT) as url:
            for number, pull in scenario.pulls.items():
                body = {"repository": scenario.repository, "number": number, "head_sha": pull.head_sha,
                        "hunks": pull.hunks}  # fmt: skip
                response = httpx.post(f"{url}/_e2e/pulls", json=body, timeout=10)
                assert response.status_code == 201, response.text
            yield url
    finally:
        delete_fake()


@pytest.fixture(scope="module")
def ingress(release: dict[str, str]) -> str:
    """Return the webhook URL once the ingress routes it to the receiver (which returns 405 for GET)."""
    url = f"{cluster.INGRESS_URL}/webhook"

    def receiver_answers() -> bool | None:
        try:
            return True if httpx.get(url, timeout=5).status_code == 405 else None
        except httpx.TransportError:
            return None

    wait_until(receiver_answers, timeout=120, interval=2, description=f"the ingress to route {url} to the receiver")
    return url


def delete_fake() -> None:
    for kind in ("deployment", "service", "configmap"):
        kubectl("delete", kind, "--selector", f"app.kubernetes.io/name={FAKE}", "--ignore-not-found", "--wait=true")


def fake_manifests(image: str, scenario: Scenario) -> list[dict[str, Any]]:
    """Return the ConfigMaps, Deployment and Service of the fake GitHub."""
    labels = {"app.kubernetes.io/name": FAKE}
    code = {
        "fake_server.py": (cluster.ROOT / "tests" / "e2e" / "fake_server.py").read_text(encoding="utf-8"),
        "github_api.py": (cluster.ROOT / "tests" / "fakes" / "github_api.py").read_text(encoding="utf-8"),
    }
    bundle = {scenario.bundle.name: base64.b64encode(scenario.bundle.read_bytes()).decode()}
    command = [
        "python", "/fake/fake_server.py", "--bundles", "/bundles", "--git-root", "/srv/git",
        "--token", GITHUB_TOKEN, "--port", str(FAKE_PORT),
    ]  # fmt: skip
    container = {
        "name": "fake-github",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": command,
        "env": [{"name": "PYTHONPATH", "value": "/fake"}, {"name": "HOME", "value": "/tmp"}],
        "ports": [{"name": "http", "containerPort": FAKE_PORT}],
        "readinessProbe": {"tcpSocket": {"port": "http"}, "periodSeconds": 2},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "code", "mountPath": "/fake"},
            {"name": "bundles", "mountPath": "/bundles"},
            {"name": "git", "mountPath": "/srv/git"},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    pod_spec = {
        "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
        "volumes": [
            {"name": "code", "configMap": {"name": f"{FAKE}-code"}},
            {"name": "bundles", "configMap": {"name": f"{FAKE}-bundles"}},
            {"name": "git", "emptyDir": {}},
            {"name": "tmp", "emptyDir": {}},
        ],
    }
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"{FAKE}-code", "labels": labels}, "data": code},
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"{FAKE}-bundles", "labels": labels},
            "binaryData": bundle,
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": FAKE, "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": pod_spec},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": FAKE, "labels": labels},
            "spec": {"selector": labels, "ports": [{"name": "http", "port": FAKE_PORT, "targetPort": "http"}]},
        },
    ]


def clone_url(scenario: Scenario) -> str:
    return f"http://{FAKE}.{cluster.NAMESPACE}.svc:{FAKE_PORT}/git/{scenario.repository}.git"


def send_webhook(ingress: str, scenario: Scenario, number: int) -> str:
    """Send the signed pull_request delivery for PR ``number``; return the PullRequestReview's name."""
    body, headers = signed_delivery(pull_request_payload(scenario, number, clone_url(scenario)), WEBHOOK_SECRET)
    response = httpx.post(ingress, content=body, headers=headers, timeout=15)

    assert response.status_code == 202, response.text
    assert response.json()["status"] == "queued"
    assert response.json()["duplicate"] is False
    return str(response.json()["name"])


def review_phase(name: str) -> str:
    resource = kubectl_json("get", "prreviews", name)
    return str(resource.get("status", {}).get("phase", ""))


def wait_for_final_phase(name: str, timeout: float) -> dict[str, Any]:
    def final_resource() -> dict[str, Any] | None:
        resource: dict[str, Any] = kubectl_json("get", "prreviews", name)
        return resource if resource.get("status", {}).get("phase") in FINAL_PHASES else None

    return wait_until(final_resource, timeout=timeout, interval=3, description=f"prreview {name} to finish")


def posted_reviews(fake_url: str, scenario: Scenario, number: int) -> dict[str, Any]:
    response = httpx.get(f"{fake_url}/_e2e/reviews/{scenario.repository}/{number}", timeout=10)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_helm_test_passes(release: dict[str, str]) -> None:
    result = helm("test", RELEASE, "--timeout", "2m")

    assert result.returncode == 0, result.stderr
    assert re.search(r"Phase:\s+Succeeded", result.stdout), result.stdout


def test_unsigned_webhook_is_rejected(ingress: str, scenario: Scenario) -> None:
    body, headers = signed_delivery(pull_request_payload(scenario, SINGLE_PR, clone_url(scenario)), "wrong-secret")
    response = httpx.post(ingress, content=body, headers=headers, timeout=15)

    assert response.status_code == 401
    assert response.json()["error"] == (
        "invalid X-Hub-Signature-256 signature: the GitHub webhook secret does not match the receiver's WEBHOOK_SECRET"
    )


def test_webhook_review_is_posted(ingress: str, fake_github: str, scenario: Scenario) -> None:
    name = send_webhook(ingress, scenario, SINGLE_PR)

    resource = wait_for_final_phase(name, REVIEW_TIMEOUT_SECONDS)

    assert resource["status"]["phase"] == "Succeeded", resource["status"].get("message")
    assert resource["status"]["result"]["total"] >= 1
    assert "Succeeded" in kubectl("get", "prreviews", name)
    posted = posted_reviews(fake_github, scenario, SINGLE_PR)
    assert len(posted["reviews"]) == 1
    assert {comment["path"] for comment in posted["review_comments"]} == {scenario.pulls[SINGLE_PR].path}


def test_active_review_limit_holds(ingress: str, fake_github: str, scenario: Scenario, release: dict[str, str]) -> None:
    limit = int(release["MAX_ACTIVE_REVIEWS"])
    names = [send_webhook(ingress, scenario, number) for number in CONCURRENT_PRS]
    peak_running = 0

    # Sample while the reviews run: never more unfinished Jobs or Running resources than the limit.
    def all_finished() -> bool | None:
        nonlocal peak_running
        jobs = kubectl_json("get", "jobs", "--selector", "app.kubernetes.io/component=review-job")["items"]
        active = [job["metadata"]["name"] for job in jobs if job_is_active(job)]
        phases = {name: review_phase(name) for name in names}
        running = [name for name, phase in phases.items() if phase == "Running"]
        assert len(active) <= limit, f"{len(active)} review Jobs active at once, limit {limit}: {active}"
        assert len(running) <= limit, f"{len(running)} reviews Running at once, limit {limit}: {running}"
        peak_running = max(peak_running, len(running))
        return True if all(phase in FINAL_PHASES for phase in phases.values()) else None

    wait_until(all_finished, timeout=ALL_REVIEWS_TIMEOUT_SECONDS, interval=1, description="all reviews to finish")

    assert {name: review_phase(name) for name in names} == dict.fromkeys(names, "Succeeded")
    assert 1 <= peak_running <= limit
    # The Jobs' own timestamps catch an overlap that fell between two samples.
    jobs = kubectl_json("get", "jobs", "--selector", "app.kubernetes.io/component=review-job")["items"]
    finished = [job_interval(job) for job in jobs if not job_is_active(job)]
    assert max_overlap(finished) <= limit
    for number in CONCURRENT_PRS:
        assert len(posted_reviews(fake_github, scenario, number)["reviews"]) == 1
