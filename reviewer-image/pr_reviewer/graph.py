"""The review workflow as a LangGraph ``StateGraph``.

    authenticate → fetch → diff → prioritize → analyze → triage → report → publish → cleanup → END
          └──────────┴───────┴──────────┴───────────┴─────────┴────────┴────────┴──→ cleanup  (on error)

Every node returns only the state fields it changes. A node that raises a :class:`ReviewError`
records it in ``error``, and a fetch that finds the PR's head moved on records ``stale``. In both
cases ``should_continue`` routes straight to ``cleanup``, so the work tree is removed whatever
happened.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypedDict, cast
from urllib.parse import urlsplit

from langgraph.graph import END, START, StateGraph

from pr_reviewer import diff, fetch, prioritize, report, triage
from pr_reviewer.analyzers import llm
from pr_reviewer.analyzers.base import AnalysisContext, run_analyzers
from pr_reviewer.analyzers.registry import builtin_analyzers
from pr_reviewer.errors import EXIT_OK, EXIT_UNEXPECTED, ReviewError
from pr_reviewer.fingerprint import assign_fingerprints
from pr_reviewer.github import publish
from pr_reviewer.model import AnalyzerRun, AnalyzerStatus, ChangeKind, FileChange, Finding, SkippedFile
from pr_reviewer.settings import ReviewSettings, Secret

logger = logging.getLogger(__name__)


class ReviewState(TypedDict, total=False):
    settings: ReviewSettings
    token: Secret | None
    fetched: fetch.FetchedChange | None
    files: list[FileChange]
    skipped: list[SkippedFile]
    clipped_hunks: int
    runs: list[AnalyzerRun]
    findings: list[Finding]
    dropped: dict[str, int]
    report: report.Report | None
    outcome: publish.PublishOutcome | None
    plan: Any
    error: ReviewError | None
    stale: str
    timings: dict[str, float]


Node = Callable[[ReviewState], ReviewState]


@dataclass
class ReviewResult:
    """The outcome of one review run; ``exit_code`` follows :mod:`pr_reviewer.errors`."""

    report: report.Report | None
    outcome: publish.PublishOutcome | None
    plan: Any
    error: ReviewError | None
    timings: dict[str, float] = field(default_factory=dict)
    stale: str = ""

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.error is None else self.error.exit_code


# --- nodes -----------------------------------------------------------------------------------


def authenticate(state: ReviewState) -> ReviewState:
    settings = state["settings"]
    github = settings.github
    app_is_usable = github.uses_app and github.installation_id is not None
    if not (github.token or app_is_usable):
        return {"token": None}
    return {"token": publish.resolve_token(settings)}


def fetch_change(state: ReviewState) -> ReviewState:
    settings = state["settings"]

    # The GitHub credential serves both the API and git (private repositories), but git only gets
    # it for a clone URL on the GitHub host itself, so it is never sent to another server.
    github_token = state.get("token") if _is_github_clone_url(settings.repo, settings.github.api_url) else None
    try:
        fetched = fetch.fetch_change(settings, token=settings.git_token or github_token or None)
    except fetch.HeadMovedError as error:
        # A newer push made this review stale: that is an outcome, not a failure to retry.
        logger.warning("Skipping the review of %s: %s", settings.subject, error)
        return {"stale": str(error), "outcome": publish.PublishOutcome(posted=False, skipped_reason=str(error))}

    logger.info("Fetched %s: base %s, head %s", settings.subject, fetched.base_sha[:12], fetched.head_sha[:12])
    return {"fetched": fetched}


def read_diff(state: ReviewState) -> ReviewState:
    fetched = _fetched(state)
    files, skipped = diff.read_change(fetched.workdir, fetched.base_sha, fetched.head_sha, state["settings"])
    logger.info(
        "Diff of %s has %d files to review and %d skipped", state["settings"].subject, len(files), len(skipped)
    )
    return {"files": files, "skipped": skipped}


def prioritize_files(state: ReviewState) -> ReviewState:
    chosen = prioritize.prioritize(state["files"], state["settings"])
    return {
        "files": chosen.files,
        "skipped": state["skipped"] + chosen.skipped,
        "clipped_hunks": chosen.clipped_hunks,
    }


def analyze(state: ReviewState) -> ReviewState:
    settings = state["settings"]
    context = AnalysisContext(workdir=_fetched(state).workdir, files=_analyzable(state["files"]), settings=settings)
    analyzers = list(builtin_analyzers(settings))
    llm_analyzer = llm.LLMAnalyzer() if llm.llm_is_configured(settings) else None
    if llm_analyzer is not None:
        analyzers.append(llm_analyzer)

    runs = run_analyzers(context, analyzers)
    if llm_analyzer is not None:
        _copy_llm_detail(runs, llm_analyzer)
    else:
        runs.append(AnalyzerRun("llm", AnalyzerStatus.DISABLED, detail="no endpoint configured"))
    return {"runs": runs}


def triage_findings(state: ReviewState) -> ReviewState:
    settings = state["settings"]
    result = triage.triage(state["runs"], state["files"], settings)
    assign_fingerprints(result.findings, _fetched(state).workdir)
    return {"findings": result.findings, "dropped": result.dropped}


def build_report(state: ReviewState) -> ReviewState:
    settings = state["settings"]
    fetched = _fetched(state)
    built = report.build_report(
        base_sha=fetched.base_sha,
        head_sha=fetched.head_sha,
        language=settings.language,
        top_n=settings.top_n,
        max_hunk_lines=settings.max_hunk_lines,
        findings=state["findings"],
        files_reviewed=[file.path for file in state["files"]],
        skipped=state["skipped"],
        clipped_hunks=state.get("clipped_hunks", 0),
        runs=state["runs"],
        llm_configured=llm.llm_is_configured(settings),
        dropped=state.get("dropped", {}),
    )
    return {"report": built}


def publish_review(state: ReviewState) -> ReviewState:
    settings = state["settings"]
    draft = _draft(state)
    if settings.dry_run:
        return {"plan": publish.plan_review(settings, draft)}
    if not settings.post:
        return {}

    token = state.get("token")
    if token is None:
        token = publish.resolve_token(settings)
    outcome = publish.publish_review(settings, draft, token)
    if outcome.posted:
        logger.info("Posted the review of %s: %s", settings.subject, outcome.review_url or outcome.summary_url)
    else:
        logger.warning("Posted nothing for %s: %s", settings.subject, outcome.skipped_reason)
    return {"outcome": outcome}


def cleanup(state: ReviewState) -> ReviewState:
    fetched = state.get("fetched")
    if fetched is not None:
        fetch.remove_workdir(fetched.workdir)
    return {}


# --- routing and assembly ----------------------------------------------------------------------


def should_continue(next_node: str) -> Callable[[ReviewState], str]:
    def route(state: ReviewState) -> str:
        if state.get("error") is not None or state.get("stale"):
            return "cleanup"
        return next_node

    route.__name__ = f"should_continue_to_{next_node}"
    return route


STEPS: list[tuple[str, Node]] = [
    ("authenticate", authenticate),
    ("fetch", fetch_change),
    ("diff", read_diff),
    ("prioritize", prioritize_files),
    ("analyze", analyze),
    ("triage", triage_findings),
    ("report", build_report),
    ("publish", publish_review),
]


def build_graph() -> StateGraph[ReviewState]:
    graph = StateGraph(ReviewState)
    # NOTE: langgraph's add_node overloads do not accept a plain Callable alias under mypy, hence the casts.
    for name, node in STEPS:
        graph.add_node(name, cast(Any, _guarded(name, node)))
    graph.add_node("cleanup", cast(Any, _timed("cleanup", cleanup)))

    graph.add_edge(START, STEPS[0][0])
    for (name, _), (next_name, _) in itertools.pairwise(STEPS):
        graph.add_conditional_edges(name, should_continue(next_name), [next_name, "cleanup"])
    graph.add_edge(STEPS[-1][0], "cleanup")
    graph.add_edge("cleanup", END)
    return graph


def _guarded(name: str, node: Node) -> Node:
    timed = _timed(name, node)

    def run(state: ReviewState) -> ReviewState:
        try:
            return timed(state)
        except ReviewError as error:
            # Callers report the error (the CLI on stderr, the Job in its log and termination message).
            logger.info("Review of %s stopped at %s: %s", state["settings"].subject, name, error)
            return {"error": error}
        except Exception as error:
            # An unexpected bug still ends in cleanup and a termination message, never a stray work tree.
            logger.exception("Review of %s crashed at %s", state["settings"].subject, name)
            crash = ReviewError(f"internal error at {name}: {type(error).__name__}")
            crash.exit_code = EXIT_UNEXPECTED
            return {"error": crash}

    run.__name__ = name
    return run


def _timed(name: str, node: Node) -> Node:
    def run(state: ReviewState) -> ReviewState:
        started = time.perf_counter()
        update = node(state)
        timings = dict(state.get("timings", {}))
        timings[name] = time.perf_counter() - started
        return {**update, "timings": timings}

    return run


_COMPILED = build_graph().compile()


def run_review(settings: ReviewSettings) -> ReviewResult:
    """Run the whole workflow once and return its result; it never raises a :class:`ReviewError`."""
    final = cast(ReviewState, _COMPILED.invoke({"settings": settings, "timings": {}, "error": None}))
    return ReviewResult(
        report=final.get("report"),
        outcome=final.get("outcome"),
        plan=final.get("plan"),
        error=final.get("error"),
        timings=final.get("timings", {}),
        stale=final.get("stale", ""),
    )


# --- helpers -----------------------------------------------------------------------------------


def _fetched(state: ReviewState) -> fetch.FetchedChange:
    fetched = state.get("fetched")
    assert fetched is not None, "the fetch node runs before every node that reads the work tree"
    return fetched


def _analyzable(files: list[FileChange]) -> list[FileChange]:
    nothing_at_head = (ChangeKind.DELETED, ChangeKind.SUBMODULE)
    return [file for file in files if not file.is_binary and file.kind not in nothing_at_head]


def _copy_llm_detail(runs: list[AnalyzerRun], analyzer: llm.LLMAnalyzer) -> None:
    for run in runs:
        if run.name == "llm" and run.status == AnalyzerStatus.RAN:
            run.detail = analyzer.last_run_detail
            run.degraded = analyzer.last_run.failed_batches > 0


def _draft(state: ReviewState) -> publish.ReviewDraft:
    settings = state["settings"]
    built = state.get("report")
    assert built is not None, "the report node runs before publish"
    comments = [
        publish.InlineComment(finding=finding, body=report.render_comment(finding, settings.language))
        for finding in built.findings
    ]
    return publish.ReviewDraft(
        head_sha=built.head_sha,
        comments=comments,
        render_summary=lambda not_inline: report.render_summary(built, not_inline),
        files=state["files"],
    )


def _is_github_clone_url(repo: str, api_url: str) -> bool:
    clone = urlsplit(repo)
    if clone.scheme != "https" or not clone.hostname:
        return False
    api_host = urlsplit(api_url).hostname or ""
    web_host = "github.com" if api_host == "api.github.com" else api_host
    return clone.hostname == web_host

