"""Filtering findings to the diff's lines, and deciding which can be inline comments."""

from __future__ import annotations

import pytest

from pr_reviewer.lines import can_comment_inline, filter_to_diff, inline_hunk
from pr_reviewer.model import ChangeKind, DiffLine, FileChange, Finding, Hunk, Severity


def hunk(old_start: int, new_start: int, kinds: str) -> Hunk:
    """Build a hunk from a string of line kinds, for example " ++- " (context, 2 added, removed, context)."""
    lines = []
    old, new = old_start, new_start
    for kind in kinds:
        lines.append(DiffLine(kind, f"line {kind}", None if kind == "+" else old, None if kind == "-" else new))
        old += kind != "+"
        new += kind != "-"
    return Hunk(old_start, old - old_start, new_start, new - new_start, lines=lines)


# Hunk one shows head lines 3-7: 4 and 5 added, 3, 6 and 7 context, and an old line removed after 5.
# Hunk two shows head lines 20-22, of which 21 is added.
CHANGE = FileChange(
    path="app.py",
    old_path="app.py",
    kind=ChangeKind.MODIFIED,
    hunks=[hunk(3, 3, " ++-  "), hunk(19, 20, " + ")],
)


def finding(line: int, end_line: int | None = None, path: str = "app.py") -> Finding:
    return Finding(path, line, Severity.MEDIUM, "ruff", "F841", "unused variable", end_line=end_line)


def kept_lines(mode: str, findings: list[Finding]) -> tuple[list[tuple[str, int]], int]:
    kept, dropped = filter_to_diff(findings, [CHANGE], mode)
    return [(item.path, item.line) for item in kept], dropped


def test_hunk_builder_numbers_head_lines() -> None:
    assert CHANGE.added_lines == {4, 5, 21}
    assert CHANGE.new_side_lines == {3, 4, 5, 6, 7, 20, 21, 22}


def test_added_mode_keeps_only_added_lines() -> None:
    findings = [finding(number) for number in (1, 3, 4, 5, 6, 10, 21, 22)]

    kept, dropped = kept_lines("added", findings)

    assert kept == [("app.py", 4), ("app.py", 5), ("app.py", 21)]
    assert dropped == 5


def test_diff_context_mode_keeps_lines_inside_hunks() -> None:
    findings = [finding(number) for number in (1, 3, 4, 7, 8, 10, 20, 22, 23)]

    kept, dropped = kept_lines("diff_context", findings)

    assert kept == [("app.py", 3), ("app.py", 4), ("app.py", 7), ("app.py", 20), ("app.py", 22)]
    assert dropped == 4


def test_file_mode_keeps_any_line_of_changed_file() -> None:
    findings = [finding(1), finding(10), finding(500), finding(2, path="other.py")]

    kept, dropped = kept_lines("file", findings)

    assert kept == [("app.py", 1), ("app.py", 10), ("app.py", 500)]
    assert dropped == 1


@pytest.mark.parametrize("mode", ["added", "diff_context", "file"])
def test_every_mode_drops_unchanged_files(mode: str) -> None:
    kept, dropped = kept_lines(mode, [finding(4, path="untouched.py")])

    assert kept == []
    assert dropped == 1


def test_range_touching_added_line_is_kept() -> None:
    # Lines 2-4: only line 4 was added, which is enough for the change to own the finding.
    kept, dropped = kept_lines("added", [finding(2, end_line=4), finding(6, end_line=8)])

    assert kept == [("app.py", 2)]
    assert dropped == 1


def test_invalid_mode_is_rejected() -> None:
    with pytest.raises(ValueError, match="invalid filter mode 'everything': expected one of added, diff_context, file"):
        filter_to_diff([], [CHANGE], "everything")


def test_single_line_inside_hunk_can_be_inline() -> None:
    assert can_comment_inline(finding(3), CHANGE)
    assert can_comment_inline(finding(21), CHANGE)
    assert inline_hunk(finding(21), CHANGE) is CHANGE.hunks[1]


def test_line_outside_hunks_cannot_be_inline() -> None:
    assert not can_comment_inline(finding(10), CHANGE)
    assert not can_comment_inline(finding(1), CHANGE)


def test_range_within_one_hunk_can_be_inline() -> None:
    assert can_comment_inline(finding(3, end_line=7), CHANGE)
    assert inline_hunk(finding(4, end_line=6), CHANGE) is CHANGE.hunks[0]


def test_range_spanning_two_hunks_cannot_be_inline() -> None:
    assert not can_comment_inline(finding(5, end_line=21), CHANGE)


def test_range_leaving_its_hunk_cannot_be_inline() -> None:
    assert not can_comment_inline(finding(6, end_line=9), CHANGE)
    assert not can_comment_inline(finding(1, end_line=4), CHANGE)
