"""The ``ruff`` analyzer: Python correctness bugs, with a fixed rule set the repository cannot change.

``--isolated`` ignores every ``pyproject.toml``, ``ruff.toml`` and ``.ruff.toml`` of the reviewed
repository, so its configuration can neither silence these rules nor break the run with an
option this ruff version does not know. ``--no-cache`` keeps ruff from writing into the work tree.
Inline ``# noqa`` comments are still honoured, because they are a reviewed decision on one line.
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

# F: pyflakes (undefined names, unused imports, broken format strings); E9: files that do not parse;
# E722: bare except, which also catches SystemExit and KeyboardInterrupt. B: flake8-bugbear's likely bugs.
# PLE: pylint's error class (return in __init__, await outside async, bad __slots__), all definite
# runtime errors. T10: a debugger breakpoint left in code stops a server or CI job.
# RUF006: an asyncio task whose only reference is dropped can be garbage-collected mid-run.
# The S rules are left to the bandit analyzer, so one problem is not reported twice.
SELECTED_RULES = ("F", "E9", "E722", "B", "PLE", "T10", "RUF006")
# B008 (call in a default argument) is the normal style of FastAPI and Typer, and B905 (zip without
# strict=) is a style choice; both would flood reviews of code that is correct.
IGNORED_RULES = ("B008", "B905")

# The longest matching prefix wins. Code that cannot run is high, and names or imports that are only unused are low.
SEVERITY_BY_RULE_PREFIX: dict[str, Severity] = {
    "invalid-syntax": Severity.HIGH,
    "E9": Severity.HIGH,
    "F82": Severity.HIGH,  # undefined name, undefined export, local used before assignment
    "F7": Severity.HIGH,  # break, continue, yield or return outside their block
    "PLE": Severity.HIGH,
    "F401": Severity.LOW,
    "F403": Severity.LOW,
    "F405": Severity.LOW,
    "F541": Severity.LOW,
    "F811": Severity.LOW,
    "F841": Severity.LOW,
    "F": Severity.MEDIUM,
    "E722": Severity.MEDIUM,
    "B": Severity.MEDIUM,
    "T10": Severity.MEDIUM,
    "RUF006": Severity.MEDIUM,
}
DEFAULT_SEVERITY = Severity.MEDIUM


class RuffAnalyzer:
    """Lint the changed Python files with ruff's JSON output."""

    name = "ruff"

    def __init__(self, executable: str | None = None) -> None:
        self.executable = executable

    def analyze(self, context: AnalysisContext) -> list[Finding]:
        files = python_files(head_files(context))
        if not files:
            return []

        argv = [
            self.executable or find_tool("ruff"),
            "check",
            "--isolated",
            "--no-cache",
            "--no-fix",
            "--output-format",
            "json",
            "--select",
            ",".join(SELECTED_RULES),
            "--ignore",
            ",".join(IGNORED_RULES),
            *(str(file.absolute) for file in files),
        ]
        output = run_tool(argv, cwd=context.workdir, timeout_seconds=context.settings.analyzer_timeout_seconds)
        return parse_ruff_report(parse_json_output(output, "ruff"), context)


def parse_ruff_report(report: object, context: AnalysisContext) -> list[Finding]:
    """Turn ruff's JSON list of diagnostics into findings, or raise when its shape is unexpected."""
    if not isinstance(report, list):
        raise AnalyzerFailed("ruff printed JSON that is not a list of diagnostics")

    findings = []
    for item in report:
        try:
            finding = _finding_from(item, context)
        except (KeyError, TypeError, ValueError) as error:
            raise AnalyzerFailed(f"ruff printed a diagnostic without the expected fields: {error!r}") from None
        if finding is not None:
            findings.append(finding)
    return findings


def severity_for(rule: str) -> Severity:
    """Return the severity of a ruff rule code from its longest listed prefix."""
    for length in range(len(rule), 0, -1):
        severity = SEVERITY_BY_RULE_PREFIX.get(rule[:length])
        if severity is not None:
            return severity
    return DEFAULT_SEVERITY


def _finding_from(item: object, context: AnalysisContext) -> Finding | None:
    if not isinstance(item, dict):
        raise TypeError(f"diagnostic is {item!r}")

    path = relative_to_workdir(str(item["filename"]), context.workdir)
    if path is None:
        logger.warning(
            "Ruff reported a file outside the work tree of %s, which is ignored: %s",
            context.settings.subject,
            item["filename"],
        )
        return None

    # Ruff 0.17 names syntax errors "invalid-syntax"; a diagnostic with no code at all is treated the same.
    rule = str(item.get("code") or "invalid-syntax")
    start = _start_row(item["location"])
    end = _end_row(item.get("end_location"), start)
    return Finding(
        path=path,
        line=start,
        end_line=end if end > start else None,
        severity=severity_for(rule),
        analyzer="ruff",
        rule=rule,
        message=str(item["message"]),
    )


def _start_row(location: object) -> int:
    if not isinstance(location, dict):
        raise TypeError(f"location is {location!r}")
    return int(location["row"])


def _end_row(location: object, start: int) -> int:
    if not isinstance(location, dict):
        return start

    # A range that ends at column 1 stops before that line's first character.
    row, column = int(location["row"]), int(location.get("column", 0))
    return row - 1 if column <= 1 and row > start else row
