"""The report step: counts, coverage and the Markdown and JSON renderings of one review.

Coverage is stated honestly: files cut by ``top_n``, clipped hunks and failed analyzers make
the review *partial*, and both renderings say so with the share of files actually reviewed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

from pr_reviewer.model import AnalyzerRun, AnalyzerStatus, Finding, Severity, SkippedFile

SKIP_CODE_BEYOND_TOP_N = "beyond_top_n"
MAX_SKIPPED_LISTED = 30
# An analyzer (an LLM above all) may return a very long message; GitHub caps a comment at 65,536 characters.
MAX_MESSAGE_CHARS = 2000


class Messages:
    """Localised message templates from ``locales/<language>.yaml``."""

    def __init__(self, language: str) -> None:
        self.language = language
        self._templates = _load_locale(language)

    def __call__(self, key: str, **values: Any) -> str:
        return self._templates[key].format(**values)

    def severity(self, severity: Severity) -> str:
        return self(f"severity_{severity.label}")


@cache
def _load_locale(language: str) -> dict[str, str]:
    text = resources.files("pr_reviewer").joinpath("locales", f"{language}.yaml").read_text(encoding="utf-8")
    return dict(yaml.safe_load(text))


@dataclass
class Coverage:
    """How much of the change the review actually looked at."""

    files_reviewed: int
    files_beyond_top_n: int
    clipped_hunks: int
    failed_analyzers: list[str] = field(default_factory=list)
    degraded_analyzers: dict[str, str] = field(default_factory=dict)

    @property
    def partial(self) -> bool:
        return bool(self.files_beyond_top_n or self.clipped_hunks or self.failed_analyzers or self.degraded_analyzers)

    @property
    def percent_reviewed(self) -> int:
        reviewable = self.files_reviewed + self.files_beyond_top_n
        return 100 if reviewable == 0 else int(100 * self.files_reviewed / reviewable)

    def gaps(self) -> list[str]:
        """Name, in short English, what made the review partial (for logs and the termination message)."""
        gaps = []
        if self.files_beyond_top_n:
            gaps.append(f"{self.files_beyond_top_n} files beyond top_n ({self.percent_reviewed}% of files reviewed)")
        if self.clipped_hunks:
            gaps.append(f"{self.clipped_hunks} hunks clipped")
        if self.failed_analyzers:
            gaps.append(f"analyzers failed: {', '.join(self.failed_analyzers)}")
        if self.degraded_analyzers:
            gaps.append(f"analyzers incomplete: {', '.join(self.degraded_analyzers)}")
        return gaps


@dataclass
class Report:
    """One review's outcome, before publishing."""

    base_sha: str
    head_sha: str
    language: str
    top_n: int
    max_hunk_lines: int
    findings: list[Finding]
    files_reviewed: list[str]
    skipped: list[SkippedFile]
    runs: list[AnalyzerRun]
    coverage: Coverage
    llm_configured: bool
    dropped: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        counts = {severity.label: 0 for severity in sorted(Severity, reverse=True)}
        for finding in self.findings:
            counts[finding.severity.label] += 1
        return counts

    def to_json(self) -> dict[str, Any]:
        return {
            "base_sha": self.base_sha,
            "head_sha": self.head_sha,
            "partial": self.coverage.partial,
            "percent_reviewed": self.coverage.percent_reviewed,
            "counts": self.counts(),
            "findings": [finding.to_dict() for finding in self.findings],
            "files_reviewed": self.files_reviewed,
            "skipped": [{"path": item.path, "reason": item.reason, "code": item.code} for item in self.skipped],
            "clipped_hunks": self.coverage.clipped_hunks,
            "analyzers": [run.to_dict() for run in self.runs],
            "llm_configured": self.llm_configured,
            "dropped": self.dropped,
        }


def build_report(
    *,
    base_sha: str,
    head_sha: str,
    language: str,
    top_n: int,
    max_hunk_lines: int,
    findings: list[Finding],
    files_reviewed: list[str],
    skipped: list[SkippedFile],
    clipped_hunks: int,
    runs: list[AnalyzerRun],
    llm_configured: bool,
    dropped: dict[str, int] | None = None,
) -> Report:
    coverage = Coverage(
        files_reviewed=len(files_reviewed),
        files_beyond_top_n=sum(1 for item in skipped if item.code == SKIP_CODE_BEYOND_TOP_N),
        clipped_hunks=clipped_hunks,
        failed_analyzers=[run.name for run in runs if run.status == AnalyzerStatus.FAILED],
        degraded_analyzers={run.name: run.detail for run in runs if run.status == AnalyzerStatus.RAN and run.degraded},
    )
    return Report(
        base_sha=base_sha,
        head_sha=head_sha,
        language=language,
        top_n=top_n,
        max_hunk_lines=max_hunk_lines,
        findings=findings,
        files_reviewed=files_reviewed,
        skipped=skipped,
        runs=runs,
        coverage=coverage,
        llm_configured=llm_configured,
        dropped={reason: count for reason, count in (dropped or {}).items() if count},
    )


def render_comment(finding: Finding, language: str) -> str:
    """Render one inline comment body (the publisher appends its fingerprint marker)."""
    text = Messages(language)
    severity = text.severity(finding.severity)
    message = clip(finding.message, MAX_MESSAGE_CHARS)
    return text("comment", severity=severity, analyzer=finding.analyzer, rule=finding.rule, message=message)


def render_summary(report: Report, not_inline: list[Finding]) -> str:
    """Render the Markdown summary; ``not_inline`` lists findings that could not become inline comments."""
    text = Messages(report.language)
    sections = [
        text("title", head=report.head_sha[:12]),
        _counts_paragraph(report, text),
        _coverage_paragraph(report, text),
        _not_inline_section(not_inline, text),
        _skipped_section(report, text),
        _analyzers_section(report, text),
    ]
    return "\n\n".join(section for section in sections if section) + "\n"


def render_markdown(report: Report) -> str:
    """Render the whole review for a terminal or a file: the summary followed by every finding."""
    text = Messages(report.language)
    summary = render_summary(report, [])
    if not report.findings:
        return summary
    return summary + "\n" + _findings_list(report.findings, text, heading="findings_heading") + "\n"


def _counts_paragraph(report: Report, text: Messages) -> str:
    if not report.files_reviewed and not report.findings:
        return text("empty_change")
    if not report.findings:
        return text("no_findings")

    counts = ", ".join(
        f"{count} {text(f'severity_{label}')}" for label, count in report.counts().items() if count
    )
    return text("summary_counts", total=len(report.findings), counts=counts)


def _coverage_paragraph(report: Report, text: Messages) -> str:
    coverage = report.coverage
    lines = [text("files_reviewed", reviewed=coverage.files_reviewed, changed=_files_changed(report))]
    if not coverage.partial:
        lines.append(text("complete"))
        return "\n".join(lines)

    reasons = []
    if coverage.files_beyond_top_n:
        reasons.append(text(
            "reason_skipped_top_n",
            count=coverage.files_beyond_top_n,
            top_n=report.top_n,
            percent=coverage.percent_reviewed,
        ))
    if coverage.clipped_hunks:
        key = "reason_clipped_one" if coverage.clipped_hunks == 1 else "reason_clipped"
        reasons.append(text(key, count=coverage.clipped_hunks, max_lines=report.max_hunk_lines))
    if coverage.failed_analyzers:
        reasons.append(text("reason_failed", names=", ".join(coverage.failed_analyzers)))
    for detail in coverage.degraded_analyzers.values():
        reasons.append(text("reason_llm_batches", detail=detail))
    lines.append(text("partial", reasons=text("reason_separator").join(reasons)))
    return "\n".join(lines)


def _files_changed(report: Report) -> int:
    return len(report.files_reviewed) + len(report.skipped)


def _not_inline_section(findings: list[Finding], text: Messages) -> str:
    return _findings_list(findings, text, heading="not_inline_heading") if findings else ""


def _findings_list(findings: list[Finding], text: Messages, heading: str) -> str:
    lines = [text(heading)]
    for finding in findings:
        lines.append(text(
            "not_inline_line",
            severity=text.severity(finding.severity),
            path=finding.path,
            line=finding.line,
            analyzer=finding.analyzer,
            rule=finding.rule,
            message=_one_line(finding.message),
        ))
    return "\n".join(lines)


def _skipped_section(report: Report, text: Messages) -> str:
    if not report.skipped:
        return ""
    lines = [text("skipped_heading")]
    for item in report.skipped[:MAX_SKIPPED_LISTED]:
        reason = text("skip_beyond_top_n", top_n=report.top_n) if item.code == SKIP_CODE_BEYOND_TOP_N else item.reason
        lines.append(text("skipped_line", path=item.path, reason=reason))
    if len(report.skipped) > MAX_SKIPPED_LISTED:
        lines.append(text("skipped_more", count=len(report.skipped) - MAX_SKIPPED_LISTED))
    return "\n".join(lines)


def _analyzers_section(report: Report, text: Messages) -> str:
    lines = [text("analyzers_heading"), text("analyzers_table_head")]
    for run in report.runs:
        # Tool output stays as the tool wrote it; only the reviewer's own words are translated.
        detail = text("llm_disabled_detail") if run.status == AnalyzerStatus.DISABLED else run.detail
        lines.append(text(
            "analyzer_row",
            name=run.name,
            status=text(f"status_{run.status.value}"),
            findings=len(run.findings),
            detail=_one_line(detail).replace("|", "\\|"),
        ))
    if not report.llm_configured:
        lines.append("")
        lines.append(text("llm_off"))
    if report.dropped:
        dropped = ", ".join(f"{reason} {count}" for reason, count in sorted(report.dropped.items()))
        lines.append("")
        lines.append(text("dropped_line", dropped=dropped))
    return "\n".join(lines)


def _one_line(message: str) -> str:
    return clip(" ".join(message.split()), MAX_MESSAGE_CHARS)


def clip(message: str, max_chars: int) -> str:
    """Return ``message`` cut to at most ``max_chars`` characters, the last one an ellipsis when cut."""
    return message if len(message) <= max_chars else message[: max_chars - 1] + "…"
