"""The analyzers' shared plumbing: finding and running tools, choosing files, reading reports."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pr_reviewer.analyzers.bandit import parse_bandit_report
from pr_reviewer.analyzers.base import AnalysisContext, AnalyzerFailed
from pr_reviewer.analyzers.ruff import parse_ruff_report, severity_for
from pr_reviewer.analyzers.secrets import SecretsAnalyzer
from pr_reviewer.analyzers.shellcheck import is_shell_script, parse_shellcheck_report
from pr_reviewer.analyzers.tools import (
    find_tool,
    head_files,
    parse_json_output,
    python_files,
    relative_to_workdir,
    run_tool,
)
from pr_reviewer.model import ChangeKind, FileChange, Severity
from pr_reviewer.settings import ReviewSettings

FAKE_AWS_KEY_ID = "AKIA" + "Z7Q4M2XW9RTB3KLP"
PYTHON = sys.executable


def context_for(
    workdir: Path, files: dict[str, str | bytes], language: dict[str, str] | None = None
) -> AnalysisContext:
    """Write ``files`` into ``workdir`` and describe each as an added file of the change."""
    changes = []
    for path, content in files.items():
        target = workdir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
        changes.append(FileChange(path, None, ChangeKind.ADDED, language=(language or {}).get(path)))
    settings = ReviewSettings(repo=str(workdir), base="main", head="topic", analyzer_timeout_seconds=10)
    return AnalysisContext(workdir=workdir, files=changes, settings=settings)


# --- finding and running tools ---------------------------------------------------------------


def test_find_tool_prefers_the_virtualenv() -> None:
    assert find_tool("ruff") == str(Path(PYTHON).parent / "ruff")


def test_find_tool_reports_missing_tool() -> None:
    with pytest.raises(AnalyzerFailed) as raised:
        find_tool("no-such-linter-4b1d")

    assert str(raised.value) == (
        f"no-such-linter-4b1d not found next to {PYTHON} or on PATH: install the reviewer's dependencies"
    )


def test_run_tool_accepts_exit_code_one(tmp_path: Path) -> None:
    output = run_tool([PYTHON, "-c", "print('[]'); raise SystemExit(1)"], cwd=tmp_path, timeout_seconds=10)

    assert output == "[]\n"


def test_run_tool_reports_first_stderr_line(tmp_path: Path) -> None:
    script = "import sys; sys.stderr.write('error: bad option\\nmore detail\\n'); raise SystemExit(2)"

    with pytest.raises(AnalyzerFailed) as raised:
        run_tool([PYTHON, "-c", script], cwd=tmp_path, timeout_seconds=10)

    assert str(raised.value) == f"{Path(PYTHON).name} failed with exit code 2: error: bad option"


def test_run_tool_reports_silent_failure(tmp_path: Path) -> None:
    with pytest.raises(AnalyzerFailed) as raised:
        run_tool([PYTHON, "-c", "raise SystemExit(3)"], cwd=tmp_path, timeout_seconds=10)

    assert str(raised.value) == f"{Path(PYTHON).name} failed with exit code 3: no error output"


def test_run_tool_stops_at_timeout(tmp_path: Path) -> None:
    with pytest.raises(AnalyzerFailed) as raised:
        run_tool([PYTHON, "-c", "import time; time.sleep(30)"], cwd=tmp_path, timeout_seconds=0.2)

    assert str(raised.value) == f"{Path(PYTHON).name} timed out after 0.2 s"


def test_parse_json_output_rejects_text() -> None:
    with pytest.raises(AnalyzerFailed) as raised:
        parse_json_output("warning: something\n[]", "ruff")

    assert str(raised.value) == "ruff printed output that is not JSON: Expecting value at line 1"


# --- choosing files --------------------------------------------------------------------------


def test_head_files_skips_links_folders_and_missing(tmp_path: Path) -> None:
    context = context_for(tmp_path, {"app.py": "x = 1\n", "pkg/mod.py": "y = 2\n"})
    (tmp_path / "link.py").symlink_to(tmp_path / "app.py")
    (tmp_path / "folder.py").mkdir()
    for path in ("link.py", "folder.py", "gone.py"):
        context.files.append(FileChange(path, None, ChangeKind.ADDED))

    assert [file.path for file in head_files(context)] == ["app.py", "pkg/mod.py"]


def test_python_files_by_extension_shebang_or_language(tmp_path: Path) -> None:
    context = context_for(
        tmp_path,
        {
            "app.py": "x = 1\n",
            "stubs.pyi": "x: int\n",
            "bin/tool": "#!/usr/bin/env python3\nprint(1)\n",
            "tasks.build": "print(1)\n",
            "deploy.sh": "#!/bin/sh\necho hi\n",
            "README.md": "# readme\n",
        },
        language={"tasks.build": "python"},
    )

    assert [file.path for file in python_files(head_files(context))] == [
        "app.py",
        "stubs.pyi",
        "bin/tool",
        "tasks.build",
    ]


def test_shell_scripts_by_extension_shebang_or_language(tmp_path: Path) -> None:
    context = context_for(
        tmp_path,
        {
            "deploy.sh": "echo hi\n",
            "lib.bash": "echo hi\n",
            "bin/entrypoint": "#!/usr/bin/env bash\necho hi\n",
            "ci/step": "echo hi\n",
            "prompt.zsh": "echo hi\n",
            "bin/zshtool": "#!/bin/zsh\necho hi\n",
            "app.py": "print(1)\n",
        },
        language={"ci/step": "shell"},
    )

    shell = [file.path for file in head_files(context) if is_shell_script(file)]

    assert shell == ["deploy.sh", "lib.bash", "bin/entrypoint", "ci/step"]


def test_relative_to_workdir_maps_tool_paths(tmp_path: Path) -> None:
    assert relative_to_workdir(str(tmp_path / "pkg" / "mod.py"), tmp_path) == "pkg/mod.py"
    assert relative_to_workdir("pkg/mod.py", tmp_path) == "pkg/mod.py"
    assert relative_to_workdir("./pkg/../app.py", tmp_path) == "app.py"
    assert relative_to_workdir("/etc/passwd", tmp_path) is None


# --- secrets in every text file ---------------------------------------------------------------


def test_secrets_found_in_any_language(tmp_path: Path) -> None:
    context = context_for(
        tmp_path,
        {
            "deploy/values.yaml": f"aws:\n  accessKeyId: {FAKE_AWS_KEY_ID}\n",
            "web/config.js": f'export const key = "{FAKE_AWS_KEY_ID}";\n',
        },
    )

    findings = SecretsAnalyzer().analyze(context)

    assert sorted((item.path, item.line, item.rule, item.severity) for item in findings) == [
        ("deploy/values.yaml", 2, "AWSKeyDetector", Severity.CRITICAL),
        ("web/config.js", 1, "AWSKeyDetector", Severity.CRITICAL),
    ]


def test_secrets_skip_binary_files(tmp_path: Path) -> None:
    context = context_for(tmp_path, {"blob.dat": b"\x00\x01" + FAKE_AWS_KEY_ID.encode() + b"\n"})

    assert SecretsAnalyzer().analyze(context) == []


def test_secrets_timeout_fails_the_run(tmp_path: Path) -> None:
    context = context_for(tmp_path, {"a.py": "x = 1\n"})
    context.settings.analyzer_timeout_seconds = 0

    with pytest.raises(AnalyzerFailed, match=r"^detect-secrets timed out after 0 s$"):
        SecretsAnalyzer().analyze(context)


# --- reading reports ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "severity"),
    [
        ("invalid-syntax", Severity.HIGH),
        ("E999", Severity.HIGH),
        ("F821", Severity.HIGH),
        ("F706", Severity.HIGH),
        ("PLE0101", Severity.HIGH),
        ("F401", Severity.LOW),
        ("F841", Severity.LOW),
        ("F601", Severity.MEDIUM),
        ("E722", Severity.MEDIUM),
        ("B006", Severity.MEDIUM),
        ("T100", Severity.MEDIUM),
        ("RUF006", Severity.MEDIUM),
    ],
)
def test_ruff_severity_by_rule_family(rule: str, severity: Severity) -> None:
    assert severity_for(rule) == severity


def test_report_parsers_reject_wrong_shape(tmp_path: Path) -> None:
    context = context_for(tmp_path, {})

    with pytest.raises(AnalyzerFailed, match=r"^ruff printed JSON that is not a list of diagnostics$"):
        parse_ruff_report({"results": []}, context)
    with pytest.raises(AnalyzerFailed, match=r"^bandit printed JSON without a list of results$"):
        parse_bandit_report([], context)
    with pytest.raises(AnalyzerFailed, match=r"^shellcheck printed JSON that is not a list of comments$"):
        parse_shellcheck_report({}, context)


def test_report_parsers_reject_missing_fields(tmp_path: Path) -> None:
    context = context_for(tmp_path, {"app.py": "x = 1\n"})
    path = str(tmp_path / "app.py")

    with pytest.raises(AnalyzerFailed, match=r"^ruff printed a diagnostic without the expected fields: KeyError"):
        parse_ruff_report([{"filename": path, "code": "F401"}], context)
    with pytest.raises(AnalyzerFailed, match=r"^bandit printed a result without the expected fields: KeyError"):
        parse_bandit_report({"results": [{"filename": path}]}, context)
    with pytest.raises(AnalyzerFailed, match=r"^shellcheck printed a comment without the expected fields: ValueError"):
        parse_shellcheck_report([{"file": path, "line": "three", "level": "info", "code": 2086}], context)


def test_report_paths_outside_work_tree_are_ignored(tmp_path: Path) -> None:
    context = context_for(tmp_path, {"app.py": "x = 1\n"})
    diagnostic = {"filename": "/etc/hosts", "code": "F401", "message": "unused", "location": {"row": 1, "column": 1}}

    assert parse_ruff_report([diagnostic], context) == []
