"""Benchmark: how fast webhook deliveries are acknowledged, now and in the "before" design.

It sends one burst of signed ``pull_request`` deliveries (distinct PR numbers and head SHAs, so
each asks for a new review) from a pool of concurrent clients to:

(a) the receiver as ``pr-receiver`` runs it (gunicorn), storing PullRequestReview resources in a
    kubesim API server started for the run; no operator runs, so this is the acknowledgement alone;
(b) ``seed_app.py``: one Flask app that reviews each PR inside the request (the real reviewer on a
    small repository built here, or with ``--inline-work cpu`` a CPU-bound stand-in of the same
    median duration, measured first).

Each client opens a new connection per delivery, as GitHub does, and gives up after
``--request-timeout`` seconds (GitHub waits 10 s). Every server runs on 127.0.0.1 and is stopped
at the end.

    .venv/bin/python benchmarks/webhook_ack.py [--deliveries 500] [--clients 20] [--inline-work review|cpu]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import http.client
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

if __package__ in (None, ""):
    # Run as a script: make the repository root importable for ``tests.helpers`` and ``benchmarks``.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.figures import (
    REPO_ROOT,
    free_port,
    machine_line,
    milliseconds,
    percentile,
    port_accepts,
    wait_until,
)
from benchmarks.seed_app import burn_cpu, calibrate_cpu_rounds
from tests.helpers.gitrepo import GitRepo, run_git

NAMESPACE = "reviews"
REPOSITORY = "octo/app"
BIN = Path(sys.executable).parent
START_TIMEOUT_SECONDS = 30.0
INLINE_WORK_RUNS = 5
TREND_WINDOW = 100  # responses compared at the start and the end of a burst, to show a trend

BASE_FILES = {"app.py": "def total(items):\n    return sum(items)\n"}
HEAD_FILES = {
    "app.py": (
        "import subprocess\n\n\ndef total(items):\n    subprocess.call(items, shell=True)\n"
        "    password = 'correct-horse-battery'\n    return 0\n"
    ),
    "run.sh": "#!/bin/sh\necho $1\n",
}


@dataclass(frozen=True)
class Delivery:
    delivery_id: str
    pr_number: int
    head_sha: str
    body: bytes
    signature: str


@dataclass(frozen=True)
class Attempt:
    seconds: float
    status: int | None  # None: no HTTP response (timeout or connection error)
    error: str = ""

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class Burst:
    """The attempts of one burst, in completion order, and its wall time."""

    attempts: list[Attempt] = field(default_factory=list)
    wall_seconds: float = 0.0
    unsent: int = 0


@dataclass(frozen=True)
class InlineWork:
    kind: str  # "review" or "cpu"
    median_seconds: float
    cpu_rounds: int = 0


# -- the repository and the deliveries --------------------------------------------------------------------


def build_repository(path: Path, count: int) -> tuple[GitRepo, str, list[str]]:
    """Build a repository with one base commit and ``count`` PR heads on it, each at ``refs/pull/<N>/head``.

    The heads share one tree but differ in their message, so every PR has its own SHA and the same diff.
    """
    repo = GitRepo.init(path)
    base = repo.commit("Add the total function", BASE_FILES)
    repo.commit("Run the items in a shell", HEAD_FILES)
    tree = repo.git("rev-parse", "HEAD^{tree}").strip()
    repo.git("reset", "--quiet", "--hard", base)

    heads = [repo.git("commit-tree", tree, "-p", base, "-m", f"Change for PR {number}").strip()
             for number in range(1, count + 1)]
    updates = "".join(f"update refs/pull/{number}/head {sha}\n" for number, sha in enumerate(heads, start=1))
    run_git(repo.path, "update-ref", "--stdin", input_bytes=updates.encode())
    return repo, base, heads


def build_deliveries(repo: GitRepo, base: str, heads: Sequence[str], secret: bytes) -> list[Delivery]:
    deliveries = []
    for number, head in enumerate(heads, start=1):
        payload = pull_request_payload(repo.url, number, base, head)
        body = json.dumps(payload).encode()
        signature = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        deliveries.append(Delivery(f"bench-{number:05d}-{secrets.token_hex(4)}", number, head, body, signature))
    return deliveries


def pull_request_payload(clone_url: str, number: int, base: str, head: str) -> dict[str, object]:
    repository = {"full_name": REPOSITORY, "name": "app", "clone_url": clone_url, "private": False}
    return {
        "action": "opened",
        "number": number,
        "pull_request": {
            "number": number,
            "state": "open",
            "draft": False,
            "merged": False,
            "title": f"Change for PR {number}",
            "head": {"ref": f"feature-{number}", "sha": head, "repo": repository},
            "base": {"ref": "main", "sha": base, "repo": repository},
        },
        "repository": repository,
        "sender": {"login": "octo"},
    }


# -- the burst client -------------------------------------------------------------------------------------


def send(port: int, delivery: Delivery, timeout: float) -> Attempt:
    """Post one delivery on a new connection and read the whole response."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": delivery.delivery_id,
        "X-Hub-Signature-256": delivery.signature,
        "User-Agent": "GitHub-Hookshot/benchmark",
    }
    try:
        connection.request("POST", "/webhook", body=delivery.body, headers=headers)
        response = connection.getresponse()
        response.read()
        return Attempt(time.perf_counter() - started, response.status)
    except (OSError, http.client.HTTPException) as error:
        return Attempt(time.perf_counter() - started, None, type(error).__name__)
    finally:
        connection.close()


def run_burst(port: int, deliveries: Sequence[Delivery], clients: int, time_limit: float, timeout: float) -> Burst:
    """Send ``deliveries`` from ``clients`` threads; no delivery starts after ``time_limit`` seconds."""
    burst = Burst()
    pending = iter(deliveries)
    lock = threading.Lock()
    started = time.perf_counter()
    deadline = started + time_limit

    def next_delivery() -> Delivery | None:
        with lock:
            if time.perf_counter() > deadline:
                return None
            return next(pending, None)

    def client() -> None:
        while (delivery := next_delivery()) is not None:
            attempt = send(port, delivery, timeout)
            with lock:
                burst.attempts.append(attempt)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        # A client can start a delivery just before the deadline and then wait up to ``timeout`` on each read.
        thread.join(timeout=time_limit + 3 * timeout + 10)

    burst.wall_seconds = time.perf_counter() - started
    with lock:
        burst.unsent = len(deliveries) - len(burst.attempts)
    return burst


# -- (a) the receiver on kubesim --------------------------------------------------------------------------


@contextlib.contextmanager
def running_process(command: list[str], log: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` with its output in ``log``; terminate it (then kill it) when the block ends."""
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, cwd=REPO_ROOT)
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def bench_receiver(folder: Path, deliveries: Sequence[Delivery], warmup: Delivery, arguments: argparse.Namespace,
                   secret: bytes) -> tuple[Burst, int]:
    """Run the burst against gunicorn + receiver + kubesim; return it and the number of resources stored."""
    kubeconfig = folder / "kubeconfig"
    apiserver_command = [
        sys.executable, "-m", "kubesim.apiserver", "--port", "0", "--crds", str(REPO_ROOT / "crds"),
        "--kubeconfig", str(kubeconfig), "--log-level", "WARNING",
    ]
    with running_process(apiserver_command, folder / "apiserver.log", dict(os.environ)) as apiserver:
        wait_until(lambda: kubeconfig.is_file() or apiserver.poll() is not None, START_TIMEOUT_SECONDS, "kubesim")
        if apiserver.poll() is not None:
            raise RuntimeError(f"kubesim exited with code {apiserver.returncode}: see {folder}/apiserver.log")
        api_url = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
        api = httpx.Client(base_url=api_url, timeout=30.0)
        api.post("/api/v1/namespaces", json={
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE},
        }).raise_for_status()

        port = free_port()
        receiver_env = {
            **os.environ, "WEBHOOK_SECRET": secret.decode(), "KUBECONFIG": str(kubeconfig),
            "REVIEW_NAMESPACE": NAMESPACE,
        }
        receiver_command = [str(BIN / "pr-receiver"), "--bind", f"127.0.0.1:{port}"]
        with running_process(receiver_command, folder / "receiver.log", receiver_env) as receiver:
            wait_until(lambda: receiver_is_ready(port) or receiver.poll() is not None, START_TIMEOUT_SECONDS,
                       "the receiver's /ready")
            if receiver.poll() is not None:
                raise RuntimeError(f"pr-receiver exited with code {receiver.returncode}: see {folder}/receiver.log")

            check_warmup(send(port, warmup, arguments.request_timeout), "the receiver")
            burst = run_burst(port, deliveries, arguments.clients, arguments.time_limit, arguments.request_timeout)

        stored = api.get(f"/apis/prreviewer.io/v1alpha1/namespaces/{NAMESPACE}/prreviews").json()["items"]
        api.close()
    return burst, len(stored) - 1  # minus the warm-up delivery's resource


def receiver_is_ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def check_warmup(attempt: Attempt, target: str) -> None:
    if not attempt.acknowledged:
        raise RuntimeError(f"the warm-up delivery to {target} failed: status {attempt.status} {attempt.error}")


# -- (b) the seed-style app -------------------------------------------------------------------------------


def measure_inline_work(kind: str, repo: GitRepo, base: str, head: str, pr_number: int) -> InlineWork:
    """Time the real review of one PR ``INLINE_WORK_RUNS`` times (after one unmeasured run) and take the median.

    With ``kind`` "cpu", also calibrate a CPU-bound stand-in to that median.
    """
    from pr_reviewer.graph import run_review
    from pr_reviewer.settings import ReviewSettings

    settings = ReviewSettings(
        repo=repo.url, base=base, head=head, repository=REPOSITORY, pr_number=pr_number, expected_head_sha=head
    )
    durations = []
    for run in range(INLINE_WORK_RUNS + 1):
        started = time.perf_counter()
        result = run_review(settings)
        if result.error is not None:
            raise RuntimeError(f"the review of the benchmark repository failed: {result.error}")
        if run:
            durations.append(time.perf_counter() - started)

    median = statistics.median(durations)
    if kind == "review":
        return InlineWork("review", median)
    rounds = calibrate_cpu_rounds(median)
    started = time.perf_counter()
    burn_cpu(rounds)
    print(f"CPU stand-in: {rounds} SHA-512 rounds took {milliseconds(time.perf_counter() - started)} once calibrated")
    return InlineWork("cpu", median, rounds)


def bench_seed_app(folder: Path, deliveries: Sequence[Delivery], warmup: Delivery, arguments: argparse.Namespace,
                   secret: bytes, work: InlineWork) -> Burst:
    port = free_port()
    command = [sys.executable, str(Path(__file__).with_name("seed_app.py")), "--port", str(port), "--work", work.kind]
    if work.kind == "cpu":
        command += ["--cpu-rounds", str(work.cpu_rounds)]
    if arguments.seed_threaded:
        command.append("--threaded")

    with running_process(command, folder / "seed_app.log", {**os.environ, "WEBHOOK_SECRET": secret.decode()}) as app:
        wait_until(lambda: port_accepts(port) or app.poll() is not None, START_TIMEOUT_SECONDS, "the seed app")
        if app.poll() is not None:
            raise RuntimeError(f"seed_app.py exited with code {app.returncode}: see {folder}/seed_app.log")
        check_warmup(send(port, warmup, arguments.request_timeout * 3), "the seed app")
        return run_burst(port, deliveries, arguments.clients, arguments.time_limit, arguments.request_timeout)


# -- report -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    p50: float
    p99: float
    throughput: float


def figures_of(name: str, burst: Burst, timeout: float) -> Figures:
    """Print one target's figures and return them; failed attempts count with the time they took."""
    seconds = [attempt.seconds for attempt in burst.attempts]
    acknowledged = [attempt for attempt in burst.attempts if attempt.acknowledged]
    statuses = Counter(str(attempt.status) if attempt.status else attempt.error for attempt in burst.attempts)
    throughput = len(acknowledged) / burst.wall_seconds if burst.wall_seconds else 0.0
    within = sum(1 for attempt in acknowledged if attempt.seconds <= timeout)

    print(f"{name}:")
    print(f"  sent {len(burst.attempts)}, not sent before the time limit {burst.unsent}, "
          f"outcomes {dict(sorted(statuses.items()))}")
    print(f"  acknowledged (2xx) {len(acknowledged)}, of which within {timeout:.0f} s: {within}")
    print(f"  ack latency over all sent deliveries: p50 {milliseconds(percentile(seconds, 0.5))}, "
          f"p99 {milliseconds(percentile(seconds, 0.99))}, max {milliseconds(max(seconds, default=float('nan')))}")
    if len(seconds) >= 2 * TREND_WINDOW:
        first, last = seconds[:TREND_WINDOW], seconds[-TREND_WINDOW:]
        print(f"  p50 of the first {TREND_WINDOW} responses {milliseconds(percentile(first, 0.5))}, "
              f"of the last {TREND_WINDOW} {milliseconds(percentile(last, 0.5))}")
    print(f"  throughput {throughput:.1f} acknowledged deliveries/s over {burst.wall_seconds:.1f} s")
    return Figures(percentile(seconds, 0.5), percentile(seconds, 0.99), throughput)


def print_ratios(receiver: Figures, seed: Figures) -> None:
    def ratio(numerator: float, denominator: float) -> str:
        return f"{numerator / denominator:.1f}x" if denominator > 0 else "n/a"

    print("ratios (seed app / receiver):")
    print(f"  p50 latency {ratio(seed.p50, receiver.p50)}, p99 latency {ratio(seed.p99, receiver.p99)}, "
          f"throughput receiver/seed {ratio(receiver.throughput, seed.throughput)}")


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Measure webhook acknowledgement latency and throughput.")
    parser.add_argument("--deliveries", type=int, default=500, help="deliveries per target (default: 500)")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients (default: 20)")
    parser.add_argument("--time-limit", type=float, default=300.0,
                        help="seconds after which no new delivery is sent to a target (default: 300)")
    parser.add_argument("--request-timeout", type=float, default=10.0,
                        help="seconds a client waits for a response, as GitHub does (default: 10)")
    parser.add_argument("--inline-work", choices=("review", "cpu"), default="review",
                        help="the seed app's work per delivery: the real reviewer, or a CPU stand-in (default: review)")
    parser.add_argument("--seed-threaded", action="store_true",
                        help="serve the seed app's requests in threads (default: one at a time)")
    arguments = parser.parse_args(argv)
    if arguments.deliveries < 1 or arguments.clients < 1:
        parser.error("--deliveries and --clients must be at least 1")
    return arguments


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    print(machine_line())
    print(f"burst: {arguments.deliveries} signed pull_request deliveries per target, {arguments.clients} clients, "
          f"a new connection per delivery, {arguments.request_timeout:.0f} s request timeout, "
          f"{arguments.time_limit:.0f} s time limit per target, one unmeasured warm-up delivery first")
    secret = secrets.token_hex(32).encode()

    with tempfile.TemporaryDirectory(prefix="webhook-ack-") as scratch:
        folder = Path(scratch)
        repo, base, heads = build_repository(folder / "repo", arguments.deliveries + 1)
        warmup, *deliveries = build_deliveries(repo, base, heads, secret)

        work = measure_inline_work(arguments.inline_work, repo, base, warmup.head_sha, warmup.pr_number)
        described = ("the real reviewer (run_review: clone, diff, secrets/ruff/bandit/shellcheck, report, no post)"
                     if work.kind == "review" else f"a CPU stand-in of {work.cpu_rounds} SHA-512 rounds")
        print(f"seed app inline work: {described}; one review of the benchmark PR takes a median "
              f"{milliseconds(work.median_seconds)} ({INLINE_WORK_RUNS} runs in this process)")
        serving = "threaded" if arguments.seed_threaded else "one request at a time"
        print(f"seed app server: Flask development server, {serving}")
        print()

        receiver_burst, stored = bench_receiver(folder, deliveries, warmup, arguments, secret)
        receiver = figures_of("(a) receiver (gunicorn, 1 worker, gthread) + kubesim", receiver_burst,
                              arguments.request_timeout)
        print(f"  PullRequestReview resources stored: {stored}")

        seed_burst = bench_seed_app(folder, deliveries, warmup, arguments, secret, work)
        seed = figures_of("(b) seed app (review inline)", seed_burst, arguments.request_timeout)

    print_ratios(receiver, seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
