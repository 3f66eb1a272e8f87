"""Triage: diff filter, duplicate merging, severity threshold, ranking and caps, with exact counts."""

from __future__ import annotations

from pr_reviewer.model import AnalyzerRun, AnalyzerStatus, ChangeKind, DiffLine, FileChange, Finding, Hunk, Severity
from pr_reviewer.settings import ReviewSettings
from pr_reviewer.triage import triage


def changed_file(path: str, added: range, context: range = range(0)) -> FileChange:
    """A modified file with one hunk whose head side shows ``context`` and ``added`` lines."""
    numbers = sorted([*added, *context])
    lines = [DiffLine("+" if number in added else " ", "", None, number) for number in numbers]
    hunk = Hunk(old_start=numbers[0], old_count=len(context), new_start=numbers[0], new_count=len(numbers), lines=lines)
    return FileChange(path=path, old_path=path, kind=ChangeKind.MODIFIED, hunks=[hunk])


def finding(path: str, line: int, severity: Severity, analyzer: str = "ruff", rule: str = "F841") -> Finding:
    return Finding(path, line, severity, analyzer, rule, f"{analyzer} {rule} message")


def run(name: str, *findings: Finding) -> AnalyzerRun:
    return AnalyzerRun(name, AnalyzerStatus.RAN, findings=list(findings))


def settings(
    filter_mode: str = "added",
    min_severity: Severity = Severity.INFO,
    max_findings_per_file: int = 10,
    max_findings_total: int = 50,
) -> ReviewSettings:
    return ReviewSettings(
        repo="/tmp/repo",
        base="main",
        head="topic",
        filter_mode=filter_mode,
        min_severity=min_severity,
        max_findings_per_file=max_findings_per_file,
        max_findings_total=max_findings_total,
    )


FILES = [changed_file("a.py", added=range(1, 21)), changed_file("b.py", added=range(1, 21))]


def locations(findings: list[Finding]) -> list[tuple[str, int, str]]:
    return [(item.path, item.line, item.rule) for item in findings]


def test_findings_outside_diff_are_counted() -> None:
    files = [changed_file("a.py", added=range(5, 7), context=range(2, 5))]
    runs = [
        run(
            "ruff",
            finding("a.py", 3, Severity.HIGH),
            finding("a.py", 5, Severity.HIGH),
            finding("c.py", 5, Severity.HIGH),
        )
    ]

    result = triage(runs, files, settings(filter_mode="added"))

    assert locations(result.findings) == [("a.py", 5, "F841")]
    assert result.outside_diff == 2


def test_file_mode_keeps_lines_outside_hunks() -> None:
    files = [changed_file("a.py", added=range(5, 7))]
    runs = [run("ruff", finding("a.py", 40, Severity.HIGH), finding("c.py", 5, Severity.HIGH))]

    result = triage(runs, files, settings(filter_mode="file"))

    assert locations(result.findings) == [("a.py", 40, "F841")]
    assert result.outside_diff == 1


def test_bare_except_reported_twice_is_merged() -> None:
    runs = [
        run("ruff", finding("a.py", 4, Severity.MEDIUM, "ruff", "E722")),
        run("bandit", finding("a.py", 4, Severity.LOW, "bandit", "B110")),
    ]

    result = triage(runs, FILES, settings())

    assert locations(result.findings) == [("a.py", 4, "E722")]
    assert result.findings[0].message == "ruff E722 message (also reported by bandit B110)"
    assert result.duplicate == 1


def test_hard_coded_password_reported_twice_is_merged() -> None:
    runs = [
        run("bandit", finding("a.py", 2, Severity.LOW, "bandit", "B105")),
        run("secrets", finding("a.py", 2, Severity.CRITICAL, "secrets", "KeywordDetector")),
    ]

    result = triage(runs, FILES, settings())

    assert locations(result.findings) == [("a.py", 2, "KeywordDetector")]
    assert result.findings[0].severity == Severity.CRITICAL
    assert result.findings[0].message == "secrets KeywordDetector message (also reported by bandit B105)"
    assert result.duplicate == 1


def test_merging_leaves_input_findings_unchanged() -> None:
    kept = finding("a.py", 4, Severity.MEDIUM, "ruff", "E722")
    runs = [run("ruff", kept), run("bandit", finding("a.py", 4, Severity.LOW, "bandit", "B110"))]

    triage(runs, FILES, settings())

    assert kept.message == "ruff E722 message"


def test_equal_severity_keeps_earlier_run() -> None:
    runs = [
        run("bandit", finding("a.py", 4, Severity.LOW, "bandit", "B110")),
        run("ruff", finding("a.py", 4, Severity.LOW, "ruff", "E722")),
    ]

    result = triage(runs, FILES, settings())

    assert locations(result.findings) == [("a.py", 4, "B110")]
    assert result.duplicate == 1


def test_same_rule_twice_on_a_line_is_merged_silently() -> None:
    runs = [
        run(
            "ruff",
            finding("a.py", 1, Severity.HIGH, rule="invalid-syntax"),
            finding("a.py", 1, Severity.HIGH, rule="invalid-syntax"),
        )
    ]

    result = triage(runs, FILES, settings())

    assert len(result.findings) == 1
    assert result.findings[0].message == "ruff invalid-syntax message"
    assert result.duplicate == 1


def test_different_problems_on_one_line_are_kept() -> None:
    runs = [
        run("ruff", finding("a.py", 4, Severity.MEDIUM, "ruff", "E722")),
        run("bandit", finding("a.py", 4, Severity.HIGH, "bandit", "B602")),
        run("secrets", finding("a.py", 5, Severity.CRITICAL, "secrets", "AWSKeyDetector")),
        run("bandit", finding("a.py", 6, Severity.LOW, "bandit", "B105")),
    ]

    result = triage(runs, FILES, settings())

    assert len(result.findings) == 4
    assert result.duplicate == 0


def test_findings_below_threshold_are_counted() -> None:
    runs = [
        run(
            "ruff",
            finding("a.py", 1, Severity.INFO),
            finding("a.py", 2, Severity.LOW),
            finding("a.py", 3, Severity.MEDIUM),
            finding("a.py", 4, Severity.CRITICAL),
        )
    ]

    result = triage(runs, FILES, settings(min_severity=Severity.MEDIUM))

    assert [item.line for item in result.findings] == [4, 3]
    assert result.below_threshold == 2


def test_findings_sorted_by_severity_path_line() -> None:
    runs = [
        run(
            "ruff",
            finding("b.py", 1, Severity.LOW),
            finding("b.py", 9, Severity.HIGH),
            finding("a.py", 7, Severity.LOW),
        ),
        run(
            "bandit",
            finding("a.py", 3, Severity.HIGH, "bandit", "B602"),
            finding("a.py", 1, Severity.CRITICAL, "bandit", "B105"),
        ),
    ]

    result = triage(runs, FILES, settings())

    assert [(item.path, item.line) for item in result.findings] == [
        ("a.py", 1),
        ("a.py", 3),
        ("b.py", 9),
        ("a.py", 7),
        ("b.py", 1),
    ]


def test_file_cap_keeps_most_severe_per_file() -> None:
    runs = [
        run(
            "ruff",
            finding("a.py", 1, Severity.LOW),
            finding("a.py", 2, Severity.HIGH),
            finding("a.py", 3, Severity.MEDIUM),
            finding("a.py", 4, Severity.INFO),
            finding("b.py", 1, Severity.LOW),
        )
    ]

    result = triage(runs, FILES, settings(max_findings_per_file=2))

    assert [(item.path, item.line) for item in result.findings] == [("a.py", 2), ("a.py", 3), ("b.py", 1)]
    assert result.over_file_cap == 2


def test_total_cap_keeps_most_severe_overall() -> None:
    runs = [
        run(
            "ruff",
            finding("a.py", 1, Severity.LOW),
            finding("a.py", 2, Severity.HIGH),
            finding("b.py", 1, Severity.CRITICAL),
            finding("b.py", 2, Severity.MEDIUM),
        )
    ]

    result = triage(runs, FILES, settings(max_findings_total=2))

    assert [(item.path, item.line) for item in result.findings] == [("b.py", 1), ("a.py", 2)]
    assert result.over_total_cap == 2


def test_each_dropped_finding_counts_once() -> None:
    files = [changed_file("a.py", added=range(1, 11)), changed_file("b.py", added=range(1, 11))]
    runs = [
        run(
            "ruff",
            finding("a.py", 50, Severity.CRITICAL),  # outside the diff
            finding("a.py", 1, Severity.MEDIUM, "ruff", "E722"),  # over the file cap of 2: a.py's least severe
            finding("a.py", 2, Severity.INFO),  # below the threshold
            finding("a.py", 3, Severity.HIGH),
            finding("a.py", 4, Severity.HIGH),
            finding("b.py", 1, Severity.MEDIUM),  # over the total cap of 3
        ),
        run(
            "bandit",
            finding("a.py", 1, Severity.LOW, "bandit", "B110"),  # duplicate of E722
            finding("b.py", 2, Severity.HIGH, "bandit", "B602"),
        ),
    ]

    result = triage(runs, files, settings(min_severity=Severity.LOW, max_findings_per_file=2, max_findings_total=3))

    assert locations(result.findings) == [("a.py", 3, "F841"), ("a.py", 4, "F841"), ("b.py", 2, "B602")]
    assert result.dropped == {
        "outside_diff": 1,
        "duplicate": 1,
        "below_threshold": 1,
        "over_file_cap": 1,
        "over_total_cap": 1,
    }
