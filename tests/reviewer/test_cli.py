"""The ``pr-review`` command line: options, output formats, languages and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pr_reviewer.cli import main
from pr_reviewer.errors import EXIT_OK, EXIT_PERMANENT
from tests.helpers.gitrepo import GitRepo
from tests.reviewer.planted import EXPECTED_DEFECTS, build_planted_repo

FINDING_KEYS = {"path", "line", "severity", "analyzer", "rule", "message"}


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[GitRepo, str, str]:
    return build_planted_repo(tmp_path_factory.mktemp("cli") / "repo")


def review(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--log-level", "ERROR", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_format_prints_one_document(planted, capsys) -> None:
    repo, base, head = planted

    code, out, _ = review(capsys, "--repo", str(repo.path), "--base", base, "--head", head, "--format", "json")

    assert code == EXIT_OK
    document = json.loads(out)
    assert {"findings", "files_reviewed", "skipped", "analyzers", "partial", "counts"} <= set(document)
    assert all(set(finding) >= FINDING_KEYS for finding in document["findings"])
    found = {(item["path"], item["line"], item["analyzer"]) for item in document["findings"]}
    assert found >= EXPECTED_DEFECTS
    assert document["head_sha"] == head


def test_markdown_format_lists_summary_and_findings(planted, capsys) -> None:
    repo, base, head = planted

    code, out, _ = review(capsys, "--repo", str(repo.path), "--base", base, "--head", head)

    assert code == EXIT_OK
    assert out.startswith(f"## Automated review of `{head[:12]}`\n")
    assert "### Findings" in out
    assert "`db.py:5` bandit/B608" in out
    assert "LLM analyzer off: no endpoint configured." in out


def test_chinese_output_follows_the_language_setting(planted, capsys) -> None:
    repo, base, head = planted

    code, out, _ = review(capsys, "--repo", str(repo.path), "--base", base, "--head", head, "--language", "zh-CN")

    assert code == EXIT_OK
    assert out.startswith(f"## 自动代码审查：`{head[:12]}`\n")
    assert "### 问题列表" in out
    assert "LLM 分析器未启用：未配置接口地址。" in out


def test_invalid_top_n_is_rejected_with_exit_64(planted, capsys) -> None:
    repo, base, head = planted

    code, out, err = review(capsys, "--repo", str(repo.path), "--base", base, "--head", head, "--top-n", "0")

    assert code == EXIT_PERMANENT
    assert out == ""
    assert err == "pr-review: error: invalid top_n=0 or batch_size=5: both must be at least 1\n"


def test_unknown_analyzer_is_rejected(planted, capsys) -> None:
    repo, base, head = planted

    code, _, err = review(capsys, "--repo", str(repo.path), "--base", base, "--head", head, "--analyzers", "pylint")

    assert code == EXIT_PERMANENT
    assert err.startswith("pr-review: error: unknown analyzer 'pylint'")


def test_missing_ref_prints_one_error_line(planted, capsys) -> None:
    repo, base, _ = planted

    code, out, err = review(capsys, "--repo", str(repo.path), "--base", base, "--head", "nope")

    assert code == EXIT_PERMANENT
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("pr-review: error: ")
    assert "nope" in err


def test_posting_without_credentials_is_rejected(planted, capsys, monkeypatch) -> None:
    repo, base, head = planted
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("GITHUB_APP_ID", raising=False)

    code, _, err = review(
        capsys, "--repo", str(repo.path), "--base", base, "--head", head,
        "--post", "github", "--repository", "octo/app", "--pr", "7",
    )

    assert code == EXIT_PERMANENT
    assert err == (
        "pr-review: error: posting needs GITHUB_TOKEN, or GITHUB_APP_ID with GITHUB_APP_PRIVATE_KEY\n"
    )


def test_review_leaves_no_work_tree_behind(planted, capsys, tmp_path: Path) -> None:
    repo, base, head = planted

    code, _, _ = review(capsys, "--repo", str(repo.path), "--base", base, "--head", head, "--workdir", str(tmp_path))

    assert code == EXIT_OK
    assert list(tmp_path.iterdir()) == []


def test_dry_run_prints_the_review_it_would_post(planted, capsys) -> None:
    repo, base, head = planted
    repo.update_ref("refs/pull/7/head", head)

    code, out, _ = review(
        capsys, "--repo", str(repo.path), "--base", base, "--head", head, "--format", "json",
        "--dry-run", "--repository", "octo/app", "--pr", "7",
    )

    assert code == EXIT_OK
    plan = json.loads(out)["dry_run"]
    assert plan["review"]["path"] == "/repos/octo/app/pulls/7/reviews"
    assert plan["review"]["body"]["commit_id"] == head
    anchored = {(comment["path"], comment["line"]) for comment in plan["review"]["body"]["comments"]}
    assert ("db.py", 5) in anchored
    assert plan["summary"]["path"] == "/repos/octo/app/issues/7/comments"
    assert plan["summary"]["body"]["body"].startswith(f"## Automated review of `{head[:12]}`")


def test_usage_error_exits_64_with_one_line(planted, capsys) -> None:
    repo, base, head = planted

    with pytest.raises(SystemExit) as stopped:
        main(["--repo", str(repo.path), "--base", base, "--head", head, "--language", "fr"])

    assert stopped.value.code == EXIT_PERMANENT
    err = capsys.readouterr().err
    # argparse quotes the choices differently across Python versions, so only the frame is exact.
    assert err.startswith("pr-review: error: argument --language: invalid choice: 'fr' (choose from ")
    assert err.endswith(") (see pr-review --help)\n")
    assert err.count("\n") == 1


def test_negative_pr_number_is_rejected(planted, capsys) -> None:
    repo, base, head = planted

    code, _, err = review(capsys, "--repo", str(repo.path), "--base", base, "--head", head, "--pr", "-3")

    assert code == EXIT_PERMANENT
    assert err == "pr-review: error: invalid PR number -3: it must be at least 1\n"


def test_relative_workdir_is_resolved(planted, capsys, tmp_path: Path, monkeypatch) -> None:
    repo, base, head = planted
    monkeypatch.chdir(tmp_path)
    (tmp_path / "work").mkdir()

    code, _, _ = review(capsys, "--repo", str(repo.path), "--base", base, "--head", head, "--workdir", "work")

    assert code == EXIT_OK
    assert list((tmp_path / "work").iterdir()) == []


def test_workdir_that_is_a_file_is_rejected(planted, capsys, tmp_path: Path) -> None:
    repo, base, head = planted
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")

    code, _, err = review(capsys, "--repo", str(repo.path), "--base", base, "--head", head, "--workdir", str(blocker))

    assert code == EXIT_PERMANENT
    assert err == f"pr-review: error: invalid workdir {str(blocker)!r}: it exists and is not a folder\n"
