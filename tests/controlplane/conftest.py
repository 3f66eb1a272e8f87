"""The control plane on kubesim: the real operator process (``python -m pr_operator``), the job runner,
and a stand-in ``pr-review-job`` first on the runner's PATH."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from kubesim.testing import RunningApiServer, running_apiserver

NAMESPACE = "reviews"
REPO_ROOT = Path(__file__).resolve().parents[2]
REVIEWS = f"/apis/prreviewer.io/v1alpha1/namespaces/{NAMESPACE}/prreviews"
JOBS = f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs"
FINAL = ("Succeeded", "Failed", "Superseded", "Cancelled")


def wait_for(condition: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll ``condition`` until it returns a truthy value, or fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def free_ports(count: int) -> list[int]:
    """Return ``count`` distinct ports that were free a moment ago, all held at once while choosing."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for probe in sockets:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in sockets]
    finally:
        for probe in sockets:
            probe.close()


def job_is_active(job: dict[str, Any]) -> bool:
    return not any(
        c["type"] in ("Complete", "Failed") and c["status"] == "True"
        for c in (job.get("status") or {}).get("conditions") or []
    )


def sha(number: int, variant: int = 0) -> str:
    return f"{number:08x}{variant:02x}".ljust(40, "a")


class ControlPlane:
    def __init__(self, apiserver: RunningApiServer, folder: Path) -> None:
        self.apiserver = apiserver
        self.folder = folder
        self.http = httpx.Client(base_url=apiserver.url, timeout=10.0)
        self.kubeconfig = apiserver.write_kubeconfig(folder / "kubeconfig", token="test-token", namespace=NAMESPACE)
        self.record = folder / "record.txt"
        self.operator: subprocess.Popen[bytes] | None = None
        self.runner: subprocess.Popen[bytes] | None = None
        self.operator_log = folder / "operator.log"
        self.operator_env: dict[str, str] = {}

    # -- API helpers ---------------------------------------------------------------------------------------

    def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post(path, json=body)
        assert response.status_code == 201, response.text
        return response.json()

    def items(self, path: str) -> list[dict[str, Any]]:
        response = self.http.get(path)
        assert response.status_code == 200, response.text
        return list(response.json()["items"])

    def reviews(self) -> dict[str, dict[str, Any]]:
        return {item["metadata"]["name"]: item for item in self.items(REVIEWS)}

    def review(self, name: str) -> dict[str, Any] | None:
        response = self.http.get(f"{REVIEWS}/{name}")
        return None if response.status_code == 404 else response.json()

    def jobs(self) -> list[dict[str, Any]]:
        return self.items(JOBS)

    def events(self, name: str) -> list[tuple[str, str]]:
        """Return (reason, message) of the Events about review ``name``, oldest first."""
        events = self.items(f"/api/v1/namespaces/{NAMESPACE}/events")
        events.sort(key=lambda event: int(event["metadata"]["resourceVersion"]))  # kubesim's counter is ordered
        return [(e["reason"], e["message"]) for e in events if e["involvedObject"]["name"] == name]

    def admission_order(self) -> list[str]:
        """Return the names of reviews in the order the operator posted their ``Admitted`` Events."""
        events = self.items(f"/api/v1/namespaces/{NAMESPACE}/events")
        events.sort(key=lambda event: int(event["metadata"]["resourceVersion"]))
        return [e["involvedObject"]["name"] for e in events if e["reason"] == "Admitted"]

    def create_review(self, name: str, pr: int, head: str, repository: str = "octo/app") -> dict[str, Any]:
        return self.create(REVIEWS, {
            "apiVersion": "prreviewer.io/v1alpha1",
            "kind": "PullRequestReview",
            "metadata": {"name": name},
            "spec": {
                "repository": repository,
                "prNumber": pr,
                "headSha": head,
                "baseRef": "main",
                "cloneUrl": f"https://github.example/{repository}.git",
                "deliveryId": f"delivery-{name}",
                "action": "synchronize",
            },
        })

    def phase(self, name: str) -> str | None:
        return ((self.review(name) or {}).get("status") or {}).get("phase")

    def wait_phase(self, name: str, *phases: str, timeout: float = 20.0) -> dict[str, Any]:
        return wait_for(
            lambda: self.phase(name) in phases and self.review(name), timeout, f"{name} to reach {'/'.join(phases)}"
        )

    def runs(self, event: str) -> list[tuple[str, str, int]]:
        """Return (``owner/repo#PR``, head SHA, pid) of each stand-in run that recorded ``event`` (start or end)."""
        if not self.record.exists():
            return []
        lines = [line.split() for line in self.record.read_text().splitlines()]
        return [(subject, head, int(pid)) for kind, subject, head, pid in lines if kind == event]

    def started(self) -> list[str]:
        return [subject for subject, _, _ in self.runs("start")]

    def patch_status(self, name: str, status: dict[str, Any]) -> dict[str, Any]:
        response = self.http.patch(
            f"{REVIEWS}/{name}/status", json={"status": status},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert response.status_code == 200, response.text
        return response.json()

    def delete(self, path: str) -> None:
        response = self.http.request("DELETE", path, json={"propagationPolicy": "Background"})
        assert response.status_code in (200, 202), response.text

    # -- processes -----------------------------------------------------------------------------------------

    def configure_reviewer(self, **settings: str) -> None:
        data = {"STANDIN_RECORD": f"host:{self.record}", "STANDIN_SECONDS": "0.3", **settings}
        self.create(f"/api/v1/namespaces/{NAMESPACE}/configmaps", {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "pr-reviewer-env"}, "data": data,
        })

    def start_runner(self, standin_bin: Path) -> None:
        path = f"{standin_bin}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
        self.runner = subprocess.Popen(
            [sys.executable, "-m", "kubesim.jobrunner", "--kubeconfig", str(self.kubeconfig),
             "--namespace", NAMESPACE, "--retry-delay", "0.05"],
            env={**os.environ, "PATH": path}, stdout=subprocess.DEVNULL,
            stderr=(self.folder / "runner.log").open("ab"),
        )

    def start_operator(self, **env: str) -> None:
        self.operator_env = {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "REVIEW_NAMESPACE": NAMESPACE,
            "MAX_ACTIVE_REVIEWS": "3",
            "RECONCILE_INTERVAL_SECONDS": "5",
            "REVIEWER_IMAGE": "pr-reviewer:test",
            **self.operator_env,
            **env,
        }
        self.operator = subprocess.Popen(
            [sys.executable, "-m", "pr_operator"], env=self.operator_env, stdout=subprocess.DEVNULL,
            stderr=self.operator_log.open("ab"),
        )

    def kill_operator(self) -> None:
        assert self.operator is not None
        self.operator.send_signal(signal.SIGKILL)
        self.operator.wait(timeout=10)

    def stop(self) -> None:
        for process in (self.operator, self.runner):
            if process is not None and process.poll() is None:
                process.terminate()
        for process in (self.operator, self.runner):
            if process is not None:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
        self.http.close()


@dataclass
class ActiveJobSampler:
    """Count active review Jobs in the emulator every few milliseconds, in a background thread."""

    plane: ControlPlane
    samples: list[int] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        client = httpx.Client(base_url=self.plane.apiserver.url, timeout=10.0)
        while not self._stop.is_set():
            jobs = client.get(JOBS).json()["items"]
            self.samples.append(sum(1 for job in jobs if job_is_active(job)))
            self._stop.wait(0.02)
        client.close()

    def stop(self) -> list[int]:
        self._stop.set()
        self._thread.join(timeout=10)
        return self.samples


@pytest.fixture
def standin_bin(tmp_path: Path) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "pr-review-job"
    script.write_text(f"#!{sys.executable}\n" + (Path(__file__).parent / "standin_review_job.py").read_text())
    script.chmod(0o755)
    return folder


@pytest.fixture
def plane(tmp_path: Path, standin_bin: Path) -> Iterator[ControlPlane]:
    with running_apiserver(crd_dir=REPO_ROOT / "crds") as apiserver:
        control_plane = ControlPlane(apiserver, tmp_path)
        control_plane.create("/api/v1/namespaces", {
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE},
        })
        control_plane.start_runner(standin_bin)
        try:
            yield control_plane
        finally:
            control_plane.stop()
