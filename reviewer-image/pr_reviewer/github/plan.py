"""Review planning without I/O: anchors, fingerprint markers, the inline cap and the summary body.

:mod:`pr_reviewer.github.publish` sends the plan built here, and ``--dry-run`` prints it instead.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from pr_reviewer.model import FileChange, Finding

SUMMARY_MARKER = "<!-- pr-reviewer:summary -->"
FINGERPRINT_MARKER = "<!-- pr-reviewer:fingerprint={} -->"
# Single hyphens only: "--" is not allowed inside an HTML comment.
FINGERPRINT_PATTERN = re.compile(r"<!-- pr-reviewer:fingerprint=([A-Za-z0-9_.:]+(?:-[A-Za-z0-9_.:]+)*) -->")
# GitHub rejects comment bodies longer than this many characters with 422.
MAX_BODY_CHARS = 65536

REASON_OUTSIDE_DIFF = "outside the diff"
REASON_OVER_CAP = "over the inline comment cap"


@dataclass
class InlineComment:
    """A finding with its rendered, already localised Markdown body."""

    finding: Finding
    body: str


@dataclass
class ReviewDraft:
    """Everything the report step hands to publishing.

    ``comments`` are the inline candidates in priority order. ``render_summary`` receives the
    findings that could not go inline (over the cap, rejected by GitHub, outside the diff) and
    returns the summary's Markdown. ``files`` are the diff, used to check that lines are in a hunk.
    """

    head_sha: str
    comments: list[InlineComment]
    render_summary: Callable[[list[Finding]], str]
    files: list[FileChange]
    review_body: str = ""


@dataclass(frozen=True)
class Anchor:
    """Head-side lines a review comment is attached to; ``start_line`` only for a range inside one hunk."""

    path: str
    line: int
    start_line: int | None = None


@dataclass
class PlannedComment:
    """One inline comment as it will be posted; ``index`` is its position in the draft's comments."""

    index: int
    finding: Finding
    anchor: Anchor
    body: str

    def review_payload(self) -> dict[str, Any]:
        """Return the comment as an item of a create-review call's ``comments``."""
        payload: dict[str, Any] = {
            "path": self.anchor.path,
            "line": self.anchor.line,
            "side": "RIGHT",
            "body": self.body,
        }
        if self.anchor.start_line is not None:
            payload["start_line"] = self.anchor.start_line
            payload["start_side"] = "RIGHT"
        return payload

    def single_payload(self, commit_id: str) -> dict[str, Any]:
        """Return the body of a create-review-comment call, used when the whole review was rejected."""
        return {"commit_id": commit_id, **self.review_payload()}


@dataclass
class ReviewPlan:
    """The inline comments to post and the findings that go into the summary instead."""

    head_sha: str
    review_body: str
    candidates: list[InlineComment]
    inline: list[PlannedComment] = field(default_factory=list)
    moved: dict[int, str] = field(default_factory=dict)  # draft index -> why it is not inline
    already_posted: list[Finding] = field(default_factory=list)

    def review_payload(self) -> dict[str, Any]:
        """Return the body of the single create-review call."""
        return {
            "commit_id": self.head_sha,
            "event": "COMMENT",
            "body": self.review_body,
            "comments": [comment.review_payload() for comment in self.inline],
        }

    def summary_findings(self, rejected: Iterable[PlannedComment] = ()) -> list[Finding]:
        """Return the findings that are not inline, in the draft's priority order."""
        indexes = set(self.moved) | {comment.index for comment in rejected}
        return [self.candidates[index].finding for index in sorted(indexes)]

    def summary_body(
        self, render_summary: Callable[[list[Finding]], str], rejected: Iterable[PlannedComment] = ()
    ) -> str:
        """Render the summary comment's body, ending with the marker that finds it on the next run."""
        text = render_summary(self.summary_findings(rejected)).rstrip()
        room = MAX_BODY_CHARS - len(SUMMARY_MARKER) - 8
        if len(text) > room:
            text = text[:room].rstrip() + "\n\n…"
        return f"{text}\n\n{SUMMARY_MARKER}"


def build_plan(
    draft: ReviewDraft, *, max_inline: int, posted_fingerprints: Collection[str] = ()
) -> ReviewPlan:
    """Decide which candidates go inline, where they are anchored, and which move to the summary.

    A candidate whose fingerprint is in ``posted_fingerprints`` was posted by an earlier run and
    is skipped, so a new push does not repeat it even if its lines moved.
    """
    plan = ReviewPlan(
        head_sha=draft.head_sha,
        review_body=draft.review_body or f"Automated review of {draft.head_sha[:7]} by pr-reviewer.",
        candidates=list(draft.comments),
    )
    files = {change.path: change for change in draft.files}

    for index, comment in enumerate(draft.comments):
        fingerprint = marker_fingerprint(comment.finding)
        if fingerprint in posted_fingerprints:
            plan.already_posted.append(comment.finding)
            continue

        anchor = anchor_finding(comment.finding, files.get(comment.finding.path))
        if anchor is None:
            plan.moved[index] = REASON_OUTSIDE_DIFF
        elif len(plan.inline) >= max_inline:
            plan.moved[index] = REASON_OVER_CAP
        else:
            body = f"{comment.body.rstrip()}\n\n{FINGERPRINT_MARKER.format(fingerprint)}"
            plan.inline.append(PlannedComment(index, comment.finding, anchor, body))

    return plan


def anchor_finding(finding: Finding, change: FileChange | None) -> Anchor | None:
    """Return where GitHub will accept a comment on the finding, or None when no line of it is in the diff.

    A range becomes ``start_line``..``line`` only when both ends are in the same hunk, because
    GitHub rejects a range that crosses hunks with 422. Otherwise the comment sits on the range's
    last line that is in the diff.
    """
    if change is None:
        return None

    diff_lines = change.new_side_lines
    first = finding.line
    last = finding.end_line if finding.end_line is not None and finding.end_line > first else first
    if last not in diff_lines:
        if first not in diff_lines:
            return None
        return Anchor(finding.path, first)

    if last != first and first in diff_lines and change.hunk_for_line(first) is change.hunk_for_line(last):
        return Anchor(finding.path, last, start_line=first)
    return Anchor(finding.path, last)


def marker_fingerprint(finding: Finding) -> str:
    """Return the finding's fingerprint in a form that is safe inside an HTML comment.

    A missing fingerprint falls back to a hash of path, analyzer, rule and message, which
    still matches across pushes that only move lines.
    """
    fingerprint = finding.fingerprint
    if fingerprint and FINGERPRINT_PATTERN.fullmatch(FINGERPRINT_MARKER.format(fingerprint)):
        return fingerprint
    source = fingerprint or "\0".join((finding.path, finding.analyzer, finding.rule, finding.message))
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:32]


def fingerprints_in(body: str) -> set[str]:
    """Return the fingerprints carried by the markers in a comment body."""
    return set(FINGERPRINT_PATTERN.findall(body))
