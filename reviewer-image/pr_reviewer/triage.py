"""Triage: merge every analyzer's findings into the ranked list a review shows.

The steps run in this order, and each dropped finding is counted once, under the first step that drops it:

1. ``outside_diff``: its lines are not part of the change under ``settings.filter_mode``.
2. ``duplicate``: another finding on the same path and line reports the same kind of problem.
   The most severe one stays and names the others in its message.
3. ``below_threshold``: its severity is under ``settings.min_severity``.
4. ``over_file_cap``: its file already has ``settings.max_findings_per_file`` more severe findings.
5. ``over_total_cap``: the review already has ``settings.max_findings_total`` more severe findings.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from pr_reviewer.lines import filter_to_diff
from pr_reviewer.model import AnalyzerRun, FileChange, Finding
from pr_reviewer.settings import ReviewSettings

logger = logging.getLogger(__name__)

LEAKED_CREDENTIAL = "leaked-credential"
SWALLOWED_EXCEPTION = "swallowed-exception"

# Rules of different tools that name the same problem when they flag the same line.
# Every detect-secrets plugin counts as LEAKED_CREDENTIAL too (see problem_kind).
# NOTE: LLM findings carry free-form rule names, so they merge only with an identical llm rule on the line.
PROBLEM_KINDS: dict[tuple[str, str], str] = {
    ("bandit", "B105"): LEAKED_CREDENTIAL,  # password in a string literal
    ("bandit", "B106"): LEAKED_CREDENTIAL,  # password as a keyword argument
    ("bandit", "B107"): LEAKED_CREDENTIAL,  # password as a default argument
    ("ruff", "E722"): SWALLOWED_EXCEPTION,  # bare except
    ("bandit", "B110"): SWALLOWED_EXCEPTION,  # try, except, pass
    ("bandit", "B112"): SWALLOWED_EXCEPTION,  # try, except, continue
}


@dataclass
class TriageResult:
    """The findings a review shows, most severe first, and how many were dropped for each reason."""

    findings: list[Finding] = field(default_factory=list)
    outside_diff: int = 0
    duplicate: int = 0
    below_threshold: int = 0
    over_file_cap: int = 0
    over_total_cap: int = 0

    @property
    def dropped(self) -> dict[str, int]:
        """Number of dropped findings by reason, every reason listed, in the order triage applies them."""
        return {
            "outside_diff": self.outside_diff,
            "duplicate": self.duplicate,
            "below_threshold": self.below_threshold,
            "over_file_cap": self.over_file_cap,
            "over_total_cap": self.over_total_cap,
        }


def triage(runs: Sequence[AnalyzerRun], files: Sequence[FileChange], settings: ReviewSettings) -> TriageResult:
    """Filter, merge, threshold, rank and cap the findings of every analyzer run."""
    result = TriageResult()
    collected = [finding for run in runs for finding in run.findings]

    in_diff, result.outside_diff = filter_to_diff(collected, files, settings.filter_mode)
    unique, result.duplicate = merge_duplicates(in_diff)

    severe_enough = [finding for finding in unique if finding.severity >= settings.min_severity]
    result.below_threshold = len(unique) - len(severe_enough)

    ranked = sorted(severe_enough, key=rank_key)
    within_file_cap, result.over_file_cap = _cap_per_file(ranked, settings.max_findings_per_file)
    total_cap = max(settings.max_findings_total, 0)
    result.findings = within_file_cap[:total_cap]
    result.over_total_cap = len(within_file_cap) - len(result.findings)

    logger.info(
        "Triage of %s kept %d of %d findings and dropped %s",
        settings.subject,
        len(result.findings),
        len(collected),
        ", ".join(f"{reason} {count}" for reason, count in result.dropped.items()),
    )
    return result


def rank_key(finding: Finding) -> tuple[int, str, int, str, str]:
    """Sort key: most severe first, then by path and line, then analyzer and rule for a stable order."""
    return (-finding.severity, finding.path, finding.line, finding.analyzer, finding.rule)


def problem_kind(finding: Finding) -> str:
    """Name the kind of problem a finding reports, so different tools' rules for it compare equal."""
    if finding.analyzer == "secrets":
        return LEAKED_CREDENTIAL
    return PROBLEM_KINDS.get((finding.analyzer, finding.rule), f"{finding.analyzer}:{finding.rule}")


def merge_duplicates(findings: Sequence[Finding]) -> tuple[list[Finding], int]:
    """Keep one finding per path, line and kind of problem: the most severe, naming the others.

    Between equally severe findings the earlier one stays, so the order of the analyzer runs
    breaks ties. A finding that names others is a copy, so the input findings are not changed.
    """
    groups: dict[tuple[str, int, str], list[Finding]] = defaultdict(list)
    for finding in findings:
        groups[(finding.path, finding.line, problem_kind(finding))].append(finding)

    kept = []
    for group in groups.values():
        # max() returns the first of equal maxima, which keeps the earlier run's finding on a tie.
        winner = max(group, key=lambda finding: finding.severity)
        others = [finding for finding in group if finding is not winner]
        kept.append(_with_others_named(winner, others))
    return kept, len(findings) - len(kept)


def _with_others_named(winner: Finding, others: list[Finding]) -> Finding:
    if not others:
        return winner

    # Another message of the same rule (two syntax errors on one line) adds nothing worth naming.
    names = sorted({f"{other.analyzer} {other.rule}" for other in others} - {f"{winner.analyzer} {winner.rule}"})
    if not names:
        return winner
    return dataclasses.replace(winner, message=f"{winner.message} (also reported by {', '.join(names)})")


def _cap_per_file(ranked: list[Finding], cap: int) -> tuple[list[Finding], int]:
    counts: dict[str, int] = defaultdict(int)
    kept = []
    for finding in ranked:
        if counts[finding.path] < cap:
            kept.append(finding)
            counts[finding.path] += 1
    return kept, len(ranked) - len(kept)
