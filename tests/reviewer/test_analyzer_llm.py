"""The LLM analyzer against the fake OpenAI-compatible endpoint on 127.0.0.1."""

from __future__ import annotations

import logging
import math
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import jinja2
import pytest

from pr_reviewer.analyzers.base import AnalysisContext, AnalyzerFailed
from pr_reviewer.analyzers.llm import LLM_OFF_DETAIL, PLACEHOLDER_API_KEY, LLMAnalyzer, llm_is_configured, render_prompt
from pr_reviewer.model import ChangeKind, DiffLine, FileChange, Finding, Hunk, Severity
from pr_reviewer.settings import LLMSettings, ReviewSettings, Secret
from tests.fakes.openai_api import (
    FakeOpenAI,
    ScriptedReply,
    delayed_reply,
    error_reply,
    findings_reply,
    malformed_reply,
)

API_KEY = "sk-test-0123456789abcdef"
MODEL = "review-model-7b"
REVIEW = "octo/shop#7"


# --- building blocks -------------------------------------------------------------------------


def make_hunk(old_start: int, new_start: int, lines: list[tuple[str, str]]) -> Hunk:
    """Build a hunk from (kind, text) pairs, numbering old and new lines as git does."""
    old_line, new_line = old_start, new_start
    diff_lines = []
    for kind, text in lines:
        if kind == "+":
            diff_lines.append(DiffLine(kind, text, None, new_line))
            new_line += 1
        elif kind == "-":
            diff_lines.append(DiffLine(kind, text, old_line, None))
            old_line += 1
        else:
            diff_lines.append(DiffLine(kind, text, old_line, new_line))
            old_line += 1
            new_line += 1
    return Hunk(
        old_start=old_start,
        old_count=old_line - old_start,
        new_start=new_start,
        new_count=new_line - new_start,
        header="def load(path):" if new_start == 10 else "",
        lines=diff_lines,
    )


def app_file() -> FileChange:
    """app.py with two hunks: head lines 10-13 (11 and 12 added) and 40-42 (40 and 41 added)."""
    first = make_hunk(
        10,
        10,
        [
            (" ", "def load(path):"),
            ("-", "    return open(path).read()"),
            ("+", "    with open(path) as handle:"),
            ("+", "        return handle.read()"),
            (" ", ""),
        ],
    )
    second = make_hunk(
        39,
        40,
        [("+", "def save(path, data):"), ("+", "    open(path, 'w').write(data)"), (" ", "")],
    )
    return FileChange("app.py", "app.py", ChangeKind.MODIFIED, [first, second], language="python")


def util_file() -> FileChange:
    """util.py, a new file: one hunk with head lines 1-3."""
    hunk = make_hunk(0, 1, [("+", "import os"), ("+", "def run(cmd):"), ("+", "    os.system(cmd)")])
    return FileChange("util.py", None, ChangeKind.ADDED, [hunk], language="python")


def marked_files(hunk_counts: list[int]) -> list[FileChange]:
    """Files whose hunks each hold one added line ``marker-N``, numbered across all files."""
    files = []
    marker = 0
    for file_index, count in enumerate(hunk_counts):
        hunks = []
        for hunk_index in range(count):
            start = 1 + hunk_index * 10
            hunks.append(make_hunk(start, start, [("+", f"value = 'marker-{marker}'")]))
            marker += 1
        files.append(FileChange(f"module_{file_index}.py", None, ChangeKind.ADDED, hunks))
    return files


def make_settings(
    fake: FakeOpenAI | None,
    *,
    api_key: str = API_KEY,
    batch_size: int = 5,
    language: str = "en",
    timeout_seconds: float = 2.0,
    max_retries: int = 0,
    analyzer_timeout_seconds: float = 60.0,
) -> ReviewSettings:
    llm = LLMSettings(
        base_url=fake.base_url if fake else "",
        model=MODEL,
        api_key=Secret(api_key),
        timeout_seconds=timeout_seconds,
        max_retries=max_retries,
    )
    return ReviewSettings(
        repo="/tmp/unused",  # never opened: the analyzer reads only the hunks
        base="main",
        head="feature",
        repository="octo/shop",
        pr_number=7,
        language=language,
        batch_size=batch_size,
        analyzer_timeout_seconds=analyzer_timeout_seconds,
        llm=llm,
    )


def run(settings: ReviewSettings, files: list[FileChange], analyzer: LLMAnalyzer | None = None) -> list[Finding]:
    analyzer = analyzer or LLMAnalyzer()
    return analyzer.analyze(AnalysisContext(Path("."), files, settings))


def llm_finding(path: str, line: int, severity: Severity, rule: str, message: str) -> Finding:
    return Finding(path=path, line=line, severity=severity, analyzer="llm", rule=rule, message=message)


def raw(path: str, line: int, severity: str = "high", rule: str = "bug", message: str = "Broken.") -> dict[str, object]:
    return {"path": path, "line": line, "severity": severity, "rule": rule, "message": message}


def closed_port() -> int:
    """Return a port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key=API_KEY, models=[MODEL]) as server:
        yield server


# --- findings --------------------------------------------------------------------------------


def test_valid_findings_become_llm_findings(fake: FakeOpenAI) -> None:
    fake.enqueue(
        findings_reply(
            [
                raw("app.py", 12, "high", "resource-leak", "A missing file raises FileNotFoundError to the caller."),
                raw("util.py", 3, "critical", "command-injection", "os.system runs cmd through a shell."),
            ]
        )
    )
    analyzer = LLMAnalyzer()

    findings = run(make_settings(fake), [app_file(), util_file()], analyzer)

    assert findings == [
        llm_finding(
            "app.py", 12, Severity.HIGH, "resource-leak", "A missing file raises FileNotFoundError to the caller."
        ),
        llm_finding("util.py", 3, Severity.CRITICAL, "command-injection", "os.system runs cmd through a shell."),
    ]
    assert len(fake.chat_requests) == 1
    assert analyzer.last_run_detail == ""


def test_unknown_severity_and_rule_get_defaults(fake: FakeOpenAI) -> None:
    fake.enqueue(
        findings_reply(
            [
                raw("util.py", 1, "major", "unused-import", "os is only used for system()."),
                {"path": "util.py", "line": 2, "severity": " LOW ", "message": "Add a docstring."},
            ]
        )
    )

    findings = run(make_settings(fake), [util_file()])

    assert findings == [
        llm_finding("util.py", 1, Severity.MEDIUM, "unused-import", "os is only used for system()."),
        llm_finding("util.py", 2, Severity.LOW, "general", "Add a docstring."),
    ]


def test_code_fenced_json_is_accepted(fake: FakeOpenAI) -> None:
    fake.enqueue(
        ScriptedReply(
            content='```json\n{"findings": [{"path": "util.py", "line": 3, "severity": "high", '
            '"rule": "command-injection", "message": "Shell call."}]}\n```'
        )
    )

    findings = run(make_settings(fake), [util_file()])

    assert findings == [llm_finding("util.py", 3, Severity.HIGH, "command-injection", "Shell call.")]


def test_findings_outside_the_batch_are_dropped_and_counted(fake: FakeOpenAI) -> None:
    # With batch_size 2, batch 1 contains both app.py hunks and batch 2 the util.py hunk.
    fake.enqueue(
        findings_reply(
            [
                raw("app.py", 12),  # added line of the first hunk: kept
                raw("app.py", 20),  # between the two hunks
                raw("app.py", 43),  # just past the second hunk
                raw("util.py", 1),  # a changed line, but of the other batch
                raw("missing.py", 1),  # not in the change at all
            ]
        ),
        findings_reply([raw("util.py", 2), raw("app.py", 40)]),  # app.py belongs to batch 1
    )
    analyzer = LLMAnalyzer()

    findings = run(make_settings(fake, batch_size=2), [app_file(), util_file()], analyzer)

    assert findings == [
        llm_finding("app.py", 12, Severity.HIGH, "bug", "Broken."),
        llm_finding("util.py", 2, Severity.HIGH, "bug", "Broken."),
    ]
    assert analyzer.last_run.dropped_findings == 5
    assert analyzer.last_run.failed_batches == 0
    assert analyzer.last_run_detail == "5 findings dropped: not on a head-side line of their batch's hunks"


def test_malformed_item_is_skipped_and_the_rest_kept(fake: FakeOpenAI) -> None:
    fake.enqueue(
        findings_reply(
            [
                raw("util.py", 3, "high", "command-injection", "os.system runs cmd through a shell."),
                {"path": "util.py", "line": -1, "severity": "low", "rule": "x", "message": "bad line"},
            ]
        )
    )
    analyzer = LLMAnalyzer()

    findings = run(make_settings(fake), [util_file()], analyzer)

    assert findings == [
        llm_finding("util.py", 3, Severity.HIGH, "command-injection", "os.system runs cmd through a shell.")
    ]
    assert analyzer.last_run.failed_batches == 0
    assert analyzer.last_run.invalid_findings == 1
    assert analyzer.last_run_detail == "1 malformed findings skipped"


def test_context_lines_are_citable(fake: FakeOpenAI) -> None:
    fake.enqueue(findings_reply([raw("app.py", 10), raw("app.py", 13)]))

    findings = run(make_settings(fake), [app_file()])

    assert [finding.line for finding in findings] == [10, 13]


# --- failures --------------------------------------------------------------------------------


def test_malformed_json_fails_only_that_batch(fake: FakeOpenAI, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="pr_reviewer.analyzers.llm")
    fake.enqueue(
        findings_reply([raw("app.py", 11)]),
        malformed_reply(),
        findings_reply([raw("util.py", 3)]),
    )
    analyzer = LLMAnalyzer()

    findings = run(make_settings(fake, batch_size=1), [app_file(), util_file()], analyzer)

    assert findings == [
        llm_finding("app.py", 11, Severity.HIGH, "bug", "Broken."),
        llm_finding("util.py", 3, Severity.HIGH, "bug", "Broken."),
    ]
    reason = "invalid JSON (Expecting property name enclosed in double quotes at line 1 column 42)"
    assert analyzer.last_run_detail == f"1 of 3 batches failed: {reason}"
    assert caplog.messages == [
        f"LLM batch 2 of 3 for {REVIEW} failed: {reason}",
        f"LLM review of {REVIEW} is partial: 1 of 3 batches failed: {reason}",
    ]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('{"result": []}', "wrong response shape (findings: Field required)"),
        ("[]", "wrong response shape (response: Input should be a valid dictionary or instance of _ReviewResponse)"),
        (
            '{"findings": [{"path": "util.py", "line": "three", "severity": "high", "rule": "x", "message": "m"}]}',
            "wrong response shape (findings.0.line: Input should be a valid integer, "
            "unable to parse string as an integer)",
        ),
        ('{"findings": [{"path": "util.py", "line": 3}]}', "wrong response shape (findings.0.message: Field required)"),
        ("   ", "empty response"),
    ],
)
def test_wrong_response_shape_fails_the_batch(fake: FakeOpenAI, content: str, reason: str) -> None:
    fake.enqueue(ScriptedReply(content=content))

    with pytest.raises(AnalyzerFailed) as failure:
        run(make_settings(fake), [util_file()])

    assert str(failure.value) == f"1 of 1 batches failed: {reason}"


def test_non_chat_body_fails_the_batch(fake: FakeOpenAI) -> None:
    fake.enqueue(ScriptedReply(body=b"<html>proxy error</html>"), ScriptedReply(body=b'{"choices": []}'))
    analyzer = LLMAnalyzer()

    with pytest.raises(AnalyzerFailed) as failure:
        run(make_settings(fake, batch_size=1), [app_file()], analyzer)

    assert str(failure.value) == (
        "2 of 2 batches failed: invalid chat completion from the endpoint "
        "(response: Invalid JSON: expected value at line 1 column 1); chat completion has no choices"
    )


def test_timeout_fails_the_batch_without_hanging(fake: FakeOpenAI) -> None:
    fake.enqueue(delayed_reply(0.8, [raw("util.py", 3)]))
    started = time.monotonic()

    with pytest.raises(AnalyzerFailed) as failure:
        run(make_settings(fake, timeout_seconds=0.5), [util_file()])

    assert str(failure.value) == "1 of 1 batches failed: timed out after 0.5s"
    assert time.monotonic() - started < 2.0
    assert len(fake.chat_requests) == 1


def test_timeout_keeps_the_other_batches_findings(fake: FakeOpenAI) -> None:
    fake.enqueue(delayed_reply(0.8, [raw("app.py", 12)]), findings_reply([raw("util.py", 3)]))
    analyzer = LLMAnalyzer()

    findings = run(make_settings(fake, batch_size=2, timeout_seconds=0.5), [app_file(), util_file()], analyzer)

    assert findings == [llm_finding("util.py", 3, Severity.HIGH, "bug", "Broken.")]
    assert analyzer.last_run_detail == "1 of 2 batches failed: timed out after 0.5s"


def test_server_error_fails_the_batch(fake: FakeOpenAI) -> None:
    fake.enqueue(error_reply(500, "overloaded"), findings_reply([raw("util.py", 3)]))
    analyzer = LLMAnalyzer()

    findings = run(make_settings(fake, batch_size=2), [app_file(), util_file()], analyzer)

    assert findings == [llm_finding("util.py", 3, Severity.HIGH, "bug", "Broken.")]
    assert analyzer.last_run_detail == "1 of 2 batches failed: LLM endpoint returned HTTP 500"


def test_retry_recovers_from_a_server_error(fake: FakeOpenAI) -> None:
    fake.enqueue(error_reply(503, "warming up", **{"retry-after-ms": "10"}), findings_reply([raw("util.py", 3)]))
    analyzer = LLMAnalyzer()

    findings = run(make_settings(fake, max_retries=1), [util_file()], analyzer)

    assert findings == [llm_finding("util.py", 3, Severity.HIGH, "bug", "Broken.")]
    assert len(fake.chat_requests) == 2
    assert analyzer.last_run_detail == ""


def test_rejected_key_stops_the_remaining_batches(fake: FakeOpenAI, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="pr_reviewer.analyzers.llm")

    with pytest.raises(AnalyzerFailed) as failure:
        run(make_settings(fake, api_key="sk-wrong-key", batch_size=1), [app_file(), util_file()])

    reason = "LLM endpoint rejected the API key (HTTP 401)"
    assert str(failure.value) == f"3 of 3 batches failed: {reason}"
    assert len(fake.chat_requests) == 1
    assert caplog.messages == [f"LLM batches 1 to 3 of 3 for {REVIEW} failed: {reason}"]


def test_unknown_model_stops_the_remaining_batches(fake: FakeOpenAI) -> None:
    fake.enqueue(error_reply(404, "The model does not exist"))

    with pytest.raises(AnalyzerFailed) as failure:
        run(make_settings(fake, batch_size=1), [app_file()])

    assert str(failure.value) == (
        f"2 of 2 batches failed: LLM endpoint returned HTTP 404: check the base URL and that model '{MODEL}' exists"
    )
    assert len(fake.chat_requests) == 1


def test_unreachable_endpoint_fails_fast() -> None:
    settings = make_settings(None, batch_size=1)
    settings.llm.base_url = f"http://127.0.0.1:{closed_port()}/v1"
    started = time.monotonic()

    with pytest.raises(AnalyzerFailed) as failure:
        run(settings, [app_file(), util_file()])

    assert str(failure.value) == "3 of 3 batches failed: connection to the LLM endpoint failed"
    assert time.monotonic() - started < 2.0


def test_time_limit_skips_the_remaining_batches(fake: FakeOpenAI) -> None:
    fake.enqueue(delayed_reply(0.3, [raw("app.py", 11)]))
    analyzer = LLMAnalyzer()

    findings = run(make_settings(fake, batch_size=1, analyzer_timeout_seconds=0.2), [app_file(), util_file()], analyzer)

    assert findings == [llm_finding("app.py", 11, Severity.HIGH, "bug", "Broken.")]
    assert analyzer.last_run_detail == "2 of 3 batches failed: skipped after the 0.2s analyzer time limit"
    assert len(fake.chat_requests) == 1


# --- requests --------------------------------------------------------------------------------


@pytest.mark.parametrize(("hunk_counts", "batch_size"), [([5, 2], 3), ([5, 2], 1), ([5, 2], 7), ([1], 10)])
def test_batches_follow_the_batch_size(hunk_counts: list[int], batch_size: int) -> None:
    with FakeOpenAI(default=findings_reply([])) as fake:
        run(make_settings(fake, batch_size=batch_size), marked_files(hunk_counts))

        requests = fake.chat_requests

    total = sum(hunk_counts)
    assert len(requests) == math.ceil(total / batch_size)
    for number, request in enumerate(requests):
        expected = range(number * batch_size, min((number + 1) * batch_size, total))
        prompt = request.message_text("user")
        sent = [marker for marker in range(total) if f"'marker-{marker}'" in prompt]
        assert sent == list(expected)


def test_no_hunks_sends_no_request(fake: FakeOpenAI) -> None:
    analyzer = LLMAnalyzer()

    assert run(make_settings(fake), [], analyzer) == []
    assert fake.requests == []
    assert analyzer.last_run_detail == ""


def test_request_uses_the_configured_model(fake: FakeOpenAI) -> None:
    fake.enqueue(findings_reply([]))

    run(make_settings(fake), [util_file()])

    request = fake.chat_requests[0]
    assert request.model == MODEL
    assert [message["role"] for message in request.messages] == ["system", "user"]


def test_prompt_shows_head_side_line_numbers(fake: FakeOpenAI) -> None:
    fake.enqueue(findings_reply([]))

    run(make_settings(fake), [app_file()])

    prompt = fake.chat_requests[0].message_text("user")
    assert prompt.startswith("Review the following 2 hunks of a pull request to octo/shop.\n")
    assert (
        "File: app.py (python)\n"
        "@@ -10,3 +10,4 @@ def load(path):\n"
        "    10   def load(path):\n"
        "       -     return open(path).read()\n"
        "    11 +     with open(path) as handle:\n"
        "    12 +         return handle.read()\n"
        "    13   \n"
    ) in prompt
    assert (
        "File: app.py (python)\n"
        "@@ -39,1 +40,3 @@\n"
        "    40 + def save(path, data):\n"
        "    41 +     open(path, 'w').write(data)\n"
        "    42   \n"
    ) in prompt


def test_english_review_asks_for_english(fake: FakeOpenAI) -> None:
    fake.enqueue(findings_reply([]))

    run(make_settings(fake, language="en"), [util_file()])

    system = fake.chat_requests[0].message_text("system")
    assert "- Write every message in English.\n" in system
    assert "Chinese" not in system
    assert '{"findings": [{"path": ' in system
    assert "- severity is one of: critical, high, medium, low, info.\n" in system


def test_zh_cn_review_asks_for_simplified_chinese(fake: FakeOpenAI) -> None:
    fake.enqueue(findings_reply([]))

    run(make_settings(fake, language="zh-CN"), [util_file()])

    system = fake.chat_requests[0].message_text("system")
    instruction = (
        "- Write every message in Simplified Chinese (简体中文). Keep the JSON keys, severity and rule in English.\n"
    )
    assert instruction in system
    assert "- Write every message in English." not in system


def test_missing_template_variable_fails_loudly() -> None:
    with pytest.raises(jinja2.UndefinedError, match="'severities' is undefined"):
        render_prompt("review_system.j2", language="en")


# --- the API key -----------------------------------------------------------------------------


def test_api_key_is_sent_but_never_logged(fake: FakeOpenAI, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake.enqueue(findings_reply([raw("util.py", 3)]), malformed_reply())

    run(make_settings(fake, batch_size=2), [app_file(), util_file()])

    assert fake.chat_requests[0].authorization == f"Bearer {API_KEY}"
    assert caplog.records, "expected the analyzer and the client to log at DEBUG"
    assert API_KEY not in caplog.text
    assert all(API_KEY not in record.getMessage() for record in caplog.records)


def test_rejected_key_appears_in_no_log_or_error(fake: FakeOpenAI, caplog: pytest.LogCaptureFixture) -> None:
    # The fake quotes the presented token in its 401 body, so echoing the body would leak it.
    caplog.set_level(logging.DEBUG)
    wrong_key = "sk-wrong-9876543210fedcba"

    with pytest.raises(AnalyzerFailed) as failure:
        run(make_settings(fake, api_key=wrong_key), [util_file()])

    assert fake.chat_requests[0].authorization == f"Bearer {wrong_key}"
    assert wrong_key not in str(failure.value)
    assert wrong_key not in repr(failure.value)
    assert wrong_key not in caplog.text


def test_empty_key_sends_a_placeholder() -> None:
    with FakeOpenAI(default=findings_reply([raw("util.py", 3)])) as keyless:
        findings = run(make_settings(keyless, api_key=""), [util_file()])

        request = keyless.chat_requests[0]

    assert findings == [llm_finding("util.py", 3, Severity.HIGH, "bug", "Broken.")]
    assert request.authorization == f"Bearer {PLACEHOLDER_API_KEY}"


# --- configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize(("base_url", "model"), [("", MODEL), ("http://127.0.0.1:9/v1", ""), ("", "")])
def test_analyzer_is_off_without_endpoint_or_model(base_url: str, model: str) -> None:
    settings = make_settings(None)
    settings.llm.base_url = base_url
    settings.llm.model = model

    assert llm_is_configured(settings) is False
    with pytest.raises(AnalyzerFailed) as failure:
        run(settings, [util_file()])
    assert str(failure.value) == LLM_OFF_DETAIL == "LLM analyzer off: no endpoint configured"


def test_analyzer_is_on_with_endpoint_and_model(fake: FakeOpenAI) -> None:
    assert llm_is_configured(make_settings(fake)) is True
