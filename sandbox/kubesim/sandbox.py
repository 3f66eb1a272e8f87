"""``pr-sandbox`` (``make sandbox``): the whole control plane on this machine, in the foreground.

It starts the kubesim API server (serving ``crds/``), the job runner, the operator and the receiver,
creates the namespace, demo Secrets and the reviewer ConfigMap, and writes ``.sandbox/env`` and
``.sandbox/kubeconfig``. Ctrl-C (SIGINT) or SIGTERM stops everything it started.

It is a sandbox, not a cluster: the API server keeps objects in memory, and Jobs run as local
processes without containers, images, resource limits or network isolation.
"""

from __future__ import annotations

import argparse
import base64
import logging
import os
import secrets
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO

import httpx
import yaml

logger = logging.getLogger("kubesim.sandbox")

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# kubesim accepts any bearer token; this one only names the sandbox's clients in its request log.
TOKEN = "sandbox"  # noqa: S105
START_TIMEOUT_SECONDS = 20.0

HELP_EPILOG = """\
This is a sandbox, not a cluster: kubesim keeps objects in memory, and each review Job runs as a local
process (no containers, images or resource limits). Reviews run with PR_REVIEW_DRY_RUN=true unless
--github-api-url points at a GitHub API (a fake one in tests, or the real one with a token).
"""


class Sandbox:
    def __init__(self, arguments: argparse.Namespace) -> None:
        self.arguments = arguments
        self.state = Path(arguments.state_dir).resolve()
        self.logs = self.state / "logs"
        self.kubeconfig = self.state / "kubeconfig"
        self.namespace = arguments.namespace
        self.webhook_secret = secrets.token_hex(32)
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []
        self._log_files: list[IO[bytes]] = []
        self.api_url = ""
        bin_dir = str(Path(sys.executable).parent)
        self.child_env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}

    def start(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        self.kubeconfig.unlink(missing_ok=True)

        self._start_apiserver()
        self._create_objects()
        self._start("jobrunner", [
            "-m", "kubesim.jobrunner", "--kubeconfig", str(self.kubeconfig), "--namespace", self.namespace,
            "--log-dir", str(self.logs / "pods"),
        ])
        self._start("operator", ["-m", "pr_operator"], {
            "KUBECONFIG": str(self.kubeconfig),
            "REVIEW_NAMESPACE": self.namespace,
            "MAX_ACTIVE_REVIEWS": str(self.arguments.max_active_reviews),
            "REVIEWER_IMAGE": "pr-reviewer:sandbox",
        })
        receiver_bind = f"127.0.0.1:{self.arguments.receiver_port}"
        self._start("receiver", ["-m", "pr_receiver.app", "--dev", "--bind", receiver_bind], {
            "KUBECONFIG": str(self.kubeconfig),
            "REVIEW_NAMESPACE": self.namespace,
            "WEBHOOK_SECRET": self.webhook_secret,
            "MAX_ACTIVE_REVIEWS": str(self.arguments.max_active_reviews),
        })
        self._wait_for_receiver(receiver_bind)
        self._write_env_file(f"http://{receiver_bind}")

    def _start(self, name: str, arguments: list[str], extra_env: dict[str, str] | None = None) -> None:
        log = (self.logs / f"{name}.log").open("ab")
        self._log_files.append(log)
        # The API server logs every request, so it goes to its file only; the others share the terminal.
        output: IO[bytes] | None = log if name == "apiserver" else None
        process = subprocess.Popen(  # noqa: S603 - our own modules, run by this interpreter
            [sys.executable, *arguments], env={**self.child_env, **(extra_env or {})},
            stdout=output, stderr=output, cwd=PROJECT_ROOT,
        )
        self.processes.append((name, process))
        logger.info("Started the %s (pid %d).", name, process.pid)

    def _start_apiserver(self) -> None:
        self._start("apiserver", [
            "-m", "kubesim.apiserver", "--port", str(self.arguments.api_port), "--crds", str(PROJECT_ROOT / "crds"),
            "--kubeconfig", str(self.kubeconfig), "--token", TOKEN,
        ])
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self.kubeconfig.is_file():
            self._check_children()
            if time.monotonic() > deadline:
                raise RuntimeError(f"the API server did not start within {START_TIMEOUT_SECONDS} s: see {self.logs}")
            time.sleep(0.1)
        config = yaml.safe_load(self.kubeconfig.read_text())
        self.api_url = config["clusters"][0]["cluster"]["server"]

    def _create_objects(self) -> None:
        with httpx.Client(base_url=self.api_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10) as api:
            def create(path: str, body: Mapping[str, object]) -> None:
                response = api.post(path, json=body)
                if response.status_code not in (201, 409):
                    raise RuntimeError(f"creating {path} failed with HTTP {response.status_code}: {response.text}")

            namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.namespace}}
            create("/api/v1/namespaces", namespace)
            base = f"/api/v1/namespaces/{self.namespace}"
            create(f"{base}/secrets", _secret("pr-reviewer-webhook", {"webhook-secret": self.webhook_secret}))
            # The token comes from the environment, never an option, so it stays out of `ps` and shell history.
            github_token = os.environ.get("GITHUB_TOKEN") or "sandbox-placeholder-not-a-token"
            create(f"{base}/secrets", _secret("pr-reviewer-github", {"token": github_token}))
            create(f"{base}/configmaps", {
                "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "pr-reviewer-env"},
                "data": self._reviewer_settings(),
            })

    def _reviewer_settings(self) -> dict[str, str]:
        settings = {"PR_REVIEW_LANGUAGE": self.arguments.language, "PR_REVIEW_DRY_RUN": "true"}
        if self.arguments.github_api_url:
            settings["PR_REVIEW_GITHUB_API_URL"] = self.arguments.github_api_url
            settings["PR_REVIEW_DRY_RUN"] = "false"
        if self.arguments.llm_base_url:
            settings["PR_REVIEW_LLM_BASE_URL"] = self.arguments.llm_base_url
            settings["PR_REVIEW_LLM_MODEL"] = self.arguments.llm_model
        return settings

    def _wait_for_receiver(self, bind: str) -> None:
        # Another program may listen on the port (even the API server, given a free port moments ago).
        # So a listening socket is not enough, and the receiver's own liveness endpoint must respond.
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            self._check_children()
            if _receiver_answers(f"http://{bind}/health"):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the receiver did not respond on {bind} within {START_TIMEOUT_SECONDS} s: "
                    "is another program using that port? The receiver's own output is above"
                )
            time.sleep(0.1)

    def _write_env_file(self, receiver_url: str) -> None:
        values = {
            "KUBECONFIG": str(self.kubeconfig), "RECEIVER_URL": receiver_url, "WEBHOOK_SECRET": self.webhook_secret,
        }
        env_file = self.state / "env"
        env_file.write_text("".join(f"export {key}={shlex.quote(value)}\n" for key, value in values.items()))
        env_file.chmod(0o600)

    def _check_children(self) -> None:
        for name, process in self.processes:
            if process.poll() is not None:
                raise RuntimeError(f"the {name} exited with code {process.returncode}: see {self.logs / name}.log")

    def wait(self, stopping: list[bool]) -> None:
        while not stopping:
            self._check_children()
            time.sleep(0.5)

    def stop(self) -> None:
        for name, process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    logger.warning("The %s did not stop within 15 s; killing it.", name)
                    process.kill()
                    process.wait()
            logger.info("Stopped the %s.", name)
        for log in self._log_files:
            log.close()

    def instructions(self) -> str:
        env_file = self.state / "env"
        return f"""
The sandbox is running (a local stand-in, not a cluster). In another shell:

  source {env_file}
  kubectl get prreviews -n {self.namespace}
  kubectl get jobs,pods -n {self.namespace}
  .venv/bin/python -m kubesim.send_webhook /path/to/a/git/repo --base main --head HEAD --pr 1

send_webhook signs a pull_request event with the sandbox's webhook secret and posts it to the receiver;
it creates refs/pull/<N>/head in that repository, where the reviewer fetches the PR's head.
Logs: {self.logs} (the API server's requests are only there). Stop with Ctrl-C.
"""


def _secret(name: str, values: dict[str, str]) -> Mapping[str, object]:
    data = {key: base64.b64encode(value.encode()).decode() for key, value in values.items()}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "type": "Opaque", "data": data}


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="pr-sandbox",
        description="Run the API emulator, job runner, operator and receiver on 127.0.0.1 in the foreground.",
        epilog=HELP_EPILOG,
    )
    parser.add_argument("--state-dir", default=".sandbox", help="folder for env, kubeconfig and logs")
    parser.add_argument("--namespace", default="default", help="namespace of the reviews (default: default)")
    parser.add_argument("--api-port", type=int, default=0, help="API server port; 0 picks a free one (default)")
    parser.add_argument("--receiver-port", type=int, default=8080, help="receiver port (default: 8080)")
    parser.add_argument("--max-active-reviews", type=int, default=3, help="review Jobs allowed at once (default: 3)")
    parser.add_argument("--language", default="en", choices=("en", "zh-CN"), help="language of the reviews")
    parser.add_argument(
        "--github-api-url", default="",
        help="GitHub API to post to, with the token from GITHUB_TOKEN; unset means dry run",
    )
    parser.add_argument("--llm-base-url", default="", help="OpenAI-compatible endpoint; unset turns the LLM off")
    parser.add_argument("--llm-model", default="", help="model name for --llm-base-url")
    return parser.parse_args(argv)


def _receiver_answers(url: str) -> bool:
    """Return whether ``url`` responds as the receiver's ``/health`` does: 200 with JSON that has a ``status``."""
    try:
        response = httpx.get(url, timeout=0.5)
        return response.status_code == 200 and "status" in response.json()
    except (httpx.HTTPError, ValueError):
        return False


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sandbox = Sandbox(arguments)
    stopping: list[bool] = []

    def request_stop(signal_number: int, _frame: object) -> None:
        logger.info("Received %s; stopping the sandbox.", signal.Signals(signal_number).name)
        stopping.append(True)

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        sandbox.start()
        print(sandbox.instructions(), flush=True)
        sandbox.wait(stopping)
        return 0
    except RuntimeError as error:
        logger.error("The sandbox failed: %s", error)
        return 1
    finally:
        sandbox.stop()


if __name__ == "__main__":
    sys.exit(main())

