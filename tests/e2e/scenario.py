"""The end-to-end scenario: a repository with pull requests, and the signed webhooks that announce them.

Each pull request adds one Python module that runs a shell command with ``shell=True``, which
bandit reports (B602), so every review has at least one finding to post as an inline comment.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.helpers.gitrepo import GitRepo

ROOT = Path(__file__).resolve().parents[2]
OPENED_FIXTURE = ROOT / "tests" / "fixtures" / "webhooks" / "pull_request.opened.json"
REPOSITORY = "octo-org/e2e-demo"
HUNK_HEADER = re.compile(r"^@@ -\d+(?:,\d+)? \+(?P<start>\d+)(?:,(?P<count>\d+))? @@", re.MULTILINE)

BASE_FILES = {
    "README.md": "# e2e demo\n",
    "app/__init__.py": "",
    "app/main.py": 'def greet(name: str) -> str:\n    return f"Hello, {name}"\n',
}

MODULE_TEMPLATE = '''import subprocess


def run_job_{number}(command):
    """Run a maintenance command for job {number}."""
    return subprocess.call(command, shell=True)
'''


@dataclass(frozen=True)
class PullRequest:
    number: int
    head_sha: str
    path: str
    hunks: dict[str, list[tuple[int, int]]]


@dataclass
class Scenario:
    """A repository on disk, its bundle for the fake server, and its pull requests by number."""

    repository: str
    bundle: Path
    base_ref: str
    base_sha: str
    pulls: dict[int, PullRequest] = field(default_factory=dict)


def build_scenario(workdir: Path, numbers: list[int], repository: str = REPOSITORY) -> Scenario:
    """Create the repository with one branch per pull request and bundle it with its refs/pull/<N>/head refs."""
    repo = GitRepo.init(workdir / "repository")
    base_sha = repo.commit("Add the demo application", BASE_FILES)
    scenario = Scenario(repository, workdir / f"{repository.replace('/', '__')}.bundle", "main", base_sha)

    for number in numbers:
        repo.checkout(base_sha)
        path = f"app/job_{number}.py"
        head_sha = repo.commit(f"Add job {number}", {path: MODULE_TEMPLATE.format(number=number)})
        repo.update_ref(f"refs/pull/{number}/head", head_sha)
        scenario.pulls[number] = PullRequest(number, head_sha, path, diff_hunks(repo, base_sha, head_sha))

    repo.checkout("main")
    repo.git("bundle", "create", str(scenario.bundle), "--all")
    return scenario


def diff_hunks(repo: GitRepo, base: str, head: str) -> dict[str, list[tuple[int, int]]]:
    """Return, per changed file, the head-side line ranges of its diff hunks, as GitHub's diff shows them."""
    hunks: dict[str, list[tuple[int, int]]] = {}
    for path in repo.git("diff", "--name-only", base, head).split():
        ranges = []
        for match in HUNK_HEADER.finditer(repo.git("diff", base, head, "--", path)):
            start = int(match["start"])
            count = int(match["count"] or 1)
            if count:
                ranges.append((start, start + count - 1))
        hunks[path] = ranges
    return hunks


def pull_request_payload(scenario: Scenario, number: int, clone_url: str, action: str = "opened") -> dict[str, Any]:
    """Return a pull_request webhook payload for pull request ``number``, based on a recorded GitHub delivery."""
    payload: dict[str, Any] = copy.deepcopy(json.loads(OPENED_FIXTURE.read_text(encoding="utf-8")))
    owner, name = scenario.repository.split("/")
    pull = scenario.pulls[number]

    payload["action"] = action
    payload["number"] = number
    payload.pop("installation", None)  # token authentication: no GitHub App installation
    payload["pull_request"]["number"] = number
    payload["pull_request"]["title"] = f"Add job {number}"
    payload["pull_request"]["draft"] = False
    payload["pull_request"]["head"]["sha"] = pull.head_sha
    payload["pull_request"]["head"]["ref"] = f"job-{number}"
    payload["pull_request"]["base"]["sha"] = scenario.base_sha
    payload["pull_request"]["base"]["ref"] = scenario.base_ref
    pull_request = payload["pull_request"]
    for repo in (payload["repository"], pull_request["base"]["repo"], pull_request["head"]["repo"]):
        repo["name"] = name
        repo["full_name"] = scenario.repository
        repo["owner"]["login"] = owner
        repo["clone_url"] = clone_url
    return payload


def signed_delivery(payload: dict[str, Any], secret: str) -> tuple[bytes, dict[str, str]]:
    """Return the body and headers GitHub would send for ``payload``, signed with ``secret``."""
    body = json.dumps(payload).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/e2e",
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": f"sha256={signature}",
    }
    return body, headers
