"""The analyzer contract and the parallel runner that isolates one analyzer's failure from the rest."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pr_reviewer.model import AnalyzerRun, AnalyzerStatus, FileChange, Finding
from pr_reviewer.settings import ReviewSettings

logger = logging.getLogger(__name__)


@dataclass
class AnalysisContext:
    """What an analyzer may look at: the work tree at head and the files chosen for review.

    ``files`` holds no deleted or binary files: there is nothing at head to analyze for them.
    """

    workdir: Path
    files: list[FileChange]
    settings: ReviewSettings


class AnalyzerFailed(Exception):
    """An analyzer could not run; the message names the cause and is shown in the report."""


class Analyzer(Protocol):
    name: str

    def analyze(self, context: AnalysisContext) -> list[Finding]:
        """Return findings on any line of the given files; the caller filters them to the diff."""
        ...


def run_analyzers(context: AnalysisContext, analyzers: Sequence[Analyzer]) -> list[AnalyzerRun]:
    """Run every analyzer in its own thread and return one :class:`AnalyzerRun` each, in the given order.

    An analyzer that raises is recorded as failed with its message; the others still run,
    because one broken tool should degrade the review, not abort it.
    """
    if not analyzers:
        return []
    with ThreadPoolExecutor(max_workers=len(analyzers), thread_name_prefix="analyzer") as pool:
        futures = [pool.submit(_run_one, analyzer, context) for analyzer in analyzers]
        return [future.result() for future in futures]


def _run_one(analyzer: Analyzer, context: AnalysisContext) -> AnalyzerRun:
    started = time.monotonic()
    try:
        findings = analyzer.analyze(context)
    except Exception as error:  # any analyzer bug must become a failed run, not a crash
        detail = str(error) or type(error).__name__
        logger.warning("Analyzer %s failed: %s", analyzer.name, detail)
        return AnalyzerRun(analyzer.name, AnalyzerStatus.FAILED, detail=detail, seconds=time.monotonic() - started)

    elapsed = time.monotonic() - started
    logger.info("Analyzer %s reported %d findings in %.2fs", analyzer.name, len(findings), elapsed)
    return AnalyzerRun(analyzer.name, AnalyzerStatus.RAN, findings=findings, seconds=elapsed)
