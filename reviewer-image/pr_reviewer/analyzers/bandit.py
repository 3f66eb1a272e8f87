"""The ``bandit`` analyzer: Python security problems, from bandit's JSON report.

Only the changed files are passed, never a folder, so bandit does not pick up a ``.bandit`` file
from the reviewed repository. Bandit reads ``pyproject.toml`` only when ``-c`` names it, and this
analyzer never passes ``-c``.
"""

from __future__ import annotations

import logging

from pr_reviewer.analyzers.base import AnalysisContext, AnalyzerFailed
from pr_reviewer.analyzers.tools import (
    find_tool,
    head_files,
    parse_json_output,
    python_files,
    relative_to_workdir,
    run_tool,
)
from pr_reviewer.model import Finding, Severity

logger = logging.getLogger(__name__)

# B101 flags every assert, which floods reviews of test code. B403 and B404 flag the mere import of
# pickle and subprocess, and B603 every subprocess call without a shell. The dangerous calls are
# flagged by B301 (pickle loads), B602 (shell=True) and B604-B607 all the same.
SKIPPED_TESTS = ("B101", "B403", "B404", "B603")

SEVERITY_BY_BANDIT_LEVEL = {
    "HIGH": Severity.HIGH,
    "MEDIUM": Severity.MEDIUM,
    "LOW": Severity.LOW,
}

# Bandit quotes the hard-coded password in these tests' text, and a review comment must not repeat it.
PASSWORD_TESTS = {
    "B105": "Possible hard-coded password in a string literal",
    "B106": "Possible hard-coded password passed as a function argument",
    "B107": "Possible hard-coded password as a function argument's default value",
}


class BanditAnalyzer:
    """Scan the changed Python files with bandit."""

    name = "bandit"

    def __init__(self, executable: str | None = None) -> None:
        self.executable = executable

    def analyze(self, context: AnalysisContext) -> list[Finding]:
        files = python_files(head_files(context))
        if not files:
            return []

        argv = [
            self.executable or find_tool("bandit"),
            "--format",
            "json",
            "--quiet",
            "--skip",
            ",".join(SKIPPED_TESTS),
            *(str(file.absolute) for file in files),
        ]
        output = run_tool(argv, cwd=context.workdir, timeout_seconds=context.settings.analyzer_timeout_seconds)
        return parse_bandit_report(parse_json_output(output, "bandit"), context)


def parse_bandit_report(report: object, context: AnalysisContext) -> list[Finding]:
    """Turn bandit's JSON report into findings and log the files it could not parse."""
    if not isinstance(report, dict) or not isinstance(report.get("results"), list):
        raise AnalyzerFailed("bandit printed JSON without a list of results")

    # A file bandit cannot parse has a syntax error, which ruff reports, so the other files still count.
    for error in report.get("errors") or []:
        if isinstance(error, dict):
            logger.warning(
                "Bandit skipped %s in %s: %s",
                relative_to_workdir(str(error.get("filename", "")), context.workdir),
                context.settings.subject,
                error.get("reason", "no reason given"),
            )

    findings = []
    for item in report["results"]:
        try:
            finding = _finding_from(item, context)
        except (KeyError, TypeError, ValueError) as error:
            raise AnalyzerFailed(f"bandit printed a result without the expected fields: {error!r}") from None
        if finding is not None:
            findings.append(finding)
    return findings


def _finding_from(item: object, context: AnalysisContext) -> Finding | None:
    if not isinstance(item, dict):
        raise TypeError(f"result is {item!r}")

    path = relative_to_workdir(str(item["filename"]), context.workdir)
    if path is None:
        logger.warning(
            "Bandit reported a file outside the work tree of %s, which is ignored: %s",
            context.settings.subject,
            item["filename"],
        )
        return None

    line = int(item["line_number"])
    last_line = max((int(number) for number in item.get("line_range") or [line]), default=line)
    rule = str(item["test_id"])
    confidence = str(item.get("issue_confidence", "UNDEFINED")).lower()
    text = PASSWORD_TESTS.get(rule, str(item["issue_text"]).rstrip("."))
    return Finding(
        path=path,
        line=line,
        end_line=last_line if last_line > line else None,
        severity=SEVERITY_BY_BANDIT_LEVEL.get(str(item["issue_severity"]), Severity.INFO),
        analyzer="bandit",
        rule=rule,
        message=f"{text} (bandit confidence: {confidence})",
    )
