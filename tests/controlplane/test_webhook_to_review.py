"""Signed webhooks through the real receiver, operator, Job runner and reviewer, posting to a fake GitHub."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from tests.controlplane.conftest import free_ports, job_is_active, wait_for
from tests.fakes.github_api import FakeGitHub
from tests.helpers.gitrepo import GitRepo

TOKEN = "ghp-controlplane-token-4815162342"
REPOSITORY = "octo/demo"
REVIEWS = "/apis/prreviewer.io/v1alpha1/namespaces/default/prreviews"
JOBS = "/apis/batch/v1/namespaces/default/jobs"
FINAL = ("Succeeded", "Failed", "Superseded", "Cancelled")



@dataclass
class Sandbox:
    api_url: str
    receiver_url: str
    webhook_secret: str
    log: Path

    def get(self, path: str) -> list[dict]:
        return httpx.get(self.api_url + path, timeout=10).json()["items"]

    def deliver(self, payload: dict, delivery: str) -> httpx.Response:
        body = json.dumps(payload).encode()
        signature = "sha256=" + hmac.new(self.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "X-GitHub-Event": "pull_request",
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": signature,
        }
        return httpx.post(self.receiver_url + "/webhook", content=body, headers=headers, timeout=10)


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(token=TOKEN) as fake:
        yield fake


def start_sandbox(tmp_path: Path, github: FakeGitHub, max_active: int) -> tuple[subprocess.Popen, Sandbox]:
    state = tmp_path / "state"
    # Both ports are chosen here: with --api-port 0 the OS could hand the API server the receiver's port.
    api_port, receiver_port = free_ports(2)
    log = tmp_path / "sandbox.out"
    process = subprocess.Popen(
        [sys.executable, "-m", "kubesim.sandbox", "--state-dir", str(state),
         "--receiver-port", str(receiver_port), "--api-port", str(api_port),
         "--max-active-reviews", str(max_active), "--github-api-url", github.url],
        stdout=log.open("wb"), stderr=subprocess.STDOUT, env={**os.environ, "GITHUB_TOKEN": TOKEN},
    )
    env_file = state / "env"
    wait_for(env_file.is_file, timeout=60, what="the sandbox's env file")
    values = dict(line.removeprefix("export ").split("=", 1) for line in env_file.read_text().splitlines())
    api_url = yaml.safe_load((state / "kubeconfig").read_text())["clusters"][0]["cluster"]["server"]
    return process, Sandbox(api_url, values["RECEIVER_URL"], values["WEBHOOK_SECRET"], log)


def stop_sandbox(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGINT)
    process.wait(timeout=30)


def pull_request_payload(repo: GitRepo, number: int, head: str, base: str) -> dict:
    repository = {"full_name": REPOSITORY, "name": "demo", "clone_url": repo.url, "private": False,
                  "owner": {"login": "octo"}}
    return {
        "action": "opened",
        "number": number,
        "pull_request": {
            "number": number, "title": f"Change {number}", "draft": False, "state": "open",
            "head": {"sha": head, "ref": f"feature-{number}", "repo": repository},
            "base": {"sha": base, "ref": "main", "repo": repository},
        },
        "repository": repository,
        "sender": {"login": "octocat"},
        "installation": {"id": 4242},
    }


def test_signed_webhook_ends_with_the_review_posted(tmp_path: Path, github: FakeGitHub) -> None:
    repo = GitRepo.init(tmp_path / "demo")
    base = repo.commit("Add total", {"app.py": "def total(items):\n    return sum(items)\n"})
    changed = "import subprocess\n\n\ndef total(items):\n    subprocess.call(items, shell=True)\n    return 0\n"
    head = repo.commit("Run items in a shell", {"app.py": changed})
    repo.update_ref("refs/pull/5/head", head)
    github.add_pull_request(REPOSITORY, 5, head_sha=head, hunks={"app.py": [(1, 6)]})
    process, sandbox = start_sandbox(tmp_path, github, max_active=3)
    try:
        response = sandbox.deliver(pull_request_payload(repo, 5, head, base), "delivery-e2e-1")
        assert response.status_code == 202, response.text

        def finished() -> dict | None:
            done = [r for r in sandbox.get(REVIEWS) if (r.get("status") or {}).get("phase") in FINAL]
            return done[0] if done else None

        review = wait_for(finished, timeout=90, what="the review to finish")
        jobs = sandbox.get(JOBS)
    finally:
        stop_sandbox(process)

    assert review["status"]["phase"] == "Succeeded", review["status"]
    result = review["status"]["result"]
    assert result["findings"]["high"] == 1
    assert result["reviewUrl"].startswith(github.origin)
    comments = github.review_comments(REPOSITORY, 5)
    assert [(c["path"], c["line"], c["commit_id"]) for c in comments] == [("app.py", 5, head)]
    assert "B602" in comments[0]["body"]
    assert len(github.reviews(REPOSITORY, 5)) == 1
    summaries = [c for c in github.issue_comments(REPOSITORY, 5) if "<!-- pr-reviewer:summary -->" in c["body"]]
    assert len(summaries) == 1
    assert TOKEN not in json.dumps(review)
    assert TOKEN not in json.dumps(jobs)
    token_refs = [env for job in jobs for container in job["spec"]["template"]["spec"]["containers"]
                  for env in container.get("env", []) if env["name"] == "GITHUB_TOKEN"]
    assert token_refs and all("valueFrom" in env and "value" not in env for env in token_refs)


def test_fifty_webhooks_at_once_keep_the_limit(tmp_path: Path, github: FakeGitHub) -> None:
    repo = GitRepo.init(tmp_path / "demo")
    base = repo.commit("Start", {"README.md": "demo\n"})
    heads = []
    for number in range(1, 51):
        repo.checkout(base)
        head = repo.commit(f"Change {number}", {f"module_{number}.py": f"VALUE = {number}\n"})
        repo.update_ref(f"refs/pull/{number}/head", head)
        github.add_pull_request(REPOSITORY, number, head_sha=head, hunks={f"module_{number}.py": [(1, 1)]})
        heads.append(head)
    process, sandbox = start_sandbox(tmp_path, github, max_active=3)
    samples: list[int] = []
    sampling = threading.Event()

    def sample_active_jobs() -> None:
        while not sampling.is_set():
            samples.append(sum(1 for job in sandbox.get(JOBS) if job_is_active(job)))
            sampling.wait(0.05)

    sampler = threading.Thread(target=sample_active_jobs, daemon=True)
    try:
        sampler.start()
        with ThreadPoolExecutor(max_workers=10) as pool:
            answers = list(pool.map(
                lambda number: sandbox.deliver(
                    pull_request_payload(repo, number, heads[number - 1], base), f"burst-{number}"
                ),
                range(1, 51),
            ))

        def all_final() -> bool:
            reviews = sandbox.get(REVIEWS)
            return len(reviews) == 50 and all((r.get("status") or {}).get("phase") in FINAL for r in reviews)

        wait_for(all_final, timeout=240, what="all 50 reviews to finish")
        reviews = sandbox.get(REVIEWS)
    finally:
        sampling.set()
        sampler.join(timeout=5)
        stop_sandbox(process)

    assert [answer.status_code for answer in answers] == [202] * 50
    assert max(samples) == 3
    assert {r["status"]["phase"] for r in reviews} == {"Succeeded"}
    assert sorted(r["spec"]["prNumber"] for r in reviews) == list(range(1, 51))
    assert sorted(len(github.issue_comments(REPOSITORY, number)) for number in range(1, 51)) == [1] * 50
