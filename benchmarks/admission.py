"""Benchmark: how fast the operator admits queued reviews into Jobs, and how it drains a long queue.

It runs a kubesim API server (in this process), the job runner and the real operator process
(``python -m pr_operator``) with the control-plane tests' helpers, and the tests' stand-in
``pr-review-job``, which sleeps ``--job-seconds`` and writes a termination message. Then:

1. admission latency: with every slot free, the time from sending a resource's create request to
   the Job's ADDED watch event, one resource at a time (each waits until the previous review is final);
2. drain: with the operator stopped, create ``--count`` resources, start the operator, and time until
   every one is final (bounded by ``--timeout``). During the drain, slot turnover is the time from a
   Job's finish (its Complete condition seen on the watch) to the next Job's ADDED event, pairing the
   k-th finish with the (limit + k)-th creation. The operator's peak memory is its VmHWM (peak RSS).

    .venv/bin/python benchmarks/admission.py [--count 1000] [--limit 3] [--job-seconds 0.2]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

if __package__ in (None, ""):
    # Run as a script: make the repository root importable for ``tests.controlplane`` and ``benchmarks``.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.figures import REPO_ROOT, distribution, machine_line
from kubesim.testing import start_apiserver
from prreview_api import LABEL_REVIEW, Phase
from tests.controlplane.conftest import JOBS, NAMESPACE, ControlPlane, sha

STANDIN_SOURCE = REPO_ROOT / "tests" / "controlplane" / "standin_review_job.py"
PROGRESS_EVERY_SECONDS = 60.0
SAMPLE_EVERY_SECONDS = 0.25


# -- what the watch shows -----------------------------------------------------------------------------------


@dataclass
class JobTimeline:
    """When each review Job appeared and finished, as seen by this process's watch (monotonic seconds)."""

    created: dict[str, float] = field(default_factory=dict)  # Job name -> ADDED
    finished: dict[str, float] = field(default_factory=dict)  # Job name -> first Complete/Failed condition
    review_of: dict[str, str] = field(default_factory=dict)  # Job name -> review name
    reconnects: int = 0


class JobWatch:
    """Follow review Jobs through one watch stream in a background thread; wait on what it has seen."""

    def __init__(self, api_url: str) -> None:
        self.timeline = JobTimeline()
        self._api_url = api_url
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="job-watch", daemon=True)
        self._thread.start()

    def wait(self, predicate: Callable[[JobTimeline], Any], timeout: float, description: str) -> Any:
        with self._changed:
            value = self._changed.wait_for(lambda: predicate(self.timeline), timeout)
        if not value:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {description}")
        return value

    def snapshot(self) -> JobTimeline:
        with self._changed:
            return JobTimeline(
                dict(self.timeline.created), dict(self.timeline.finished), dict(self.timeline.review_of),
                self.timeline.reconnects,
            )

    def stop(self) -> None:
        self._stopping.set()

    def _run(self) -> None:
        with httpx.Client(base_url=self._api_url, timeout=httpx.Timeout(10.0, read=None)) as client:
            while not self._stopping.is_set():
                try:
                    with client.stream("GET", JOBS, params={"watch": "true"}) as stream:
                        for line in stream.iter_lines():
                            if line:
                                self._record(json.loads(line))
                except httpx.HTTPError:
                    if self._stopping.is_set():
                        return
                # The stream ended without a stop request; a new watch replays every Job as ADDED.
                with self._changed:
                    self.timeline.reconnects += 1
                time.sleep(0.1)

    def _record(self, event: dict[str, Any]) -> None:
        seen = time.monotonic()
        job = event.get("object") or {}
        name = (job.get("metadata") or {}).get("name")
        if not name or event.get("type") not in ("ADDED", "MODIFIED"):
            return

        with self._changed:
            timeline = self.timeline
            timeline.created.setdefault(name, seen)
            timeline.review_of.setdefault(name, (job["metadata"].get("labels") or {}).get(LABEL_REVIEW, ""))
            if name not in timeline.finished and job_has_finished(job):
                timeline.finished[name] = seen
            self._changed.notify_all()


def job_has_finished(job: dict[str, Any]) -> bool:
    return any(
        condition.get("type") in ("Complete", "Failed") and condition.get("status") == "True"
        for condition in (job.get("status") or {}).get("conditions") or []
    )


# -- the operator's memory ---------------------------------------------------------------------------------


class MemorySampler:
    """Sample a process's resident set size every ``SAMPLE_EVERY_SECONDS`` and read its kernel peak at the end."""

    def __init__(self, pid: int) -> None:
        self._process = psutil.Process(pid)
        self.max_sampled_rss = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping.wait(SAMPLE_EVERY_SECONDS):
            try:
                self.max_sampled_rss = max(self.max_sampled_rss, self._process.memory_info().rss)
            except psutil.Error:
                return

    def stop(self) -> tuple[int, int | None, float]:
        """Return the largest sampled RSS, the kernel's VmHWM (None off Linux) and the CPU seconds used."""
        self._stopping.set()
        self._thread.join(timeout=5)
        times = self._process.cpu_times()
        return self.max_sampled_rss, peak_rss(self._process.pid), times.user + times.system


def peak_rss(pid: int) -> int | None:
    """Return VmHWM, the peak resident set size the kernel recorded for ``pid``, in bytes."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def mebibytes(size: int | None) -> str:
    return "n/a" if size is None else f"{size / 2**20:.0f} MiB"


# -- the phases -------------------------------------------------------------------------------------------


def write_standin(folder: Path) -> Path:
    """Put the control-plane tests' stand-in ``pr-review-job`` in a folder for the runner's PATH."""
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    script = bin_dir / "pr-review-job"
    script.write_text(f"#!{sys.executable}\n" + STANDIN_SOURCE.read_text())
    script.chmod(0o755)
    return bin_dir


def final_reviews(plane: ControlPlane) -> dict[str, str]:
    """Return the phase of each review that reached a final phase."""
    phases = {name: (item.get("status") or {}).get("phase") for name, item in plane.reviews().items()}
    return {name: phase for name, phase in phases.items() if phase in Phase.FINAL}


def wait_final(plane: ControlPlane, name: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while (phase := plane.phase(name)) not in Phase.FINAL:
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for review {name} to finish")
        time.sleep(0.02)
    return str(phase)


def job_created_for(review: str) -> Callable[[JobTimeline], float | None]:
    """Return a predicate giving when the first Job of ``review`` was seen, or None before that."""
    def created(timeline: JobTimeline) -> float | None:
        return next((seen for job, seen in timeline.created.items() if timeline.review_of.get(job) == review), None)

    return created


def measure_admission(plane: ControlPlane, watch: JobWatch, samples: int) -> list[float]:
    """Create one review at a time while every slot is free; return create-request-to-Job-ADDED latencies."""
    latencies = []
    for index in range(samples + 1):
        name = f"admission-{index:03d}"
        started = time.monotonic()
        plane.create_review(name, pr=10_000 + index, head=sha(10_000 + index))
        created = watch.wait(job_created_for(name), 60, f"the Job of {name}")
        if index:  # the first one warms up the operator's and the runner's connections
            latencies.append(created - started)
        wait_final(plane, name, 60)
    return latencies


@dataclass
class Drain:
    count: int
    created_seconds: float = 0.0  # creating the resources, before the operator started
    seconds: float = 0.0  # operator start -> every review final, or the timeout
    first_job_seconds: float = float("nan")  # operator start -> first Job ADDED
    final: dict[str, str] = field(default_factory=dict)
    turnovers: list[float] = field(default_factory=list)
    jobs_created: int = 0
    status_patches: int = 0
    max_sampled_rss: int = 0
    peak_rss: int | None = None
    operator_cpu_seconds: float = 0.0
    finished: bool = False


def measure_drain(plane: ControlPlane, watch: JobWatch, arguments: argparse.Namespace) -> Drain:
    drain = Drain(arguments.count)
    names = [f"drain-{index:05d}" for index in range(arguments.count)]
    started = time.monotonic()
    for index, name in enumerate(names):
        plane.create_review(name, pr=index + 1, head=sha(index + 1))
    drain.created_seconds = time.monotonic() - started

    patches_before = count_status_patches(plane)
    jobs_before = set(watch.snapshot().created)
    started = time.monotonic()
    plane.start_operator(MAX_ACTIVE_REVIEWS=str(arguments.limit),
                         RECONCILE_INTERVAL_SECONDS=str(arguments.reconcile_interval))
    assert plane.operator is not None
    sampler = MemorySampler(plane.operator.pid)

    drain.finished = wait_for_drain(plane, names, started, arguments.timeout)
    drain.seconds = time.monotonic() - started
    drain.max_sampled_rss, drain.peak_rss, drain.operator_cpu_seconds = sampler.stop()
    drain.final = {name: phase for name, phase in final_reviews(plane).items() if name in set(names)}
    drain.status_patches = count_status_patches(plane) - patches_before

    timeline = watch.snapshot()
    created = sorted(t for job, t in timeline.created.items() if job not in jobs_before)
    finished = sorted(t for job, t in timeline.finished.items() if job not in jobs_before)
    drain.jobs_created = len(created)
    drain.first_job_seconds = created[0] - started if created else float("nan")
    drain.turnovers = [created[arguments.limit + k] - finished[k]
                       for k in range(min(len(finished), len(created) - arguments.limit))]
    return drain


def wait_for_drain(plane: ControlPlane, names: list[str], started: float, timeout: float) -> bool:
    """Poll until every review in ``names`` is final; print progress every minute; False on timeout."""
    expected = set(names)
    next_report = started + PROGRESS_EVERY_SECONDS
    while True:
        done = len(expected & set(final_reviews(plane)))
        now = time.monotonic()
        if done == len(expected):
            return True
        if now - started > timeout:
            return False
        if now >= next_report:
            print(f"  ... {now - started:.0f} s: {done} of {len(expected)} reviews final", flush=True)
            next_report += PROGRESS_EVERY_SECONDS
        time.sleep(1.0 if done < len(expected) - 10 else 0.1)


def count_status_patches(plane: ControlPlane) -> int:
    return sum(
        1 for record in plane.apiserver.request_log.records()
        if record.resource == "prreviews" and record.subresource == "status" and record.method == "PATCH"
    )


def stop_operator(plane: ControlPlane) -> None:
    assert plane.operator is not None
    plane.operator.terminate()
    plane.operator.wait(timeout=30)


# -- report -----------------------------------------------------------------------------------------------


def print_drain(drain: Drain, arguments: argparse.Namespace) -> None:
    done = len(drain.final)
    phases: dict[str, int] = {}
    for phase in drain.final.values():
        phases[phase] = phases.get(phase, 0) + 1
    outcome = "all final" if drain.finished else f"TIMED OUT after {arguments.timeout:.0f} s"
    print(f"drain of {drain.count} queued reviews, limit {arguments.limit}: {outcome}")
    print(f"  creating the {drain.count} resources (operator stopped) took {drain.created_seconds:.1f} s")
    print(f"  operator start -> every review final: {drain.seconds:.1f} s ({done} final: {phases})")
    print(f"  operator start -> first Job: {drain.first_job_seconds:.1f} s")
    print(f"  Jobs created {drain.jobs_created}, reviews final per second {done / drain.seconds:.2f}")
    print(f"  slot turnover (Job finished -> next Job created): {distribution(drain.turnovers)}")
    print(f"  PullRequestReview status patches during the drain: {drain.status_patches} "
          f"({drain.status_patches / max(done, 1):.1f} per final review)")
    print(f"  operator peak RSS (VmHWM) {mebibytes(drain.peak_rss)}, "
          f"max sampled RSS {mebibytes(drain.max_sampled_rss)}, CPU time {drain.operator_cpu_seconds:.1f} s")


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Measure the operator's admission latency, slot turnover and drain.")
    parser.add_argument("--count", type=int, default=1000, help="queued reviews to drain (default: 1000)")
    parser.add_argument("--limit", type=int, default=3, help="MAX_ACTIVE_REVIEWS (default: 3)")
    parser.add_argument("--samples", type=int, default=20, help="admission latency samples (default: 20)")
    parser.add_argument("--job-seconds", type=float, default=0.2, help="stand-in Job sleep in seconds (default: 0.2)")
    parser.add_argument("--reconcile-interval", type=float, default=30.0,
                        help="RECONCILE_INTERVAL_SECONDS, the operator's safety-net period (default: 30, its default)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds the drain may take (default: 1800)")
    arguments = parser.parse_args(argv)
    if arguments.count < arguments.limit or arguments.limit < 1 or arguments.samples < 1:
        parser.error("--limit and --samples must be at least 1, and --count at least --limit")
    return arguments


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    print(machine_line())
    print(f"setup: kubesim in this process, job runner and operator processes, stand-in Job sleeping "
          f"{arguments.job_seconds} s, MAX_ACTIVE_REVIEWS={arguments.limit}, "
          f"RECONCILE_INTERVAL_SECONDS={arguments.reconcile_interval:g}", flush=True)

    apiserver = start_apiserver(crd_dir=REPO_ROOT / "crds")
    with tempfile.TemporaryDirectory(prefix="admission-") as scratch:
        folder = Path(scratch)
        plane = ControlPlane(apiserver, folder)
        watch = JobWatch(apiserver.url)
        try:
            plane.create("/api/v1/namespaces", {
                "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE},
            })
            plane.configure_reviewer(STANDIN_SECONDS=str(arguments.job_seconds))
            plane.start_runner(write_standin(folder))

            plane.start_operator(MAX_ACTIVE_REVIEWS=str(arguments.limit),
                                 RECONCILE_INTERVAL_SECONDS=str(arguments.reconcile_interval))
            latencies = measure_admission(plane, watch, arguments.samples)
            print(f"admission latency (create request -> Job ADDED, slot free): {distribution(latencies)}", flush=True)
            stop_operator(plane)

            drain = measure_drain(plane, watch, arguments)
            print_drain(drain, arguments)
            print(f"job watch reconnects: {watch.snapshot().reconnects}")
        finally:
            watch.stop()
            plane.stop()
            apiserver.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
