"""The chart's RBAC against the API calls the receiver and operator really make.

A recorded run on the kubesim emulator drives both through every path that touches the API: a
review that succeeds, one superseded by a new push, and one cancelled by closing the PR and queued
again by reopening it. The run also calls the status endpoints and waits for the retention
clean-up. The emulator records
each request with its bearer token, so the verbs each component used come from the run, not from
reading the code. Both components run with the environment the chart renders for them.

The test then checks that the chart grants every recorded verb, with a ClusterRole where the
request was cluster-scoped. It also checks that the chart grants nothing beyond them, so a verb
the code stops calling must leave the chart too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask.testing import FlaskClient

from kubesim.testing import RunningApiServer, running_apiserver
from pr_receiver.app import create_app
from pr_receiver.config import load_config
from pr_receiver.kube_store import KubernetesReviewStore, kubernetes_api_client
from tests.chart.conftest import NAMESPACE, RELEASE, ROOT, Manifest, Render, container_env, find

OPERATOR_TOKEN = "operator-token"
RECEIVER_TOKEN = "receiver-token"
RUNNER_TOKEN = "job-runner-token"
ADMIN_TOKEN = "test-admin-token"
WEBHOOK_SECRET = "rbac-test-webhook-secret"
STANDIN = ROOT / "tests" / "controlplane" / "standin_review_job.py"
PHASE_TIMEOUT_SECONDS = 30.0
RETENTION_SECONDS = 6



@dataclass(frozen=True)
class Grant:
    group: str
    resource: str
    verb: str
    cluster_wide: bool


def sign(body: bytes) -> str:
    return "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()


def sha(seed: str) -> str:
    return hashlib.sha1(seed.encode()).hexdigest()


def grants_for(manifests: list[Manifest], service_account: str) -> set[Grant]:
    """Return what the chart's Roles and ClusterRoles bound to ``service_account`` allow."""
    granted: set[Grant] = set()
    for binding in manifests:
        if binding["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        if not any(subject["name"] == service_account for subject in binding["subjects"]):
            continue

        role = find(manifests, binding["roleRef"]["kind"], binding["roleRef"]["name"])
        cluster_wide = binding["kind"] == "ClusterRoleBinding"
        for rule in role["rules"]:
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    for verb in rule["verbs"]:
                        granted.add(Grant(group, resource, verb, cluster_wide))
    return granted


def used_by(apiserver: RunningApiServer, token: str) -> set[Grant]:
    """Return the verbs a client used, from the emulator's request log; cluster-wide for cluster-scoped requests."""
    return {
        Grant(record.group, record.rbac_resource, record.verb, record.namespace is None)
        for record in apiserver.request_log.records(token)
        if record.verb
    }


def is_allowed(use: Grant, granted: set[Grant]) -> bool:
    # A namespaced request is allowed by a Role in its namespace or by a ClusterRoleBinding.
    return Grant(use.group, use.resource, use.verb, True) in granted or (
        not use.cluster_wide and Grant(use.group, use.resource, use.verb, False) in granted
    )


def wait_for(condition: Callable[[], Any], description: str, timeout: float = PHASE_TIMEOUT_SECONDS) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {description}")
        time.sleep(0.05)


class RecordedRun:
    """The emulator, the job runner with a stand-in reviewer, the operator process and the receiver app."""

    def __init__(self, apiserver: RunningApiServer, folder: Path, manifests: list[Manifest]) -> None:
        self.apiserver = apiserver
        self.folder = folder
        self.manifests = manifests
        self.admin = httpx.Client(
            base_url=apiserver.url, timeout=10.0, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        )
        self.processes: list[subprocess.Popen[bytes]] = []
        self.operator: subprocess.Popen[bytes]
        self.reviews_path = f"/apis/prreviewer.io/v1alpha1/namespaces/{NAMESPACE}/prreviews"

    def kubeconfig(self, token: str) -> Path:
        return self.apiserver.write_kubeconfig(self.folder / f"{token}.kubeconfig", token=token, namespace=NAMESPACE)

    def prepare_namespace(self) -> None:
        self.admin.post("/api/v1/namespaces", json={"apiVersion": "v1", "kind": "Namespace",
                                                    "metadata": {"name": NAMESPACE}}).raise_for_status()  # fmt: skip
        # The chart's reviewer ConfigMap, plus what the stand-in reviewer reads: PRs 2 and 3 run
        # long enough to be superseded, cancelled or lose their Job while it is active.
        configmap = find(self.manifests, "ConfigMap", f"{RELEASE}-reviewer-env")
        data = {**configmap["data"], "STANDIN_SECONDS": "0.2", "STANDIN_SLOW_PRS": "2,3", "STANDIN_SLOW_SECONDS": "60"}
        body = {**configmap, "metadata": {"name": configmap["metadata"]["name"]}, "data": data}
        self.admin.post(f"/api/v1/namespaces/{NAMESPACE}/configmaps", json=body).raise_for_status()

    def start_job_runner(self) -> None:
        standin_bin = self.folder / "bin"
        standin_bin.mkdir()
        script = standin_bin / "pr-review-job"
        script.write_text(f"#!{sys.executable}\n" + STANDIN.read_text(encoding="utf-8"), encoding="utf-8")
        script.chmod(0o755)

        path = os.pathsep.join([str(standin_bin), str(Path(sys.executable).parent), os.environ.get("PATH", "")])
        command = [sys.executable, "-m", "kubesim.jobrunner", "--kubeconfig", str(self.kubeconfig(RUNNER_TOKEN)),
                   "--namespace", NAMESPACE, "--retry-delay", "0.05"]  # fmt: skip
        self.start(command, {**os.environ, "PATH": path}, "runner.log")

    def start_operator(self) -> None:
        """Start ``python -m pr_operator`` with the environment the chart renders for its Deployment."""
        rendered = container_env(find(self.manifests, "Deployment", f"{RELEASE}-operator"))
        environment = {
            **os.environ,
            **{name: variable["value"] for name, variable in rendered.items() if "value" in variable},
            "KUBECONFIG": str(self.kubeconfig(OPERATOR_TOKEN)),
            # The chart's liveness address listens on every interface; the run needs no probe.
            "OPERATOR_LIVENESS_ENDPOINT": "",
            "RECONCILE_INTERVAL_SECONDS": "0.5",
            "REVIEW_RETENTION_SECONDS": str(RETENTION_SECONDS),
        }
        self.operator = self.start([sys.executable, "-m", "pr_operator"], environment, "operator.log")

    def start(self, command: list[str], environment: dict[str, str], log_name: str) -> subprocess.Popen[bytes]:
        log = (self.folder / log_name).open("ab")
        process = subprocess.Popen(command, env=environment, stdout=log, stderr=log)
        self.processes.append(process)
        return process

    @contextmanager
    def operator_paused(self) -> Iterator[None]:
        """Stop the operator process while the block runs, so it cannot take a fault meant for the receiver."""
        self.operator.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            self.operator.send_signal(signal.SIGCONT)

    def receiver_client(self, monkeypatch: pytest.MonkeyPatch) -> FlaskClient:
        """Build the receiver app with the chart's environment and a client that sends the receiver's token."""
        rendered = container_env(find(self.manifests, "Deployment", f"{RELEASE}-receiver"))
        environment = {name: variable["value"] for name, variable in rendered.items() if "value" in variable}
        config = load_config({**environment, "WEBHOOK_SECRET": WEBHOOK_SECRET})
        monkeypatch.setenv("KUBECONFIG", str(self.kubeconfig(RECEIVER_TOKEN)))
        store = KubernetesReviewStore(kubernetes_api_client(), config.namespace, config.kube_api_timeout_seconds)
        return create_app(config, store).test_client()

    def phase(self, name: str) -> str | None:
        response = self.admin.get(f"{self.reviews_path}/{name}")
        if response.status_code == 404:
            return None
        return str((response.json().get("status") or {}).get("phase", ""))

    def wait_phase(self, name: str, phase: str) -> None:
        wait_for(lambda: self.phase(name) == phase, f"prreview {name} to reach {phase}")

    def job_names(self) -> list[str]:
        jobs = self.admin.get(f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs").json()["items"]
        return sorted(job["metadata"]["name"] for job in jobs)

    def delete_job(self, name: str) -> None:
        self.admin.delete(f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs/{name}").raise_for_status()

    def operator_log(self) -> str:
        return (self.folder / "operator.log").read_text(encoding="utf-8", errors="replace")[-3000:]

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        self.admin.close()


def deliver(client: FlaskClient, action: str, number: int, head: str) -> dict[str, Any]:
    """Send a signed pull_request delivery to the receiver and return its JSON response."""
    payload = json.loads((ROOT / "tests" / "fixtures" / "webhooks" / "pull_request.opened.json").read_text())
    payload["action"] = action
    payload["number"] = number
    payload["pull_request"]["number"] = number
    payload["pull_request"]["head"]["sha"] = head
    payload["pull_request"]["state"] = "closed" if action == "closed" else "open"
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": f"rbac-{action}-{number}-{head[:7]}",
        "X-Hub-Signature-256": sign(body),
    }

    response = client.post("/webhook", data=body, headers=headers)
    assert response.status_code in (200, 202), response.get_data(as_text=True)
    answer: dict[str, Any] = response.get_json()
    return answer


@pytest.fixture
def recorded_run(render: Render, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordedRun]:
    with running_apiserver(crd_dir=ROOT / "crds") as apiserver:
        run = RecordedRun(apiserver, tmp_path, render())
        try:
            run.prepare_namespace()
            run.start_job_runner()
            run.start_operator()
            yield run
        finally:
            run.stop()


def test_chart_rbac_covers_recorded_calls(
    recorded_run: RecordedRun, render: Render, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = recorded_run
    receiver = run.receiver_client(monkeypatch)

    # A review that runs to the end: Job created, watched, its pod's termination message read.
    done = deliver(receiver, "opened", 1, sha("pr-1"))["name"]
    run.wait_phase(done, "Succeeded")

    # A push while the review runs: the operator supersedes it and deletes its Job.
    first = deliver(receiver, "opened", 2, sha("pr-2-first"))["name"]
    run.wait_phase(first, "Running")
    second = deliver(receiver, "synchronize", 2, sha("pr-2-second"))["name"]
    run.wait_phase(first, "Superseded")
    run.wait_phase(second, "Running")

    # Closing the PR: the receiver cancels the review and the operator deletes its Job. The first
    # status patch meets a conflict, as when the operator wrote in between, so the receiver re-reads.
    with run.operator_paused():
        run.apiserver.inject_error(409, method="PATCH", path_prefix=f"{run.reviews_path}/{second}/status", times=1)
        cancelled = deliver(receiver, "closed", 2, sha("pr-2-second"))
    assert cancelled["cancelled"] == 1
    run.wait_phase(second, "Cancelled")
    wait_for(lambda: len(run.job_names()) == 1, "the operator to delete the superseded and cancelled Jobs")

    # Reopening the PR at the same head: the receiver replaces the cancelled resource, and the
    # operator runs the new one. Closing it again frees its slot.
    reopened = deliver(receiver, "reopened", 2, sha("pr-2-second"))
    assert (reopened["name"], reopened["duplicate"], reopened["requeued"]) == (second, False, True)
    run.wait_phase(second, "Running")
    assert deliver(receiver, "closed", 2, sha("pr-2-second"))["cancelled"] == 1
    run.wait_phase(second, "Cancelled")
    wait_for(lambda: len(run.job_names()) == 1, "the operator to delete the reopened review's Job")

    # A Job deleted behind the operator's back: it confirms the Job is gone and starts a new attempt.
    lost = deliver(receiver, "opened", 3, sha("pr-3"))["name"]
    run.wait_phase(lost, "Running")
    (first_attempt,) = [name for name in run.job_names() if name.startswith(lost)]
    run.delete_job(first_attempt)
    wait_for(lambda: f"{lost}-2" in run.job_names(), "the operator to start a second attempt of the lost Job")

    # The status endpoints count resources and Jobs.
    assert receiver.get("/queue").status_code == 200
    assert receiver.get("/health").status_code == 200
    assert receiver.get("/ready").status_code == 200

    # Retention deletes finished resources once they are older than REVIEW_RETENTION_SECONDS.
    wait_for(lambda: run.phase(done) is None, "retention to delete the finished review", timeout=RETENTION_SECONDS + 20)

    manifests = render()
    for component, token in (("operator", OPERATOR_TOKEN), ("receiver", RECEIVER_TOKEN)):
        granted = grants_for(manifests, f"{RELEASE}-{component}")
        used = used_by(run.apiserver, token)
        assert used, f"the recorded run has no request from the {component}; its log:\n{run.operator_log()}"

        missing = sorted(f"{u.group or 'core'}/{u.resource} {u.verb}" for u in used if not is_allowed(u, granted))
        assert missing == [], f"the chart does not grant the {component} what it calls: {missing}"

        used_triples = {(u.group, u.resource, u.verb) for u in used}
        unused = {(g.group, g.resource, g.verb) for g in granted} - used_triples
        assert sorted(unused) == [], f"the chart grants the {component} verbs it never calls: {sorted(unused)}"
