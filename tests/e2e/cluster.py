"""kubectl access to the kind cluster that scripts/kind.sh creates, for the end-to-end suite.

Settings come from the same environment variables as scripts/kind.sh: KIND_CLUSTER (default
pr-reviewer), REVIEW_NAMESPACE (default pr-reviewer) and KIND_HTTP_PORT (default 8080).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = os.environ.get("KIND_CLUSTER", "pr-reviewer")
CONTEXT = f"kind-{CLUSTER}"
NAMESPACE = os.environ.get("REVIEW_NAMESPACE", "pr-reviewer")
INGRESS_URL = f"http://127.0.0.1:{os.environ.get('KIND_HTTP_PORT', '8080')}"
TOOLS = ROOT / ".tools" / "bin"
KUBECTL = shutil.which("kubectl") or str(TOOLS / "kubectl")
FORWARDING = re.compile(r"Forwarding from 127\.0\.0\.1:(?P<port>\d+) ->")

T = TypeVar("T")


def unavailable_reason() -> str | None:
    """Return why the kind suite cannot run here, or None when docker, kind and the cluster are all there."""
    for tool in ("docker", "kind"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed: the kind suite needs docker and kind"
    if not Path(KUBECTL).exists():
        return "kubectl is not installed: run scripts/fetch-tools.sh or install kubectl"

    docker = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30, check=False)
    if docker.returncode != 0:
        return "the docker daemon does not answer `docker info`: start Docker to run the kind suite"

    clusters = subprocess.run(["kind", "get", "clusters"], capture_output=True, text=True, timeout=30, check=False)
    if CLUSTER not in clusters.stdout.split():
        return f"kind cluster {CLUSTER!r} does not exist: run make images kind-up kind-load deploy first"
    return None


def helm(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run helm against the kind cluster's release namespace, fetching helm into .tools/bin if needed."""
    subprocess.run(["bash", str(ROOT / "scripts" / "fetch-tools.sh")], check=True, timeout=300)
    command = [*args, "--kube-context", CONTEXT, "--namespace", NAMESPACE]
    environment = {**os.environ, "PATH": f"{TOOLS}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(["helm", *command], capture_output=True, text=True, timeout=timeout, env=environment)


def kubectl(*args: str, input_text: str | None = None, check: bool = True, namespaced: bool = True) -> str:
    """Run kubectl against the kind cluster (in the release namespace) and return its stdout."""
    command = [KUBECTL, "--context", CONTEXT, *(["--namespace", NAMESPACE] if namespaced else []), *args]
    result = subprocess.run(command, input=input_text, capture_output=True, text=True, timeout=300, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed with exit {result.returncode}: {result.stderr.strip()}")
    return result.stdout


def kubectl_json(*args: str) -> Any:
    return json.loads(kubectl(*args, "--output", "json"))


def apply(*manifests: dict[str, Any]) -> None:
    kubectl("apply", "--filename", "-", input_text=json.dumps({"apiVersion": "v1", "kind": "List", "items": manifests}))


def wait_until(condition: Callable[[], T | None], *, timeout: float, interval: float, description: str) -> T:
    """Call ``condition`` every ``interval`` seconds until it returns something other than None, for ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {description}")
        time.sleep(interval)


@contextmanager
def port_forward(service: str, port: int) -> Iterator[str]:
    """Forward a free local port on 127.0.0.1 to ``service``:``port``; yield the local base URL."""
    target = [f"service/{service}", f":{port}"]
    command = [KUBECTL, "--context", CONTEXT, "--namespace", NAMESPACE, "port-forward", *target]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = FORWARDING.search(line)
        if not match:
            stderr = process.stderr.read() if process.poll() is not None and process.stderr else ""
            raise AssertionError(f"kubectl port-forward to {service}:{port} failed: {line.strip()} {stderr.strip()}")
        yield f"http://127.0.0.1:{match['port']}"
    finally:
        process.terminate()
        process.wait(timeout=10)
