"""One kubesim API server and one job runner process (``python -m kubesim.jobrunner``) for the whole module."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kubesim.testing import RunningApiServer, running_apiserver

NAMESPACE = "runner"
REPO_ROOT = Path(__file__).resolve().parents[2]


def wait_for(condition: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll ``condition`` until it returns a truthy value, or fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


class Api:
    """Plain HTTP calls against the emulator, as a test client would make them."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=10.0)

    def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post(path, json=body)
        assert response.status_code == 201, response.text
        return response.json()

    def get(self, path: str) -> dict[str, Any] | None:
        response = self.http.get(path)
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        return response.json()

    def delete(self, path: str) -> None:
        response = self.http.request("DELETE", path, json={"propagationPolicy": "Background"})
        assert response.status_code in (200, 202), response.text

    def job(self, name: str) -> dict[str, Any] | None:
        return self.get(f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs/{name}")

    def pods(self, job_name: str) -> list[dict[str, Any]]:
        answer = self.get(f"/api/v1/namespaces/{NAMESPACE}/pods?labelSelector=job-name%3D{job_name}") or {}
        return list(answer.get("items") or [])

    def create_job(self, name: str, script: str, **spec: Any) -> dict[str, Any]:
        container = {
            "name": "main",
            "image": "local",
            "command": spec.pop("command", [sys.executable, "-c", script]),
            "terminationMessagePolicy": spec.pop("message_policy", "File"),
            "env": spec.pop("env", []),
            "envFrom": spec.pop("env_from", []),
            "volumeMounts": [{"name": "work", "mountPath": "/work"}],
        }
        body = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [container],
                        "volumes": [{"name": "work", "emptyDir": {}}],
                    }
                },
                **spec,
            },
        }
        return self.create(f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs", body)


def condition_of(job: dict[str, Any] | None, kind: str) -> dict[str, Any] | None:
    for condition in ((job or {}).get("status") or {}).get("conditions") or []:
        if condition["type"] == kind and condition["status"] == "True":
            return condition
    return None


@pytest.fixture(scope="module")
def apiserver() -> Iterator[RunningApiServer]:
    with running_apiserver(crd_dir=REPO_ROOT / "crds") as server:
        yield server


@pytest.fixture(scope="module")
def api(apiserver: RunningApiServer) -> Api:
    client = Api(apiserver.url)
    client.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    return client


@pytest.fixture(scope="module")
def runner(apiserver: RunningApiServer, api: Api, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Start the job runner; yield the folder where it keeps pod output."""
    folder = tmp_path_factory.mktemp("runner")
    kubeconfig = apiserver.write_kubeconfig(folder / "kubeconfig", token="runner-token")
    logs = folder / "logs"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    process = subprocess.Popen(
        [sys.executable, "-m", "kubesim.jobrunner", "--kubeconfig", str(kubeconfig), "--namespace", NAMESPACE,
         "--log-dir", str(logs), "--retry-delay", "0.05"],
        env=env, stdout=subprocess.DEVNULL, stderr=(folder / "runner.log").open("wb"),
    )
    try:
        yield logs
    finally:
        process.terminate()
        process.wait(timeout=15)
