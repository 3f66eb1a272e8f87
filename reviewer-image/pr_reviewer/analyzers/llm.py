"""The optional LLM analyzer: sends the selected hunks to an OpenAI-compatible chat endpoint in batches.

Any endpoint that speaks the OpenAI chat-completions API works (OpenAI, DeepSeek, Qwen, GLM, Ollama,
vLLM): ``settings.llm.base_url`` selects it. The analyzer is off while no endpoint is configured;
callers check :func:`llm_is_configured` first and record the run as disabled with :data:`LLM_OFF_DETAIL`.

Each batch of ``settings.batch_size`` hunks is one request. A batch fails on its own (timeout,
connection error, HTTP error, malformed JSON, wrong JSON shape) and the other batches still count.
When some batches fail, :attr:`LLMAnalyzer.last_run_detail` states how many, so the caller can copy it
into the run's detail. When every batch fails, ``analyze`` raises :class:`AnalyzerFailed`.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import jinja2
import openai
from openai.types.chat import (
    ChatCompletionMessageParam,
    ChatCompletionSystemMessageParam,
    ChatCompletionUserMessageParam,
)
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pr_reviewer import prioritize
from pr_reviewer.analyzers.base import AnalysisContext, AnalyzerFailed
from pr_reviewer.model import FileChange, Finding, Hunk, Severity
from pr_reviewer.settings import ReviewSettings

logger = logging.getLogger(__name__)

LLM_OFF_DETAIL = "LLM analyzer off: no endpoint configured"

# Ollama and vLLM accept any bearer token, but the openai client refuses to start without one.
PLACEHOLDER_API_KEY = "no-key-configured"

# A finding the model labels "warning" or "major" is still worth showing, so an unknown severity
# lands in the middle of the scale rather than below the default LOW threshold.
DEFAULT_SEVERITY = Severity.MEDIUM
DEFAULT_RULE = "general"
MAX_RULE_LENGTH = 64

_CODE_FENCE = re.compile(r"^```[a-zA-Z]*\s*\n(?P<body>.*)\n```\s*$", re.DOTALL)


def llm_is_configured(settings: ReviewSettings) -> bool:
    """Return True when both an endpoint and a model are set, which turns the LLM analyzer on."""
    return settings.llm.enabled


# --- batches ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class HunkRef:
    """One hunk together with the file it belongs to."""

    file: FileChange
    hunk: Hunk


@dataclass(frozen=True)
class HunkBatch:
    """The hunks sent in one request. ``number`` counts from 1 and appears in logs."""

    number: int
    hunks: tuple[HunkRef, ...]

    def head_lines_by_path(self) -> dict[str, set[int]]:
        """Map each path to the head-side lines of this batch's hunks: the lines a finding may cite."""
        lines: dict[str, set[int]] = {}
        for ref in self.hunks:
            lines.setdefault(ref.file.path, set()).update(ref.hunk.new_side_lines)
        return lines


def _hunk_batches(files: list[FileChange], batch_size: int) -> list[HunkBatch]:
    return [
        HunkBatch(number=number, hunks=tuple(HunkRef(file, hunk) for file, hunk in pairs))
        for number, pairs in enumerate(prioritize.batches(files, batch_size), start=1)
    ]


# --- prompts ---------------------------------------------------------------------------------


@cache
def _prompt_environment() -> jinja2.Environment:
    # StrictUndefined turns a variable missing from render() into an error instead of empty text.
    # Autoescaping is off because these prompts are plain text for a model, not HTML.
    return jinja2.Environment(
        loader=jinja2.PackageLoader("pr_reviewer", "prompts"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_prompt(template_name: str, **variables: object) -> str:
    """Render one template of ``pr_reviewer/prompts``. A missing variable raises ``jinja2.UndefinedError``."""
    return _prompt_environment().get_template(template_name).render(**variables)


def build_messages(batch: HunkBatch, settings: ReviewSettings) -> list[ChatCompletionMessageParam]:
    """Build the system and user messages of one batch's chat request."""
    system = render_prompt(
        "review_system.j2",
        language=settings.language,
        severities=[severity.label for severity in sorted(Severity, reverse=True)],
    )
    user = render_prompt(
        "review_user.j2",
        repository=settings.repository,
        hunk_count=len(batch.hunks),
        hunks=[_hunk_view(ref) for ref in batch.hunks],
    )
    return [
        ChatCompletionSystemMessageParam(role="system", content=system),
        ChatCompletionUserMessageParam(role="user", content=user),
    ]


def _hunk_view(ref: HunkRef) -> dict[str, object]:
    # NOTE: lines go to the endpoint unredacted, so a secret the change adds reaches the LLM provider too.
    hunk = ref.hunk
    heading = f"@@ -{hunk.old_start},{hunk.old_count} +{hunk.new_start},{hunk.new_count} @@"
    section = hunk.header.rsplit("@@", 1)[-1].strip()
    lines = [
        {"number": "" if line.new_line is None else str(line.new_line), "kind": line.kind, "text": line.text}
        for line in hunk.lines
    ]
    return {
        "path": ref.file.path,
        "language": ref.file.language or "",
        "header": f"{heading} {section}" if section else heading,
        "lines": lines,
    }


# --- responses -------------------------------------------------------------------------------


class _ResponseFinding(BaseModel):
    model_config = ConfigDict(extra="ignore")

    path: str = Field(min_length=1)
    line: int = Field(ge=1)
    severity: str = ""
    rule: str = ""
    message: str = Field(min_length=1)


class _ReviewResponse(BaseModel):
    model_config = ConfigDict(extra="ignore")

    # Items are checked one by one, so one malformed finding does not cost the batch its good ones.
    findings: list[dict[str, Any]]


@dataclass
class ParsedResponse:
    """The valid findings of one response, and how many items were malformed."""

    findings: list[_ResponseFinding]
    invalid: int = 0


class _ChatMessage(BaseModel):
    content: str | None = None


class _ChatChoice(BaseModel):
    message: _ChatMessage


class _ChatCompletion(BaseModel):
    """The part of an OpenAI chat completion the analyzer reads."""

    choices: list[_ChatChoice]


class BatchFailed(Exception):
    """One batch produced no usable response. The message is a short reason that quotes no response text."""


def parse_response(content: str | None) -> ParsedResponse:
    """Parse a model's response into raw findings, raising :class:`BatchFailed` unless it is the requested JSON.

    Malformed items are skipped and counted; a response whose every item is malformed fails the batch.
    """
    if not content or not content.strip():
        raise BatchFailed("empty response")

    text = content.strip()
    fenced = _CODE_FENCE.match(text)
    if fenced:
        # Several models wrap JSON in a Markdown code block even when the prompt asks for JSON only.
        text = fenced.group("body")

    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        # The decoder's message names only the position, never the text around it.
        raise BatchFailed(f"invalid JSON ({error.msg} at line {error.lineno} column {error.colno})") from None

    try:
        items = _ReviewResponse.model_validate(data).findings
    except ValidationError as error:
        raise BatchFailed(f"wrong response shape ({_first_validation_problem(error)})") from None

    parsed = ParsedResponse(findings=[])
    first_problem = ""
    for index, item in enumerate(items):
        try:
            parsed.findings.append(_ResponseFinding.model_validate(item))
        except ValidationError as error:
            parsed.invalid += 1
            first_problem = first_problem or f"findings.{index}.{_first_validation_problem(error)}"
    if items and not parsed.findings:
        raise BatchFailed(f"wrong response shape ({first_problem})")
    return parsed


def _first_validation_problem(error: ValidationError) -> str:
    # Only the location and the message: pydantic's full text quotes the input, which may echo code.
    problem = error.errors(include_input=False, include_url=False)[0]
    location = ".".join(str(part) for part in problem["loc"]) or "response"
    return f"{location}: {problem['msg']}"


def _to_finding(raw: _ResponseFinding) -> Finding:
    try:
        severity = Severity.parse(raw.severity)
    except ValueError:
        severity = DEFAULT_SEVERITY
    rule = raw.rule.strip()[:MAX_RULE_LENGTH] or DEFAULT_RULE
    return Finding(
        path=raw.path, line=raw.line, severity=severity, analyzer="llm", rule=rule, message=raw.message.strip()
    )


# --- the analyzer ----------------------------------------------------------------------------


@dataclass
class LLMRunStats:
    """Counts from the last ``analyze`` call: batches sent and failed, with reasons, and findings dropped."""

    batches: int = 0
    failed_batches: int = 0
    failure_reasons: list[str] = field(default_factory=list)
    dropped_findings: int = 0
    invalid_findings: int = 0

    def failure_summary(self) -> str:
        """Describe the failed batches in one line, such as ``1 of 4 batches failed: timed out after 2.0s``."""
        reasons = "; ".join(dict.fromkeys(self.failure_reasons))
        return f"{self.failed_batches} of {self.batches} batches failed: {reasons}"

    def detail(self) -> str:
        parts = []
        if self.failed_batches:
            parts.append(self.failure_summary())
        if self.dropped_findings:
            parts.append(f"{self.dropped_findings} findings dropped: not on a head-side line of their batch's hunks")
        if self.invalid_findings:
            parts.append(f"{self.invalid_findings} malformed findings skipped")
        return "; ".join(parts)


class _StopAllBatches(Exception):
    """The endpoint rejected a request in a way every later batch would repeat, such as a wrong API key."""


class LLMAnalyzer:
    """Review hunks with a chat model.

    Batches run one after another: hosted endpoints rate-limit bursts and a local Ollama or vLLM
    serves one request at a time anyway. After ``analyze`` returns or raises, :attr:`last_run`
    contains the counts and :attr:`last_run_detail` is the text for the run's detail: empty when every
    batch succeeded and no finding was dropped, otherwise for example ``1 of 4 batches failed:
    invalid JSON (...)``.
    """

    name = "llm"

    def __init__(self) -> None:
        self.last_run = LLMRunStats()

    @property
    def last_run_detail(self) -> str:
        return self.last_run.detail()

    def analyze(self, context: AnalysisContext) -> list[Finding]:
        settings = context.settings
        if not llm_is_configured(settings):
            raise AnalyzerFailed(LLM_OFF_DETAIL)

        batches = _hunk_batches(context.files, settings.batch_size)
        self.last_run = LLMRunStats(batches=len(batches))
        if not batches:
            return []

        review = _review_label(settings)
        logger.info(
            "Reviewing %s with model %s: %d hunks in %d batches",
            review,
            settings.llm.model,
            sum(len(batch.hunks) for batch in batches),
            len(batches),
        )
        findings = self._run_batches(batches, settings, review)

        if self.last_run.failed_batches == len(batches):
            raise AnalyzerFailed(self.last_run.failure_summary())
        if self.last_run.failed_batches:
            logger.warning("LLM review of %s is partial: %s", review, self.last_run.failure_summary())
        return findings

    def _run_batches(self, batches: list[HunkBatch], settings: ReviewSettings, review: str) -> list[Finding]:
        findings: list[Finding] = []
        deadline = time.monotonic() + settings.analyzer_timeout_seconds

        with _open_client(settings) as client:
            for position, batch in enumerate(batches):
                if time.monotonic() > deadline:
                    reason = f"skipped after the {settings.analyzer_timeout_seconds:g}s analyzer time limit"
                    self._fail_batches(batches[position:], reason, review)
                    break
                try:
                    findings.extend(self._review_batch(client, batch, settings, review))
                except _StopAllBatches as error:
                    self._fail_batches(batches[position:], str(error), review)
                    break
                except BatchFailed as error:
                    self._fail_batches([batch], str(error), review)

        return findings

    def _review_batch(
        self, client: openai.OpenAI, batch: HunkBatch, settings: ReviewSettings, review: str
    ) -> list[Finding]:
        content = _complete(client, build_messages(batch, settings), settings)
        parsed = parse_response(content)
        raw_findings = parsed.findings
        self.last_run.invalid_findings += parsed.invalid

        allowed = batch.head_lines_by_path()
        kept = [_to_finding(raw) for raw in raw_findings if raw.line in allowed.get(raw.path, ())]
        dropped = len(raw_findings) - len(kept)
        self.last_run.dropped_findings += dropped

        logger.debug(
            "LLM batch %d of %d for %s kept %d findings and dropped %d outside its hunks",
            batch.number,
            self.last_run.batches,
            review,
            len(kept),
            dropped,
        )
        return kept

    def _fail_batches(self, failed: list[HunkBatch], reason: str, review: str) -> None:
        self.last_run.failed_batches += len(failed)
        self.last_run.failure_reasons.append(reason)

        # Batches skipped together share one reason, so they share one log line too.
        total = self.last_run.batches
        if len(failed) == 1:
            logger.warning("LLM batch %d of %d for %s failed: %s", failed[0].number, total, review, reason)
        else:
            first, last = failed[0].number, failed[-1].number
            logger.warning("LLM batches %d to %d of %d for %s failed: %s", first, last, total, review, reason)


def _open_client(settings: ReviewSettings) -> openai.OpenAI:
    llm = settings.llm
    return openai.OpenAI(
        base_url=llm.base_url,
        api_key=llm.api_key.reveal() or PLACEHOLDER_API_KEY,
        timeout=llm.timeout_seconds,
        max_retries=llm.max_retries,
    )


def _complete(
    client: openai.OpenAI, messages: list[ChatCompletionMessageParam], settings: ReviewSettings
) -> str | None:
    """Send one chat request and return the reply's content, turning client errors into short reasons.

    The reasons never quote the error body because an endpoint may echo the presented API key in it.
    """
    try:
        response = client.chat.completions.with_raw_response.create(model=settings.llm.model, messages=messages)
    except openai.APITimeoutError:
        raise BatchFailed(f"timed out after {settings.llm.timeout_seconds:g}s") from None
    except openai.APIConnectionError:
        # An endpoint that refuses connections will refuse the next batch too.
        raise _StopAllBatches("connection to the LLM endpoint failed") from None
    except (openai.AuthenticationError, openai.PermissionDeniedError) as error:
        raise _StopAllBatches(f"LLM endpoint rejected the API key (HTTP {error.status_code})") from None
    except openai.NotFoundError:
        raise _StopAllBatches(
            f"LLM endpoint returned HTTP 404: check the base URL and that model {settings.llm.model!r} exists"
        ) from None
    except openai.APIStatusError as error:
        raise BatchFailed(f"LLM endpoint returned HTTP {error.status_code}") from None

    # Parsed here rather than by the client so that a non-chat body from a misconfigured proxy
    # fails this batch with a reason instead of raising an arbitrary error.
    try:
        completion = _ChatCompletion.model_validate_json(response.content)
    except ValidationError as error:
        raise BatchFailed(f"invalid chat completion from the endpoint ({_first_validation_problem(error)})") from None
    if not completion.choices:
        raise BatchFailed("chat completion has no choices")
    return completion.choices[0].message.content


def _review_label(settings: ReviewSettings) -> str:
    if settings.repository and settings.pr_number is not None:
        return f"{settings.repository}#{settings.pr_number}"
    return f"{settings.repo} {settings.base}..{settings.head}"
