"""The end-to-end suite's stand-in for github.com, run inside the kind cluster.

The suite mounts this file and ``tests/fakes/github_api.py`` from a ConfigMap into a pod that runs
the reviewer image (which has Python, git, PyJWT and cryptography). One HTTP server on 0.0.0.0:8080
serves three things:

* ``/git/<owner>/<name>.git/...``: the repositories, over git's smart HTTP protocol, by running
  ``git http-backend``. Each ``<owner>__<name>.bundle`` in the bundle folder is cloned as a mirror
  at start, so ``refs/pull/<N>/head`` refs in the bundle are served too.
* ``/_e2e/pulls`` (POST) registers a pull request with the fake API, and
  ``/_e2e/reviews/<owner>/<name>/<N>`` (GET) returns the reviews and comments posted to it.
* Everything else goes to the fake GitHub REST API, which checks the token and records requests.

Usage: python fake_server.py --bundles /bundles --git-root /srv/git --token TOKEN [--host H] [--port P]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import subprocess
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from github_api import FakeGitHub

logger = logging.getLogger("fake_server")

GIT_PREFIX = "/git/"
CONTROL_PREFIX = "/_e2e/"
REVIEWS_PATH = re.compile(r"^/_e2e/reviews/(?P<owner>[^/]+)/(?P<name>[^/]+)/(?P<number>\d+)$")
GIT_TIMEOUT_SECONDS = 120


def restore_bundles(bundles: Path, git_root: Path) -> list[str]:
    """Clone every ``owner__name.bundle`` as a bare mirror under ``git_root``; return the repositories."""
    repositories = []
    for bundle in sorted(bundles.glob("*.bundle")):
        owner, _, name = bundle.stem.partition("__")
        target = git_root / owner / f"{name}.git"
        target.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "clone", "--quiet", "--mirror", str(bundle), str(target)], check=True)

        # The reviewer fetches the base by SHA with a blob filter, then the diff's blobs by id.
        for key in ("uploadpack.allowFilter", "uploadpack.allowAnySHA1InWant", "http.receivepack"):
            value = "false" if key == "http.receivepack" else "true"
            subprocess.run(["git", "-C", str(target), "config", key, value], check=True)
        repositories.append(f"{owner}/{name}")
    return repositories


class Handler(BaseHTTPRequestHandler):
    server: FakeServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = urlsplit(self.path).path

        if path.startswith(GIT_PREFIX):
            self._serve_git(body)
        elif path.startswith(CONTROL_PREFIX):
            self._serve_control(path, body)
        else:
            self._serve_api(body)

    def _serve_api(self, body: bytes) -> None:
        headers = {name.lower(): value for name, value in self.headers.items()}
        reply = self.server.github.handle(self.command, self.path, headers, body)
        self._send_json(reply.status, reply.body, reply.headers)

    def _serve_control(self, path: str, body: bytes) -> None:
        github = self.server.github
        if self.command == "POST" and path == "/_e2e/pulls":
            request = json.loads(body)
            github.add_pull_request(
                request["repository"],
                int(request["number"]),
                head_sha=request["head_sha"],
                hunks={file: [tuple(hunk) for hunk in ranges] for file, ranges in request["hunks"].items()},
            )
            self._send_json(201, {"registered": f"{request['repository']}#{request['number']}"})
            return

        match = REVIEWS_PATH.match(path)
        if self.command == "GET" and match:
            repository = f"{match['owner']}/{match['name']}"
            number = int(match["number"])
            self._send_json(
                200,
                {
                    "reviews": github.reviews(repository, number),
                    "review_comments": github.review_comments(repository, number),
                    "issue_comments": github.issue_comments(repository, number),
                },
            )
            return
        self._send_json(404, {"message": f"no control endpoint {self.command} {path}"})

    def _serve_git(self, body: bytes) -> None:
        split = urlsplit(self.path)
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            "GIT_PROJECT_ROOT": str(self.server.git_root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": split.path.removeprefix("/git"),
            "QUERY_STRING": split.query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": self.client_address[0],
            # Protocol v2 and compressed requests are announced in headers that git reads from these.
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
        }
        completed = subprocess.run(
            ["git", "http-backend"], input=body, env=environment, capture_output=True, timeout=GIT_TIMEOUT_SECONDS
        )
        if completed.returncode != 0:
            logger.warning("git http-backend failed for %s: %s", self.path, completed.stderr.decode(errors="replace"))

        head, _, payload = completed.stdout.partition(b"\r\n\r\n")
        status = 200
        headers: dict[str, str] = {}
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers[name.strip()] = value.strip()
        self._send(status, payload, headers)

    def _send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        content_type = {"Content-Type": "application/json; charset=utf-8"}
        self._send(status, json.dumps(body).encode(), {**content_type, **(headers or {})})

    def _send(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        logger.info("%s %s", self.address_string(), format % args)


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], github: FakeGitHub, git_root: Path) -> None:
        super().__init__(address, Handler)
        self.github = github
        self.git_root = git_root


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve a fake GitHub API and git repositories for the kind suite.")
    parser.add_argument("--bundles", type=Path, required=True, help="folder of owner__name.bundle files")
    parser.add_argument("--git-root", type=Path, required=True, help="writable folder for the bare repositories")
    parser.add_argument("--token", required=True, help="the token the reviewer authenticates with")
    # In the pod the network namespace is the boundary, so the server listens on every interface there.
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on (local tests use 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on; 0 picks a free one")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    repositories = restore_bundles(args.bundles, args.git_root)
    github = FakeGitHub(token=args.token)
    server = FakeServer((args.host, args.port), github, args.git_root)
    port = server.server_address[1]
    logger.info("Serving repositories %s and the fake GitHub API on %s:%d", ", ".join(repositories), args.host, port)
    # The first stdout line reports the chosen port to a parent process.
    print(f"PORT={port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
