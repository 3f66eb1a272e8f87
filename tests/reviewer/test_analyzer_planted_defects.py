"""The built-in analyzers, with the real tools, on a head tree with one planted defect per file."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pr_reviewer.analyzers.bandit import BanditAnalyzer
from pr_reviewer.analyzers.base import AnalysisContext, run_analyzers
from pr_reviewer.analyzers.registry import builtin_analyzers
from pr_reviewer.analyzers.ruff import RuffAnalyzer
from pr_reviewer.analyzers.secrets import SecretsAnalyzer
from pr_reviewer.analyzers.shellcheck import ShellcheckAnalyzer
from pr_reviewer.model import AnalyzerRun, AnalyzerStatus, ChangeKind, DiffLine, FileChange, Hunk, Severity
from pr_reviewer.settings import ReviewSettings
from pr_reviewer.triage import triage
from tests.reviewer.planted import FAKE_AWS_KEY_ID
from tests.reviewer.planted import HEAD_FILES as PLANTED_HEAD_FILES

FAKE_PASSWORD = "hunter2" + "-correct-horse"

# The workflow's planted files, plus a hard-coded password and a clean file that runs a fixed command.
HEAD_FILES = {
    **PLANTED_HEAD_FILES,
    "database.py": f'DB_PASSWORD = "{FAKE_PASSWORD}"\n',
    "clean.py": PLANTED_HEAD_FILES["clean.py"] + (
        "\n"
        "\n"
        "def list_files() -> str:\n"
        "    import subprocess\n"
        "\n"
        '    return subprocess.run(["/bin/ls"], capture_output=True, text=True, check=True).stdout\n'
    ),
}

# The reviewed repository's own tool configuration, which tries to silence every planted defect and
# to break ruff with an unknown rule. It is part of the work tree but not of the change.
REPOSITORY_CONFIG = {
    "pyproject.toml": '[tool.ruff]\nlint.select = ["NOPE1"]\nlint.ignore = ["E722"]\n',
    ".bandit": "[bandit]\nskips: B602,B608,B506,B110,B105\n",
    ".shellcheckrc": "disable=SC2086\n",
}

# (path, line, end_line, rule, severity) each analyzer must report, and nothing else.
EXPECTED = {
    "secrets": {
        ("settings.py", 3, None, "AWSKeyDetector", Severity.CRITICAL),
        ("database.py", 1, None, "KeywordDetector", Severity.CRITICAL),
    },
    "ruff": {
        ("handler.py", 4, None, "E722", Severity.MEDIUM),
    },
    "bandit": {
        ("database.py", 1, None, "B105", Severity.LOW),
        ("db.py", 5, None, "B608", Severity.MEDIUM),
        ("runner.py", 5, None, "B602", Severity.HIGH),
        ("loader.py", 5, None, "B506", Severity.MEDIUM),
        ("handler.py", 4, 5, "B110", Severity.LOW),
    },
    "shellcheck": {
        ("deploy.sh", 3, None, "SC2086", Severity.LOW),
    },
}


def added_file(path: str, text: str) -> FileChange:
    """Describe a new file as the diff step would: one hunk in which every line is added."""
    lines = text.splitlines()
    hunk = Hunk(
        old_start=0,
        old_count=0,
        new_start=1,
        new_count=len(lines),
        lines=[DiffLine("+", line, None, number) for number, line in enumerate(lines, start=1)],
    )
    return FileChange(path=path, old_path=None, kind=ChangeKind.ADDED, hunks=[hunk])


@pytest.fixture(scope="module")
def head(tmp_path_factory: pytest.TempPathFactory) -> AnalysisContext:
    workdir = tmp_path_factory.mktemp("head")
    for path, text in {**HEAD_FILES, **REPOSITORY_CONFIG}.items():
        (workdir / path).write_text(text, encoding="utf-8")
    files = [added_file(path, text) for path, text in HEAD_FILES.items()]
    settings = ReviewSettings(repo=str(workdir), base="base", head="head", repository="octo/upload", pr_number=7)
    return AnalysisContext(workdir=workdir, files=files, settings=settings)


@pytest.fixture(scope="module")
def runs(head: AnalysisContext) -> dict[str, AnalyzerRun]:
    return {run.name: run for run in run_analyzers(head, builtin_analyzers(head.settings))}


def reported(run: AnalyzerRun) -> set[tuple[str, int, int | None, str, Severity]]:
    return {(finding.path, finding.line, finding.end_line, finding.rule, finding.severity) for finding in run.findings}


@pytest.mark.parametrize("analyzer", sorted(EXPECTED))
def test_analyzer_reports_planted_defects(runs: dict[str, AnalyzerRun], analyzer: str) -> None:
    run = runs[analyzer]

    assert run.status == AnalyzerStatus.RAN, run.detail
    assert reported(run) == EXPECTED[analyzer]
    assert {finding.analyzer for finding in run.findings} == {analyzer}


def test_analyzers_leave_work_tree_unchanged(head: AnalysisContext, runs: dict[str, AnalyzerRun]) -> None:
    present = sorted(path.name for path in Path(head.workdir).iterdir())

    assert present == sorted({*HEAD_FILES, *REPOSITORY_CONFIG})


def test_clean_files_get_no_findings(runs: dict[str, AnalyzerRun]) -> None:
    flagged = {finding.path for run in runs.values() for finding in run.findings}

    assert "clean.py" not in flagged
    assert "clean.sh" not in flagged


def test_messages_never_contain_secret_values(runs: dict[str, AnalyzerRun]) -> None:
    messages = [finding.message for run in runs.values() for finding in run.findings]

    assert not [message for message in messages if FAKE_AWS_KEY_ID in message]
    assert not [message for message in messages if FAKE_PASSWORD in message]


def test_secret_message_names_the_secret_type(runs: dict[str, AnalyzerRun]) -> None:
    aws = next(finding for finding in runs["secrets"].findings if finding.rule == "AWSKeyDetector")

    assert aws.message == (
        "Possible hard-coded secret (AWS Access Key): move it to a secret store and rotate it, "
        "because it stays in the git history"
    )


def test_bandit_message_carries_confidence(runs: dict[str, AnalyzerRun]) -> None:
    shell = next(finding for finding in runs["bandit"].findings if finding.rule == "B602")

    assert shell.message == "subprocess call with shell=True identified, security issue (bandit confidence: high)"


def test_triage_merges_findings_of_one_problem(head: AnalysisContext, runs: dict[str, AnalyzerRun]) -> None:
    result = triage(list(runs.values()), head.files, head.settings)
    by_location = {(finding.path, finding.line): finding for finding in result.findings}

    assert result.duplicate == 2
    assert len(result.findings) == 7
    assert by_location[("handler.py", 4)].analyzer == "ruff"
    assert by_location[("handler.py", 4)].rule == "E722"
    assert by_location[("handler.py", 4)].message == "Do not use bare `except` (also reported by bandit B110)"
    assert by_location[("database.py", 1)].analyzer == "secrets"
    assert by_location[("database.py", 1)].message.endswith("(also reported by bandit B105)")


def test_missing_tool_fails_only_its_own_run(head: AnalysisContext) -> None:
    missing = str(Path(head.workdir) / "no-such-ruff")
    analyzers = [SecretsAnalyzer(), RuffAnalyzer(executable=missing), ShellcheckAnalyzer()]

    runs = {run.name: run for run in run_analyzers(head, analyzers)}

    assert runs["ruff"].status == AnalyzerStatus.FAILED
    assert runs["ruff"].detail == f"no-such-ruff could not start: No such file or directory ({missing})"
    assert runs["ruff"].findings == []
    assert runs["secrets"].status == AnalyzerStatus.RAN
    assert len(runs["secrets"].findings) == 2
    assert runs["shellcheck"].status == AnalyzerStatus.RAN
    assert len(runs["shellcheck"].findings) == 1


def test_tool_timeout_fails_the_run(head: AnalysisContext) -> None:
    # Bandit needs far longer than 10 ms just to import its plugins, so this timeout always expires.
    settings = ReviewSettings(repo=head.settings.repo, base="base", head="head", analyzer_timeout_seconds=0.01)
    context = AnalysisContext(workdir=head.workdir, files=head.files, settings=settings)

    [run] = run_analyzers(context, [BanditAnalyzer()])

    assert run.status == AnalyzerStatus.FAILED
    assert run.detail == "bandit timed out after 0.01 s"


def test_output_that_is_not_json_fails_the_run(head: AnalysisContext) -> None:
    # echo prints its arguments back, which is plain text where shellcheck would print JSON.
    echo = "/bin/echo"

    [run] = run_analyzers(head, [ShellcheckAnalyzer(executable=echo)])

    assert run.status == AnalyzerStatus.FAILED
    assert run.detail == "shellcheck printed output that is not JSON: Expecting value at line 1"


def test_unexpected_exit_code_fails_the_run(head: AnalysisContext) -> None:
    # The Python interpreter rejects ruff's options with exit code 2, as a wrong tool on PATH would.
    [run] = run_analyzers(head, [RuffAnalyzer(executable=sys.executable)])

    assert run.status == AnalyzerStatus.FAILED
    assert run.detail.startswith(f"{Path(sys.executable).name} failed with exit code 2: ")
