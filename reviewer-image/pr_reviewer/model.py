"""Value types shared by every step of the review: files, hunks, findings and analyzer runs."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Severity(enum.IntEnum):
    """Finding severity; the integer order is what thresholds compare."""

    INFO = 1
    LOW = 2
    MEDIUM = 3
    HIGH = 4
    CRITICAL = 5

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            choices = ", ".join(member.name.lower() for member in cls)
            raise ValueError(f"invalid severity {text!r}: expected one of {choices}") from None

    @property
    def label(self) -> str:
        return self.name.lower()


class ChangeKind(enum.StrEnum):
    ADDED = "added"
    MODIFIED = "modified"
    DELETED = "deleted"
    RENAMED = "renamed"
    COPIED = "copied"
    MODE_CHANGED = "mode_changed"
    SUBMODULE = "submodule"


@dataclass(frozen=True)
class DiffLine:
    """One line of a hunk. ``kind`` is ``+`` (added), ``-`` (removed) or `` `` (context).

    ``old_line`` is None for added lines and ``new_line`` is None for removed ones.
    """

    kind: str
    text: str
    old_line: int | None
    new_line: int | None


@dataclass
class Hunk:
    """One ``@@ -old_start,old_count +new_start,new_count @@`` block of a file's diff."""

    old_start: int
    old_count: int
    new_start: int
    new_count: int
    header: str = ""
    lines: list[DiffLine] = field(default_factory=list)
    score: float = 0.0

    @property
    def added_lines(self) -> set[int]:
        return {line.new_line for line in self.lines if line.kind == "+" and line.new_line is not None}

    @property
    def new_side_lines(self) -> set[int]:
        """Head-side line numbers GitHub accepts a comment on: added and context lines."""
        return {line.new_line for line in self.lines if line.kind != "-" and line.new_line is not None}

    @property
    def new_end(self) -> int:
        return self.new_start + max(self.new_count, 1) - 1


@dataclass
class FileChange:
    """One file of the change, as ``git diff`` between base and head describes it."""

    path: str
    old_path: str | None
    kind: ChangeKind
    hunks: list[Hunk] = field(default_factory=list)
    is_binary: bool = False
    old_mode: str | None = None
    new_mode: str | None = None
    similarity: int | None = None
    language: str | None = None
    score: float = 0.0
    no_newline_at_end: bool = False

    @property
    def added_lines(self) -> set[int]:
        return set().union(*(hunk.added_lines for hunk in self.hunks)) if self.hunks else set()

    @property
    def new_side_lines(self) -> set[int]:
        return set().union(*(hunk.new_side_lines for hunk in self.hunks)) if self.hunks else set()

    @property
    def changed_line_count(self) -> int:
        return sum(1 for hunk in self.hunks for line in hunk.lines if line.kind != " ")

    def hunk_for_line(self, new_line: int) -> Hunk | None:
        for hunk in self.hunks:
            if new_line in hunk.new_side_lines:
                return hunk
        return None


@dataclass(frozen=True)
class SkippedFile:
    """A file left out of the review, with the reason shown in the report.

    ``code`` names the kind of reason (``beyond_top_n`` makes the review partial; skip patterns,
    binary and deleted files are policy, not missing coverage).
    """

    path: str
    reason: str
    code: str = ""


@dataclass
class Finding:
    """One problem an analyzer reports, anchored to a head-side line of a file."""

    path: str
    line: int
    severity: Severity
    analyzer: str
    rule: str
    message: str
    end_line: int | None = None
    suggestion: str | None = None
    fingerprint: str = ""

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "end_line": self.end_line,
            "severity": self.severity.label,
            "analyzer": self.analyzer,
            "rule": self.rule,
            "message": self.message,
            "fingerprint": self.fingerprint,
        }


class AnalyzerStatus(enum.StrEnum):
    RAN = "ran"
    FAILED = "failed"
    DISABLED = "disabled"


@dataclass
class AnalyzerRun:
    """What one analyzer did: its findings, or why it did not produce any.

    ``degraded`` marks a run that reported findings but skipped part of its input (for example
    some LLM batches failed), which makes the review partial.
    """

    name: str
    status: AnalyzerStatus
    findings: list[Finding] = field(default_factory=list)
    detail: str = ""
    seconds: float = 0.0
    degraded: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "status": self.status.value,
            "findings": len(self.findings),
            "detail": self.detail,
            "degraded": self.degraded,
            "seconds": round(self.seconds, 3),
        }
