"""Sign and send a ``pull_request`` webhook for a local git repository to a receiver, as GitHub would.

GitHub serves each PR's head as ``refs/pull/<N>/head`` in the base repository, and the reviewer
fetches that ref, so this script creates it in the local repository (``git update-ref``) before
sending. It reads ``RECEIVER_URL`` and ``WEBHOOK_SECRET`` from the environment or from the
sandbox's ``.sandbox/env`` file.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import shlex
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx


def git(repository: Path, *arguments: str) -> str:
    completed = subprocess.run(  # noqa: S603 - fixed git arguments, no shell
        ["git", "-C", str(repository), *arguments], capture_output=True, text=True, check=False  # noqa: S607
    )
    if completed.returncode != 0:
        raise SystemExit(f"send_webhook: git {' '.join(arguments)} failed in {repository}: {completed.stderr.strip()}")
    return completed.stdout.strip()


def read_env_file(path: Path) -> dict[str, str]:
    """Read ``KEY=value`` lines written by the sandbox (values are shell-quoted)."""
    values: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            key, separator, value = line.removeprefix("export ").partition("=")
            if separator and not line.startswith("#"):
                values[key.strip()] = shlex.split(value)[0] if value.strip() else ""
    return values


def build_payload(
    repository: Path, full_name: str, number: int, action: str, base: str, head: str
) -> dict[str, Any]:
    """Return a ``pull_request`` event body with the fields the receiver reads."""
    head_sha = git(repository, "rev-parse", "--verify", f"{head}^{{commit}}")
    base_sha = git(repository, "rev-parse", "--verify", f"{base}^{{commit}}")
    subject = git(repository, "log", "-1", "--format=%s", head_sha)
    clone_url = repository.resolve().as_uri()
    repo = {"full_name": full_name, "name": full_name.split("/")[1], "clone_url": clone_url, "private": False}
    owner = full_name.split("/")[0]
    return {
        "action": action,
        "number": number,
        "pull_request": {
            "number": number,
            "state": "open",
            "draft": False,
            "merged": False,
            "title": subject[:256],
            "head": {"ref": head, "sha": head_sha, "repo": repo},
            "base": {"ref": base, "sha": base_sha, "repo": repo},
        },
        "repository": repo,
        "sender": {"login": owner},
    }


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kubesim.send_webhook",
        description="Send a signed pull_request webhook for a local git repository to the sandbox's receiver.",
    )
    parser.add_argument("repository", type=Path, help="path of a local git repository")
    parser.add_argument("--base", default="main", help="base branch of the PR (default: main)")
    parser.add_argument("--head", default="HEAD", help="head commit or branch of the PR (default: HEAD)")
    parser.add_argument("--pr", type=int, default=1, help="PR number (default: 1)")
    parser.add_argument("--action", default="opened", help="pull_request action, e.g. synchronize, closed")
    parser.add_argument("--full-name", help="owner/name to report (default: local/<folder name>)")
    parser.add_argument("--env-file", type=Path, default=Path(".sandbox/env"), help="sandbox env file to read")
    arguments = parser.parse_args(argv)

    settings = {**read_env_file(arguments.env_file), **os.environ}
    receiver_url = settings.get("RECEIVER_URL")
    secret = settings.get("WEBHOOK_SECRET")
    if not receiver_url or not secret:
        print("send_webhook: RECEIVER_URL and WEBHOOK_SECRET are not set: start `make sandbox` first", file=sys.stderr)
        return 2

    repository = arguments.repository
    full_name = arguments.full_name or f"local/{repository.resolve().name}"
    payload = build_payload(repository, full_name, arguments.pr, arguments.action, arguments.base, arguments.head)
    head_sha = payload["pull_request"]["head"]["sha"]
    git(repository, "update-ref", f"refs/pull/{arguments.pr}/head", head_sha)

    body = json.dumps(payload).encode()
    delivery = str(uuid.uuid4())
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": sign(body, secret),
        "User-Agent": "GitHub-Hookshot/kubesim",
    }
    response = httpx.post(receiver_url.rstrip("/") + "/webhook", content=body, headers=headers, timeout=10.0)
    print(f"delivery {delivery}: {full_name}#{arguments.pr} {arguments.action} at {head_sha[:12]}")
    print(f"HTTP {response.status_code} {response.text.strip()}")
    return 0 if response.status_code < 300 else 1


if __name__ == "__main__":
    sys.exit(main())
