"""Benchmark: review a large real change with the built-in analyzers.

It builds (once, cached in ``.bench/``) a repository of two Flask releases from PyPI, whose
diff has thousands of changed lines, then reviews it several times, each run in a fresh
process, and prints the median wall time, the median time per workflow node and the peak
memory (maximum resident set size of the reviewer process and of its largest analyzer child).

    python benchmarks/review_large_change.py [--runs 5] [--package flask --base 2.2.5 --head 3.0.3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE.parent / ".bench"

# Runs inside a fresh interpreter so each measurement starts cold and ru_maxrss is per run.
CHILD = r"""
import json, resource, sys, time
from pr_reviewer.graph import run_review
from pr_reviewer.settings import ReviewSettings
repo, base, head, top_n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
settings = ReviewSettings(repo=repo, base=base, head=head, top_n=top_n)
settings.validate()
started = time.perf_counter()
result = run_review(settings)
wall = time.perf_counter() - started
assert result.error is None, str(result.error)
print(json.dumps({
    "wall": wall,
    "timings": result.timings,
    "self_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    "children_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    "findings": len(result.report.findings),
    "files": len(result.report.files_reviewed),
    "skipped": len(result.report.skipped),
}))
"""


def ensure_repo(package: str, base: str, head: str) -> Path:
    repo = CACHE / f"{package}-{base}-{head}"
    if not repo.exists():
        CACHE.mkdir(exist_ok=True)
        subprocess.run([sys.executable, str(HERE / "release_repo.py"), package, base, head, str(repo)], check=True)
    return repo


def changed_lines(repo: Path, base: str, head: str) -> str:
    return subprocess.run(
        ["git", "diff", "--shortstat", base, head], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


def run_once(repo: Path, base: str, head: str, top_n: int) -> dict:
    output = subprocess.run(
        [sys.executable, "-c", CHILD, str(repo), base, head, str(top_n)],
        check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark the reviewer on a large real change.")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--package", default="flask")
    parser.add_argument("--base", default="2.2.5")
    parser.add_argument("--head", default="3.0.3")
    parser.add_argument("--top-n", type=int, default=500, help="high enough that every file is reviewed")
    args = parser.parse_args()

    repo = ensure_repo(args.package, args.base, args.head)
    runs = [run_once(repo, args.base, args.head, args.top_n) for _ in range(args.runs)]

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.system()} {platform.release()}")
    print(f"change: {args.package} {args.base}..{args.head}: {changed_lines(repo, args.base, args.head)}")
    print(f"files reviewed: {runs[0]['files']}, skipped: {runs[0]['skipped']}, findings: {runs[0]['findings']}")
    print(f"runs: {args.runs}")
    print(f"wall time median: {statistics.median(run['wall'] for run in runs):.2f} s "
          f"(min {min(run['wall'] for run in runs):.2f}, max {max(run['wall'] for run in runs):.2f})")
    for node in runs[0]["timings"]:
        median = statistics.median(run["timings"].get(node, 0.0) for run in runs)
        print(f"  {node:<13} {median:8.3f} s")
    print(f"peak RSS, reviewer process (median): {statistics.median(run['self_kib'] for run in runs) / 1024:.0f} MiB")
    print(f"peak RSS, largest analyzer child (median): "
          f"{statistics.median(run['children_kib'] for run in runs) / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
