"""The main job on real input: the reviewer reviews a real commit from this project's own history."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from pr_reviewer.graph import run_review
from pr_reviewer.model import AnalyzerStatus
from pr_reviewer.settings import ReviewSettings

PROJECT = Path(__file__).resolve().parents[2]
# The commit that added the report step: real Python and YAML written for this project.
ADDED_FILE = "reviewer-image/pr_reviewer/report.py"
HUNK_HEADER = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=PROJECT, check=True, capture_output=True, text=True).stdout


def commit_that_added(path: str) -> str:
    try:
        shas = git("log", "--format=%H", "--diff-filter=A", "--", path).split()
    except (subprocess.CalledProcessError, FileNotFoundError):
        shas = []
    if not shas:
        pytest.skip(f"this checkout has no git history for {path} (a source archive or a shallow clone)")
    return shas[-1]


def added_lines(base: str, head: str) -> set[tuple[str, int]]:
    """Added lines per ``git diff -U0``: an oracle independent of the reviewer's own diff parser."""
    lines: set[tuple[str, int]] = set()
    path = ""
    for row in git("diff", "-U0", "--no-color", "--no-renames", base, head).splitlines():
        if row.startswith("+++ "):
            path = row[6:] if row.startswith("+++ b/") else ""
            continue
        match = HUNK_HEADER.match(row)
        if match and path:
            start, count = int(match[1]), int(match[2] or 1)
            lines.update((path, number) for number in range(start, start + count))
    return lines


def test_reviewer_reviews_a_real_commit_of_this_project(tmp_path: Path) -> None:
    head = commit_that_added(ADDED_FILE)
    base = f"{head}~1"
    settings = ReviewSettings(repo=str(PROJECT), base=base, head=head, workdir=str(tmp_path))
    settings.validate()

    result = run_review(settings)

    assert result.error is None
    report = result.report
    assert ADDED_FILE in report.files_reviewed
    assert "reviewer-image/pr_reviewer/locales/zh-CN.yaml" in report.files_reviewed
    statuses = {run.name: run.status for run in report.runs}
    assert statuses["secrets"] == AnalyzerStatus.RAN
    assert statuses["ruff"] == AnalyzerStatus.RAN
    assert statuses["bandit"] == AnalyzerStatus.RAN
    assert report.head_sha == git("rev-parse", head).strip()
    changed = added_lines(base, head)
    assert {(finding.path, finding.line) for finding in report.findings} <= changed
    assert list(tmp_path.iterdir()) == []
