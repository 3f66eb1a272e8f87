"""A job runner killed with SIGKILL and started again adopts or reaps the pods it left, and never reruns one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubesim.testing import RunningApiServer
from tests.jobrunner.conftest import NAMESPACE, Api, condition_of, wait_for

# Each run appends its pid to the marker file, waits for the go file, then reports success.
GATED_RUN = (
    "import json, os, sys, time\n"
    "marker, go = sys.argv[1], sys.argv[2]\n"
    "with open(marker, 'a') as handle:\n"
    "    handle.write(f'{os.getpid()}\\n')\n"
    "while not os.path.exists(go):\n"
    "    time.sleep(0.05)\n"
    "open(os.environ['PR_REVIEW_TERMINATION_LOG'], 'w').write(json.dumps({'phase': 'Succeeded', 'total': 1}))\n"
)


class RunnerProcess:
    """One ``python -m kubesim.jobrunner`` process that a test can kill with SIGKILL and start again."""

    def __init__(self, apiserver: RunningApiServer, folder: Path) -> None:
        self.kubeconfig = apiserver.write_kubeconfig(folder / "kubeconfig", token="runner-token")
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        command = [
            sys.executable, "-m", "kubesim.jobrunner", "--kubeconfig", str(self.kubeconfig),
            "--namespace", NAMESPACE, "--log-dir", str(self.folder / "logs"), "--retry-delay", "0.05",
        ]  # fmt: skip
        log = (self.folder / "runner.log").open("ab")
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)

    def kill_hard(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)


@pytest.fixture
def runner_process(apiserver: RunningApiServer, api: Api, tmp_path: Path) -> Iterator[RunnerProcess]:
    runner = RunnerProcess(apiserver, tmp_path)
    runner.start()
    try:
        yield runner
    finally:
        runner.stop()


def gated_job(api: Api, name: str, tmp_path: Path, **spec: Any) -> tuple[Path, Path]:
    marker, go = tmp_path / f"{name}.runs", tmp_path / f"{name}.go"
    api.create_job(name, "", command=[sys.executable, "-c", GATED_RUN, str(marker), str(go)], **spec)
    return marker, go


def runs(marker: Path) -> list[str]:
    return marker.read_text().split() if marker.exists() else []


def running_pod_pid(api: Api, job_name: str) -> int:
    def pid() -> int | None:
        for pod in api.pods(job_name):
            for status in (pod.get("status") or {}).get("containerStatuses") or []:
                if "running" in status["state"]:
                    return int(status["containerID"].removeprefix("kubesim://"))
        return None

    return wait_for(pid, what=f"a running pod of Job {job_name}")


def finished(api: Api, name: str, kind: str) -> dict[str, Any]:
    return wait_for(lambda: condition_of(api.job(name), kind) and api.job(name), 20.0, f"Job {name} {kind}")


def terminated_state(pod: dict[str, Any]) -> dict[str, Any]:
    return pod["status"]["containerStatuses"][0]["state"]["terminated"]


def test_restarted_runner_adopts_running_pod(api: Api, runner_process: RunnerProcess, tmp_path: Path) -> None:
    marker, go = gated_job(api, "adopted", tmp_path, backoffLimit=2)
    pid = running_pod_pid(api, "adopted")
    wait_for(lambda: runs(marker), what="the pod's first run")

    runner_process.kill_hard()
    runner_process.start()
    # The new runner lists Jobs before it watches, so once a later Job completes it has handled this one.
    api.create_job("probe", "pass")
    finished(api, "probe", "Complete")
    pods_while_running = api.pods("adopted")
    go.touch()
    job = finished(api, "adopted", "Complete")

    assert len(pods_while_running) == 1
    assert len(runs(marker)) == 1
    assert job["status"]["succeeded"] == 1
    assert job["status"]["failed"] == 0
    pods = api.pods("adopted")
    assert len(pods) == 1
    assert pods[0]["metadata"]["annotations"]["kubesim.io/pid"] == str(pid)
    assert pods[0]["status"]["phase"] == "Succeeded"
    assert terminated_state(pods[0])["exitCode"] == 0
    assert terminated_state(pods[0])["message"] == '{"phase": "Succeeded", "total": 1}'


def test_pod_ended_meanwhile_keeps_result(api: Api, runner_process: RunnerProcess, tmp_path: Path) -> None:
    marker, go = gated_job(api, "ended-meanwhile", tmp_path, backoffLimit=2)
    pid = running_pod_pid(api, "ended-meanwhile")

    runner_process.kill_hard()
    go.touch()
    wait_for(lambda: not Path(f"/proc/{pid}").exists() or _is_zombie(pid), what="the pod process to end")
    runner_process.start()
    job = finished(api, "ended-meanwhile", "Complete")

    assert len(runs(marker)) == 1
    assert job["status"]["succeeded"] == 1
    pods = api.pods("ended-meanwhile")
    assert len(pods) == 1
    assert terminated_state(pods[0])["exitCode"] == 0


def test_vanished_pod_is_failed_and_retried(api: Api, runner_process: RunnerProcess, tmp_path: Path) -> None:
    marker, go = gated_job(api, "vanished", tmp_path, backoffLimit=2)
    pid = running_pod_pid(api, "vanished")
    wait_for(lambda: runs(marker), what="the pod's first run")

    runner_process.kill_hard()
    os.killpg(pid, signal.SIGKILL)
    wait_for(lambda: not Path(f"/proc/{pid}").exists() or _is_zombie(pid), what="the pod process to end")
    go.touch()
    runner_process.start()
    job = finished(api, "vanished", "Complete")

    assert len(runs(marker)) == 2
    assert job["status"]["failed"] == 1
    assert job["status"]["succeeded"] == 1
    pods = api.pods("vanished")
    assert sorted(pod["status"]["phase"] for pod in pods) == ["Failed", "Succeeded"]
    failed = next(pod for pod in pods if pod["status"]["phase"] == "Failed")
    assert failed["metadata"]["annotations"]["kubesim.io/pid"] == str(pid)
    assert terminated_state(failed)["reason"] == "ContainerStatusUnknown"
    assert terminated_state(failed)["exitCode"] == 137


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rindex(")") + 2 :].startswith("Z")
