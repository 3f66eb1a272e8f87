"""Line filters that decide which findings belong to the change, named after reviewdog's filter modes.

- ``added``: a line the change added.
- ``diff_context``: any head-side line inside a hunk, added or unchanged context.
- ``file``: any line of a changed file. The publisher puts the ones outside hunks in the summary.

A finding spanning several lines belongs to the change when any line of its range does.
"""

from __future__ import annotations

from collections.abc import Iterable

from pr_reviewer.model import FileChange, Finding, Hunk
from pr_reviewer.settings import FILTER_MODES

FILTER_ADDED = "added"
FILTER_DIFF_CONTEXT = "diff_context"
FILTER_FILE = "file"


def filter_to_diff(findings: Iterable[Finding], files: Iterable[FileChange], mode: str) -> tuple[list[Finding], int]:
    """Keep the findings on lines that ``mode`` accepts, and return them with the number dropped.

    A finding on a file that is not among ``files`` is dropped in every mode.
    """
    if mode not in FILTER_MODES:
        raise ValueError(f"invalid filter mode {mode!r}: expected one of {', '.join(FILTER_MODES)}")

    allowed = {change.path: _lines_for_mode(change, mode) for change in files}

    kept: list[Finding] = []
    dropped = 0
    for finding in findings:
        if finding.path in allowed and _range_is_allowed(finding, allowed[finding.path]):
            kept.append(finding)
        else:
            dropped += 1
    return kept, dropped


def inline_hunk(finding: Finding, change: FileChange) -> Hunk | None:
    """Return the hunk an inline comment on ``finding`` anchors in, or None when it cannot be inline.

    GitHub accepts a review comment only on a head-side line shown in the diff, and a multi-line
    comment only when its first and last lines are in the same hunk.
    """
    hunk = change.hunk_for_line(finding.line)
    if hunk is None:
        return None

    last = finding.end_line if finding.end_line is not None else finding.line
    if last not in hunk.new_side_lines:
        return None
    return hunk


def can_comment_inline(finding: Finding, change: FileChange) -> bool:
    """Tell whether ``finding`` can be an inline comment: its whole range lies inside one hunk."""
    return inline_hunk(finding, change) is not None


def _lines_for_mode(change: FileChange, mode: str) -> set[int] | None:
    """Return the head-side lines ``mode`` accepts in ``change``, where None accepts every line."""
    if mode == FILTER_ADDED:
        return change.added_lines
    if mode == FILTER_DIFF_CONTEXT:
        return change.new_side_lines
    return None


def _range_is_allowed(finding: Finding, lines: set[int] | None) -> bool:
    if lines is None:
        return True

    last = max(finding.line, finding.end_line or finding.line)
    return any(number in lines for number in range(finding.line, last + 1))
