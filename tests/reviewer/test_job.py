"""The Job container entrypoint end to end: environment in, review posted to a fake GitHub, result out."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from pr_reviewer import job
from pr_reviewer.errors import EXIT_OK, EXIT_PERMANENT, EXIT_TRANSIENT
from tests.fakes.github_api import FakeGitHub
from tests.helpers.gitrepo import GitRepo
from tests.reviewer.planted import HEAD_FILES, build_planted_repo

TOKEN = "ghp-job-test-token-8675309"
REPOSITORY = "acme/uploads"
NUMBER = 7
SUMMARY_MARKER = "<!-- pr-reviewer:summary -->"


def full_file_hunks(files: dict[str, str]) -> dict[str, list[tuple[int, int]]]:
    return {path: [(1, text.count("\n"))] for path, text in files.items()}


@pytest.fixture
def origin(tmp_path: Path) -> tuple[GitRepo, str, str]:
    """A bare repository standing in for GitHub, whose PR head is reachable only through refs/pull/7/head."""
    work, base, head = build_planted_repo(tmp_path / "work")
    bare = GitRepo.init(tmp_path / "origin.git", bare=True)
    work.push(bare, f"{base}:refs/heads/main", f"{head}:refs/pull/{NUMBER}/head")
    return bare, base, head


@pytest.fixture
def github() -> FakeGitHub:
    with FakeGitHub(token=TOKEN) as fake:
        yield fake


def job_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, origin: tuple[GitRepo, str, str], api_url: str
) -> Path:
    bare, base, head = origin
    termination = tmp_path / "termination-log"
    variables = {
        "PR_REVIEW_REPOSITORY": REPOSITORY,
        "PR_REVIEW_PR_NUMBER": str(NUMBER),
        "PR_REVIEW_HEAD_SHA": head,
        "PR_REVIEW_BASE_REF": "main",
        "PR_REVIEW_BASE_SHA": base,
        "PR_REVIEW_CLONE_URL": bare.url,
        "PR_REVIEW_GITHUB_API_URL": api_url,
        "PR_REVIEW_TERMINATION_LOG": str(termination),
        "PR_REVIEW_WORKDIR": str(tmp_path / "workdir"),
        "GITHUB_TOKEN": TOKEN,
    }
    (tmp_path / "workdir").mkdir()
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return termination


def read_result(termination: Path) -> dict:
    lines = termination.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def test_job_posts_the_review_and_writes_the_result(
    monkeypatch, tmp_path, origin, github, capfd, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    termination = job_environment(monkeypatch, tmp_path, origin, github.url)
    github.add_pull_request(REPOSITORY, NUMBER, head_sha=origin[2], hunks=full_file_hunks(HEAD_FILES))

    code = job.main()

    assert code == EXIT_OK
    result = read_result(termination)
    assert result["phase"] == "Succeeded"
    assert result["exitCode"] == 0
    assert result["partial"] is False
    assert result["total"] == len(github.review_comments(REPOSITORY, NUMBER))
    assert result["findings"]["critical"] == 1
    assert result["reviewUrl"].startswith(github.origin)
    assert len(github.reviews(REPOSITORY, NUMBER)) == 1
    commented = {(comment["path"], comment["line"]) for comment in github.review_comments(REPOSITORY, NUMBER)}
    assert {("db.py", 5), ("runner.py", 5), ("loader.py", 5), ("handler.py", 4), ("deploy.sh", 3)} <= commented
    summaries = [c for c in github.issue_comments(REPOSITORY, NUMBER) if SUMMARY_MARKER in c["body"]]
    assert len(summaries) == 1
    output = capfd.readouterr()
    for text in (output.out, output.err, caplog.text, termination.read_text()):
        assert TOKEN not in text
    assert list((tmp_path / "workdir").iterdir()) == []


def test_second_push_updates_the_summary_and_skips_posted_findings(
    monkeypatch, tmp_path, origin, github
) -> None:
    bare, _, head = origin
    termination = job_environment(monkeypatch, tmp_path, origin, github.url)
    github.add_pull_request(REPOSITORY, NUMBER, head_sha=head, hunks=full_file_hunks(HEAD_FILES))
    assert job.main() == EXIT_OK
    first_comments = len(github.review_comments(REPOSITORY, NUMBER))

    # The new push inserts two lines at the top of db.py: its finding moves from line 5 to 7.
    work = GitRepo(tmp_path / "work")
    shifted = {"db.py": "# storage helpers\n# keep queries here\n" + HEAD_FILES["db.py"]}
    second = work.commit("Document storage helpers", shifted)
    work.push(bare, f"{second}:refs/pull/{NUMBER}/head")
    github.update_pull_request(REPOSITORY, NUMBER, head_sha=second, hunks=full_file_hunks({**HEAD_FILES, **shifted}))
    monkeypatch.setenv("PR_REVIEW_HEAD_SHA", second)

    assert job.main() == EXIT_OK

    result = read_result(termination)
    assert result["phase"] == "Succeeded"
    assert len(github.review_comments(REPOSITORY, NUMBER)) == first_comments
    summaries = [c for c in github.issue_comments(REPOSITORY, NUMBER) if SUMMARY_MARKER in c["body"]]
    assert len(summaries) == 1
    assert second[:12] in summaries[0]["body"]
    assert len(github.requests_to("PATCH", f"/repos/{REPOSITORY}/issues/comments/{summaries[0]['id']}")) == 1


def test_closed_pull_request_gets_nothing_posted(monkeypatch, tmp_path, origin, github) -> None:
    termination = job_environment(monkeypatch, tmp_path, origin, github.url)
    github.add_pull_request(REPOSITORY, NUMBER, head_sha=origin[2], hunks=full_file_hunks(HEAD_FILES), state="closed")

    code = job.main()

    assert code == EXIT_OK
    result = read_result(termination)
    assert result["phase"] == "Succeeded"
    assert result["message"].endswith(f"nothing posted: PR #{NUMBER} is closed")
    assert github.reviews(REPOSITORY, NUMBER) == []
    assert github.issue_comments(REPOSITORY, NUMBER) == []


def test_head_that_moved_before_fetch_is_not_reviewed(monkeypatch, tmp_path, origin, github) -> None:
    termination = job_environment(monkeypatch, tmp_path, origin, github.url)
    monkeypatch.setenv("PR_REVIEW_HEAD_SHA", "0" * 40)
    github.add_pull_request(REPOSITORY, NUMBER, head_sha=origin[2], hunks=full_file_hunks(HEAD_FILES))

    code = job.main()

    assert code == EXIT_OK
    result = read_result(termination)
    assert result["phase"] == "Succeeded"
    assert result["message"].startswith("nothing posted: ")
    assert "0000000" in result["message"]
    assert github.requests == []


def test_missing_setting_fails_permanently(monkeypatch, tmp_path, origin, github) -> None:
    termination = job_environment(monkeypatch, tmp_path, origin, github.url)
    monkeypatch.delenv("PR_REVIEW_REPOSITORY")

    code = job.main()

    assert code == EXIT_PERMANENT
    result = read_result(termination)
    assert result == {
        "phase": "Failed",
        "partial": False,
        "findings": {"critical": 0, "high": 0, "medium": 0, "low": 0, "info": 0},
        "total": 0,
        "reviewUrl": "",
        "message": "missing PR_REVIEW_REPOSITORY: the Job must set it",
        "exitCode": EXIT_PERMANENT,
    }


def test_github_server_error_fails_transiently(monkeypatch, tmp_path, origin, github) -> None:
    termination = job_environment(monkeypatch, tmp_path, origin, github.url)
    github.add_pull_request(REPOSITORY, NUMBER, head_sha=origin[2], hunks=full_file_hunks(HEAD_FILES))
    github.fail_next(502, 1, method="POST", path=f"/repos/{REPOSITORY}/pulls/{NUMBER}/reviews")

    code = job.main()

    assert code == EXIT_TRANSIENT
    result = read_result(termination)
    assert result["phase"] == "Failed"
    assert result["exitCode"] == EXIT_TRANSIENT
    assert "502" in result["message"]
    assert list((tmp_path / "workdir").iterdir()) == []


def test_dry_run_posts_nothing(monkeypatch, tmp_path, origin, github, capfd) -> None:
    termination = job_environment(monkeypatch, tmp_path, origin, github.url)
    monkeypatch.setenv("PR_REVIEW_DRY_RUN", "true")

    code = job.main()

    assert code == EXIT_OK
    assert read_result(termination)["phase"] == "Succeeded"
    assert github.requests == []
    printed = json.loads(capfd.readouterr().out)
    assert printed["findings"]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PR_REVIEW_DRY_RUN", "maybe", "invalid PR_REVIEW_DRY_RUN='maybe': expected true or false"),
        ("PR_REVIEW_TOP_N", "0", "invalid top_n=0 or batch_size=5: both must be at least 1"),
        ("PR_REVIEW_BATCH_SIZE", "x", "invalid PR_REVIEW_BATCH_SIZE='x': expected a whole number"),
        (
            "PR_REVIEW_GITHUB_API_URL",
            "not a url",
            "invalid GitHub API URL 'not a url': expected https://api.github.com or https://HOST/api/v3 "
            "for GitHub Enterprise",
        ),
    ],
)
def test_invalid_setting_fails_before_any_work(
    monkeypatch, tmp_path, origin, github, name: str, value: str, message: str
) -> None:
    termination = job_environment(monkeypatch, tmp_path, origin, github.url)
    github.add_pull_request(REPOSITORY, NUMBER, head_sha=origin[2], hunks=full_file_hunks(HEAD_FILES))
    monkeypatch.setenv(name, value)

    code = job.main()

    assert code == EXIT_PERMANENT
    result = read_result(termination)
    assert result["phase"] == "Failed"
    assert result["message"] == message
    assert github.requests == []
