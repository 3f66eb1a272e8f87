"""The kind suite's fake GitHub, run on 127.0.0.1: it must serve git and the API the way the reviewer uses them.

These tests need no cluster. The last one runs the real ``pr-review-job`` with the environment a
review Job gets, so a change in how the reviewer fetches or posts shows up here before a kind run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.scenario import Scenario, build_scenario

ROOT = Path(__file__).resolve().parents[2]
FAKE_SERVER = ROOT / "tests" / "e2e" / "fake_server.py"
TOKEN = "e2e-local-token"
START_TIMEOUT_SECONDS = 20


@pytest.fixture
def scenario(tmp_path: Path) -> Scenario:
    return build_scenario(tmp_path / "scenario", [1])


@pytest.fixture
def fake_server(scenario: Scenario, tmp_path: Path) -> Iterator[str]:
    """Start fake_server.py on 127.0.0.1 with the scenario's bundle; yield its base URL."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "tests" / "fakes")}
    command = [
        sys.executable, str(FAKE_SERVER), "--bundles", str(scenario.bundle.parent),
        "--git-root", str(tmp_path / "git"), "--token", TOKEN, "--host", "127.0.0.1", "--port", "0",
    ]  # fmt: skip
    process = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield f"http://127.0.0.1:{read_port(process)}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def read_port(process: subprocess.Popen[str]) -> int:
    """Return the port from the server's first stdout line, or fail with its stderr when it exits first."""
    assert process.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith("PORT="):
            return int(line.removeprefix("PORT=").strip())
        if process.poll() is not None:
            stderr = process.stderr.read() if process.stderr else ""
            raise AssertionError(f"fake_server.py exited with {process.returncode}: {stderr}")
    raise AssertionError(f"fake_server.py printed no PORT= line within {START_TIMEOUT_SECONDS} s")


def register(base_url: str, scenario: Scenario, number: int) -> httpx.Response:
    pull = scenario.pulls[number]
    body = {"repository": scenario.repository, "number": number, "head_sha": pull.head_sha, "hunks": pull.hunks}
    return httpx.post(f"{base_url}/_e2e/pulls", json=body, timeout=10)


def test_git_serves_pull_request_refs(fake_server: str, scenario: Scenario) -> None:
    url = f"{fake_server}/git/{scenario.repository}.git"
    listing = subprocess.run(["git", "ls-remote", url], capture_output=True, text=True, timeout=60, check=True)

    refs: dict[str, str] = {}
    for line in listing.stdout.splitlines():
        sha, ref = line.split("\t")
        refs[ref] = sha
    assert refs["refs/heads/main"] == scenario.base_sha
    assert refs["refs/pull/1/head"] == scenario.pulls[1].head_sha


def test_api_rejects_wrong_token(fake_server: str, scenario: Scenario) -> None:
    response = httpx.get(
        f"{fake_server}/repos/{scenario.repository}/pulls/1", headers={"Authorization": "token wrong"}, timeout=10
    )

    assert response.status_code == 401
    assert response.json()["message"] == "Bad credentials"


def test_registered_pull_request_is_served(fake_server: str, scenario: Scenario) -> None:
    registered = register(fake_server, scenario, 1)
    pull = httpx.get(
        f"{fake_server}/repos/{scenario.repository}/pulls/1", headers={"Authorization": f"token {TOKEN}"}, timeout=10
    )

    assert registered.status_code == 201
    assert registered.json() == {"registered": f"{scenario.repository}#1"}
    assert pull.status_code == 200
    assert pull.json()["head"]["sha"] == scenario.pulls[1].head_sha


def test_unknown_control_path_is_not_found(fake_server: str) -> None:
    response = httpx.get(f"{fake_server}/_e2e/unknown", timeout=10)

    assert response.status_code == 404
    assert response.json() == {"message": "no control endpoint GET /_e2e/unknown"}


def test_reviewer_job_posts_review_to_fake(fake_server: str, scenario: Scenario, tmp_path: Path) -> None:
    register(fake_server, scenario, 1)
    pull = scenario.pulls[1]
    termination_log = tmp_path / "termination-log"
    (tmp_path / "work").mkdir()
    # The variables the operator and the chart's ConfigMap give a review Job (pr_operator.jobs).
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "PR_REVIEW_REPOSITORY": scenario.repository,
        "PR_REVIEW_PR_NUMBER": "1",
        "PR_REVIEW_HEAD_SHA": pull.head_sha,
        "PR_REVIEW_BASE_REF": scenario.base_ref,
        "PR_REVIEW_BASE_SHA": scenario.base_sha,
        "PR_REVIEW_CLONE_URL": f"{fake_server}/git/{scenario.repository}.git",
        "PR_REVIEW_GITHUB_API_URL": fake_server,
        "PR_REVIEW_ANALYZERS": "bandit",
        "PR_REVIEW_WORKDIR": str(tmp_path / "work"),
        "PR_REVIEW_TERMINATION_LOG": str(termination_log),
        "GITHUB_TOKEN": TOKEN,
    }

    command = [str(Path(sys.executable).parent / "pr-review-job")]
    job = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=240)

    assert job.returncode == 0, job.stderr[-2000:]
    result = json.loads(termination_log.read_text())
    assert result["phase"] == "Succeeded"
    assert result["exitCode"] == 0
    assert result["total"] >= 1
    posted = httpx.get(f"{fake_server}/_e2e/reviews/{scenario.repository}/1", timeout=10).json()
    assert len(posted["reviews"]) == 1
    assert {comment["path"] for comment in posted["review_comments"]} == {pull.path}
    assert TOKEN not in job.stderr
