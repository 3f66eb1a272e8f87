"""The whole review workflow on repositories the tests build, through ``run_review``."""

from __future__ import annotations

from pathlib import Path

import pytest

from pr_reviewer import graph
from pr_reviewer.analyzers.base import AnalysisContext, AnalyzerFailed
from pr_reviewer.errors import EXIT_OK, EXIT_PERMANENT, EXIT_TRANSIENT
from pr_reviewer.graph import run_review
from pr_reviewer.model import AnalyzerStatus, Finding, Severity
from pr_reviewer.report import render_comment, render_summary
from pr_reviewer.settings import LLMSettings, ReviewSettings, Secret
from pr_reviewer.termination import summary_message
from tests.fakes.openai_api import FakeOpenAI, findings_reply
from tests.helpers.gitrepo import GitRepo
from tests.reviewer.planted import CLEAN_FILES, EXPECTED_DEFECTS, FAKE_AWS_KEY_ID, build_planted_repo


def settings_for(repo: str, base: str, head: str, workdir: Path, **overrides: object) -> ReviewSettings:
    settings = ReviewSettings(repo=repo, base=base, head=head, workdir=str(workdir))
    for name, value in overrides.items():
        setattr(settings, name, value)
    settings.validate()
    return settings


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[GitRepo, str, str]:
    return build_planted_repo(tmp_path_factory.mktemp("planted") / "repo")


@pytest.fixture(scope="module")
def planted_review(planted: tuple[GitRepo, str, str], tmp_path_factory: pytest.TempPathFactory):
    repo, base, head = planted
    workdir = tmp_path_factory.mktemp("work")
    return run_review(settings_for(str(repo.path), base, head, workdir)), workdir


def test_planted_defects_are_each_reported_once(planted_review) -> None:
    result, _ = planted_review

    assert result.error is None
    found = {(finding.path, finding.line, finding.analyzer) for finding in result.report.findings}
    assert found >= EXPECTED_DEFECTS
    by_place = [(finding.path, finding.line) for finding in result.report.findings]
    assert len(by_place) == len(set(by_place)), "triage keeps one finding per line and problem"


def test_planted_defects_carry_the_expected_rules(planted_review) -> None:
    result, _ = planted_review
    rules = {(finding.path, finding.line): finding.rule for finding in result.report.findings}

    assert rules[("db.py", 5)] == "B608"
    assert rules[("runner.py", 5)] == "B602"
    assert rules[("loader.py", 5)] == "B506"
    assert rules[("handler.py", 4)] == "E722"
    assert rules[("deploy.sh", 3)] == "SC2086"


def test_clean_files_get_no_findings(planted_review) -> None:
    result, _ = planted_review

    flagged = {finding.path for finding in result.report.findings}
    assert flagged.isdisjoint(CLEAN_FILES)
    assert set(result.report.files_reviewed) >= CLEAN_FILES


def test_secret_value_is_not_in_the_report(planted_review) -> None:
    result, _ = planted_review

    rendered = str(result.report.to_json())
    assert FAKE_AWS_KEY_ID not in rendered


def test_every_builtin_analyzer_ran_and_llm_is_off(planted_review) -> None:
    result, _ = planted_review

    statuses = {run.name: run.status for run in result.report.runs}
    assert statuses == {
        "secrets": AnalyzerStatus.RAN,
        "ruff": AnalyzerStatus.RAN,
        "bandit": AnalyzerStatus.RAN,
        "shellcheck": AnalyzerStatus.RAN,
        "llm": AnalyzerStatus.DISABLED,
    }
    assert result.report.coverage.partial is False


def test_work_tree_is_removed_after_success(planted_review) -> None:
    _, workdir = planted_review

    assert list(workdir.iterdir()) == []


def test_user_repository_is_left_untouched(planted: tuple[GitRepo, str, str], planted_review) -> None:
    repo, _, head = planted

    assert repo.status() == ""
    assert repo.rev_parse("HEAD") == head


def test_top_n_cut_makes_the_review_partial(planted: tuple[GitRepo, str, str], tmp_path: Path) -> None:
    repo, base, head = planted

    result = run_review(settings_for(str(repo.path), base, head, tmp_path, top_n=3))

    assert result.error is None
    assert len(result.report.files_reviewed) == 3
    assert result.report.coverage.files_beyond_top_n == len(set(_head_paths()) - {"README.md"}) - 3
    assert result.report.coverage.partial is True
    assert result.report.to_json()["partial"] is True


class BrokenAnalyzer:
    name = "broken"

    def analyze(self, context: AnalysisContext) -> list:
        raise AnalyzerFailed("tool crashed with exit 2")


def test_failed_analyzer_degrades_the_review(
    planted: tuple[GitRepo, str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, base, head = planted
    builtin = graph.builtin_analyzers
    monkeypatch.setattr(graph, "builtin_analyzers", lambda settings: [BrokenAnalyzer(), *builtin(settings)])

    result = run_review(settings_for(str(repo.path), base, head, tmp_path))

    assert result.error is None
    runs = {run.name: run for run in result.report.runs}
    assert runs["broken"].status == AnalyzerStatus.FAILED
    assert runs["broken"].detail == "tool crashed with exit 2"
    assert runs["bandit"].status == AnalyzerStatus.RAN
    assert result.report.coverage.partial is True
    assert "analyzers failed: broken" in render_summary(result.report, [])
    assert summary_message(result).endswith("; partial review: analyzers failed: broken")


def test_empty_diff_is_a_valid_empty_review(planted: tuple[GitRepo, str, str], tmp_path: Path) -> None:
    repo, _, head = planted

    result = run_review(settings_for(str(repo.path), head, head, tmp_path))

    assert result.exit_code == EXIT_OK
    assert result.report.findings == []
    assert result.report.files_reviewed == []


def test_missing_ref_fails_permanently_with_one_line(planted: tuple[GitRepo, str, str], tmp_path: Path) -> None:
    repo, base, _ = planted

    result = run_review(settings_for(str(repo.path), base, "no-such-branch", tmp_path))

    assert result.exit_code == EXIT_PERMANENT
    assert "no-such-branch" in str(result.error)
    assert "\n" not in str(result.error)
    assert list(tmp_path.iterdir()) == []


def test_path_that_is_not_a_repository_fails_permanently(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    workdir = tmp_path / "work"
    workdir.mkdir()

    result = run_review(settings_for(str(plain), "main", "HEAD", workdir))

    assert result.exit_code == EXIT_PERMANENT
    assert str(result.error) == f"not a git repository: {plain}"


def test_unreachable_url_fails_transiently(tmp_path: Path) -> None:
    result = run_review(settings_for("http://127.0.0.1:9/owner/repo.git", "main", "feature", tmp_path))

    assert result.exit_code == EXIT_TRANSIENT
    assert "127.0.0.1:9" in str(result.error)
    assert list(tmp_path.iterdir()) == []


def test_binary_and_huge_files_are_skipped_with_reasons(tmp_path: Path) -> None:
    repo = GitRepo.init(tmp_path / "repo")
    base = repo.commit("Start", {"README.md": "start\n"})
    head = repo.commit("Add assets", {
        "logo.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
        "data.py": "VALUES = [\n" + "    1,\n" * 2000 + "]\n",
        "small.py": "print('ok')\n",
    })
    workdir = tmp_path / "work"
    workdir.mkdir()

    result = run_review(settings_for(str(repo.path), base, head, workdir, max_file_bytes=10_000))

    assert result.exit_code == EXIT_OK
    reasons = {item.path: item.reason for item in result.report.skipped}
    assert set(reasons) == {"logo.png", "data.py"}
    assert "binary" in reasons["logo.png"]
    assert "10000" in reasons["data.py"].replace(",", "")
    assert result.report.files_reviewed == ["small.py"]


def test_unknown_language_gets_a_valid_review(tmp_path: Path) -> None:
    repo = GitRepo.init(tmp_path / "repo")
    base = repo.commit("Start", {"README.md": "start\n"})
    head = repo.commit("Add a Zig file", {"src/main.zig": "pub fn main() void {}\n"})
    workdir = tmp_path / "work"
    workdir.mkdir()

    result = run_review(settings_for(str(repo.path), base, head, workdir))

    assert result.exit_code == EXIT_OK
    assert result.report.files_reviewed == ["src/main.zig"]
    assert result.report.findings == []


def _head_paths() -> list[str]:
    from tests.reviewer.planted import HEAD_FILES

    return list(HEAD_FILES)


def test_llm_findings_join_the_review_in_chinese(planted: tuple[GitRepo, str, str], tmp_path: Path) -> None:
    repo, base, head = planted
    llm_finding = {"path": "app.py", "line": 2, "severity": "low", "rule": "naming", "message": "名称可以更具体。"}
    off_diff = {"path": "app.py", "line": 40, "severity": "high", "rule": "x", "message": "不在改动中"}
    with FakeOpenAI(api_key="sk-workflow-test", default=findings_reply([llm_finding, off_diff])) as fake:
        llm = LLMSettings(base_url=fake.base_url, model="fake-model", api_key=Secret("sk-workflow-test"))

        result = run_review(settings_for(str(repo.path), base, head, tmp_path, llm=llm, language="zh-CN"))

        assert fake.chat_requests
        assert "简体中文" in fake.chat_requests[0].message_text("system")
    assert result.error is None
    llm_findings = [finding for finding in result.report.findings if finding.analyzer == "llm"]
    assert [(f.path, f.line, f.rule, f.message) for f in llm_findings] == [("app.py", 2, "naming", "名称可以更具体。")]
    runs = {run.name: run for run in result.report.runs}
    assert runs["llm"].status == AnalyzerStatus.RAN
    assert result.report.llm_configured is True
    assert "LLM 分析器未启用" not in render_summary(result.report, [])


def test_very_long_message_is_clipped_in_comments() -> None:
    finding = Finding("app.py", 3, Severity.LOW, "llm", "style", "x" * 100_000)

    body = render_comment(finding, "en")

    assert len(body) < 2100
    assert body.endswith("x…")
