"""Publishing a review draft to the fake GitHub: exactly which calls are made and what they carry."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from pr_reviewer.errors import PermanentError, TransientError
from pr_reviewer.github.auth import resolve_token
from pr_reviewer.github.client import RetryPolicy
from pr_reviewer.github.plan import MAX_BODY_CHARS, InlineComment, ReviewDraft, build_plan, marker_fingerprint
from pr_reviewer.github.publish import PublishOutcome, plan_review, publish_review
from pr_reviewer.model import ChangeKind, DiffLine, FileChange, Finding, Hunk, Severity
from pr_reviewer.settings import GitHubSettings, ReviewSettings, Secret
from tests.fakes.github_api import AppKeyPair, FakeGitHub

TOKEN = "ghp-publish-test-token-5550123"
BOT_LOGIN = "review-bot"
AUTHOR_LOGIN = "mallory"
APP_ID = "31337"
APP_BOT_LOGIN = "pr-reviewer[bot]"
INSTALLATION_ID = 12
REPOSITORY = "acme/widgets"
NUMBER = 7
HEAD = "a" * 40
NEXT_HEAD = "b" * 40
PULL = f"/repos/{REPOSITORY}/pulls/{NUMBER}"
ISSUE = f"/repos/{REPOSITORY}/issues/{NUMBER}"
SUMMARY_MARKER = "<!-- pr-reviewer:summary -->"
HUNKS = {"app.py": [(1, 10), (20, 30)], "util.py": [(5, 8)]}


class SummaryRenderer:
    """Render a summary listing the findings it is given, and remember each call's argument."""

    def __init__(self) -> None:
        self.calls: list[list[Finding]] = []

    def __call__(self, not_inline: list[Finding]) -> str:
        self.calls.append(list(not_inline))
        lines = [f"- {finding.path}:{finding.line} {finding.message}" for finding in not_inline]
        return "## Review summary\n\n" + ("\n".join(lines) or "Everything is inline.")


def file_change(path: str, ranges: list[tuple[int, int]]) -> FileChange:
    hunks = [
        Hunk(
            old_start=first, old_count=0, new_start=first, new_count=last - first + 1,
            lines=[DiffLine("+", f"line {number}", None, number) for number in range(first, last + 1)],
        )
        for first, last in ranges
    ]
    return FileChange(path=path, old_path=path, kind=ChangeKind.MODIFIED, hunks=hunks)


def finding(path: str, line: int, name: str, end_line: int | None = None) -> Finding:
    return Finding(
        path=path, line=line, end_line=end_line, severity=Severity.HIGH, analyzer="test", rule=name,
        message=f"problem {name}", fingerprint=f"fp-{name}",
    )


def make_draft(
    findings: list[Finding], hunks: dict[str, list[tuple[int, int]]] = HUNKS, head_sha: str = HEAD
) -> tuple[ReviewDraft, SummaryRenderer]:
    renderer = SummaryRenderer()
    comments = [InlineComment(item, f"**{item.rule}**: {item.message}") for item in findings]
    files = [file_change(path, ranges) for path, ranges in hunks.items()]
    return ReviewDraft(head_sha=head_sha, comments=comments, render_summary=renderer, files=files), renderer


def settings_for(api_url: str, *, token: str = TOKEN, max_inline: int = 30) -> ReviewSettings:
    github = GitHubSettings(api_url=api_url, token=Secret(token), max_inline_comments=max_inline, timeout_seconds=5)
    return ReviewSettings(
        repo=".", base="main", head="feature", repository=REPOSITORY, pr_number=NUMBER, post=True, github=github
    )


def app_settings_for(api_url: str, private_key: str) -> ReviewSettings:
    github = GitHubSettings(
        api_url=api_url, app_id=APP_ID, app_private_key=Secret(private_key), installation_id=INSTALLATION_ID,
        timeout_seconds=5,
    )
    return ReviewSettings(
        repo=".", base="main", head="feature", repository=REPOSITORY, pr_number=NUMBER, post=True, github=github
    )


def marked(body: str, fingerprint: str) -> str:
    return f"{body}\n\n<!-- pr-reviewer:fingerprint={fingerprint} -->"


def write_calls(github: FakeGitHub) -> list[tuple[str, str]]:
    return [(request.method, request.path) for request in github.requests if request.method != "GET"]


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(token=TOKEN) as fake:
        fake.add_pull_request(REPOSITORY, NUMBER, head_sha=HEAD, hunks=HUNKS)
        yield fake


@pytest.fixture(scope="module")
def app_key() -> AppKeyPair:
    return AppKeyPair.generate()


@pytest.fixture
def app_github(app_key: AppKeyPair) -> Iterator[FakeGitHub]:
    with FakeGitHub(
        token=None, app_id=APP_ID, app_public_key=app_key.public_pem, installations={INSTALLATION_ID: [REPOSITORY]}
    ) as fake:
        fake.add_pull_request(REPOSITORY, NUMBER, head_sha=HEAD, hunks=HUNKS)
        yield fake


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def retry(sleeps: list[float]) -> RetryPolicy:
    return RetryPolicy(max_retries=3, sleep=sleeps.append)


def test_review_posts_exact_payload(github: FakeGitHub, retry: RetryPolicy) -> None:
    draft, renderer = make_draft([finding("app.py", 3, "sql"), finding("util.py", 6, "eval")])

    outcome = publish_review(settings_for(github.url), draft, Secret(TOKEN), retry=retry)

    [review_request] = github.requests_to("POST", f"{PULL}/reviews")
    assert review_request.body == {
        "commit_id": HEAD,
        "event": "COMMENT",
        "body": "Automated review of aaaaaaa by pr-reviewer.",
        "comments": [
            {"path": "app.py", "line": 3, "side": "RIGHT", "body": marked("**sql**: problem sql", "fp-sql")},
            {"path": "util.py", "line": 6, "side": "RIGHT", "body": marked("**eval**: problem eval", "fp-eval")},
        ],
    }
    [summary] = github.issue_comments(REPOSITORY, NUMBER)
    assert summary["body"] == f"## Review summary\n\nEverything is inline.\n\n{SUMMARY_MARKER}"
    assert renderer.calls == [[]]
    [review] = github.reviews(REPOSITORY, NUMBER)
    assert outcome == PublishOutcome(
        posted=True, review_url=review["html_url"], summary_url=summary["html_url"],
        inline_posted=2, moved_to_summary=0, already_posted=0, skipped_reason="",
    )


def test_calls_reread_pr_then_post_summary_last(github: FakeGitHub, retry: RetryPolicy) -> None:
    draft, _ = make_draft([finding("app.py", 3, "sql")])

    publish_review(settings_for(github.url), draft, Secret(TOKEN), retry=retry)

    assert [(request.method, request.path) for request in github.requests] == [
        ("GET", "/user"),
        ("GET", f"{PULL}/comments"),
        ("GET", f"{ISSUE}/comments"),
        ("GET", PULL),
        ("POST", f"{PULL}/reviews"),
        ("POST", f"{ISSUE}/comments"),
    ]


def test_multi_line_finding_in_one_hunk_spans_range(github: FakeGitHub, retry: RetryPolicy) -> None:
    draft, _ = make_draft([finding("app.py", 22, "range", end_line=25)])

    publish_review(settings_for(github.url), draft, Secret(TOKEN), retry=retry)

    [comment] = github.review_comments(REPOSITORY, NUMBER)
    anchor = (comment["start_line"], comment["start_side"], comment["line"], comment["side"])
    assert anchor == (22, "RIGHT", 25, "RIGHT")


def test_finding_spanning_two_hunks_anchors_one_line(github: FakeGitHub, retry: RetryPolicy) -> None:
    draft, _ = make_draft([finding("app.py", 9, "spread", end_line=21)])

    outcome = publish_review(settings_for(github.url), draft, Secret(TOKEN), retry=retry)

    [review_request] = github.requests_to("POST", f"{PULL}/reviews")
    [payload] = review_request.body["comments"]
    assert payload["line"] == 21
    assert payload["side"] == "RIGHT"
    assert "start_line" not in payload
    assert "start_side" not in payload
    assert outcome.inline_posted == 1


def test_finding_outside_diff_goes_to_summary(github: FakeGitHub, retry: RetryPolicy) -> None:
    inside, outside, other_file = finding("app.py", 3, "in"), finding("app.py", 15, "gap"), finding("b.py", 1, "nf")
    draft, renderer = make_draft([inside, outside, other_file])

    outcome = publish_review(settings_for(github.url), draft, Secret(TOKEN), retry=retry)

    assert [comment["line"] for comment in github.review_comments(REPOSITORY, NUMBER)] == [3]
    assert renderer.calls == [[outside, other_file]]
    [summary] = github.issue_comments(REPOSITORY, NUMBER)
    assert "- app.py:15 problem gap\n- b.py:1 problem nf" in summary["body"]
    assert outcome.moved_to_summary == 2


def test_cap_moves_overflow_to_summary(github: FakeGitHub, retry: RetryPolicy) -> None:
    findings = [finding("app.py", line, f"n{line}") for line in (1, 2, 3, 4)]
    draft, renderer = make_draft(findings)

    outcome = publish_review(settings_for(github.url, max_inline=2), draft, Secret(TOKEN), retry=retry)

    [review_request] = github.requests_to("POST", f"{PULL}/reviews")
    assert [comment["line"] for comment in review_request.body["comments"]] == [1, 2]
    assert renderer.calls == [findings[2:]]
    [summary] = github.issue_comments(REPOSITORY, NUMBER)
    assert "- app.py:3 problem n3\n- app.py:4 problem n4" in summary["body"]
    assert (outcome.inline_posted, outcome.moved_to_summary) == (2, 2)


def test_rejected_review_falls_back_per_comment(github: FakeGitHub, retry: RetryPolicy) -> None:
    # Our diff marks line 40 as changed but GitHub's diff does not contain it, so GitHub rejects the whole review.
    stale = finding("app.py", 40, "stale")
    findings = [finding("app.py", 3, "first"), stale, finding("util.py", 7, "last")]
    draft, renderer = make_draft(findings, hunks={"app.py": [(1, 10), (20, 40)], "util.py": [(5, 8)]})

    outcome = publish_review(settings_for(github.url), draft, Secret(TOKEN), retry=retry)

    assert write_calls(github) == [
        ("POST", f"{PULL}/reviews"),
        ("POST", f"{PULL}/comments"),
        ("POST", f"{PULL}/comments"),
        ("POST", f"{PULL}/comments"),
        ("POST", f"{ISSUE}/comments"),
    ]
    single = github.requests_to("POST", f"{PULL}/comments")[0].body
    assert single == {
        "commit_id": HEAD, "path": "app.py", "line": 3, "side": "RIGHT",
        "body": marked("**first**: problem first", "fp-first"),
    }
    posted = github.review_comments(REPOSITORY, NUMBER)
    assert [(comment["path"], comment["line"]) for comment in posted] == [("app.py", 3), ("util.py", 7)]
    assert github.reviews(REPOSITORY, NUMBER) == []
    assert renderer.calls == [[stale]]
    [summary] = github.issue_comments(REPOSITORY, NUMBER)
    assert "- app.py:40 problem stale" in summary["body"]
    assert outcome.inline_posted == 2
    assert outcome.moved_to_summary == 1
    assert outcome.review_url == posted[0]["html_url"]


def test_rate_limited_review_is_retried_and_posted_once(
    github: FakeGitHub, retry: RetryPolicy, sleeps: list[float]
) -> None:
    draft, _ = make_draft([finding("app.py", 3, "sql")])
    github.rate_limit_next("secondary", seconds=3, method="POST", path=f"{PULL}/reviews")

    outcome = publish_review(settings_for(github.url), draft, Secret(TOKEN), retry=retry)

    assert sleeps == [3.0]
    assert len(github.requests_to("POST", f"{PULL}/reviews")) == 2
    assert len(github.reviews(REPOSITORY, NUMBER)) == 1
    assert [comment["line"] for comment in github.review_comments(REPOSITORY, NUMBER)] == [3]
    assert outcome.inline_posted == 1


@pytest.mark.parametrize(
    ("state", "merged", "reason"),
    [("closed", False, "PR #7 is closed"), ("closed", True, "PR #7 is merged")],
)
def test_closed_pr_gets_nothing(
    github: FakeGitHub, retry: RetryPolicy, state: str, merged: bool, reason: str
) -> None:
    github.update_pull_request(REPOSITORY, NUMBER, state=state, merged=merged)
    draft, renderer = make_draft([finding("app.py", 3, "sql")])

    outcome = publish_review(settings_for(github.url), draft, Secret(TOKEN), retry=retry)

    assert outcome == PublishOutcome(posted=False, skipped_reason=reason)
    assert write_calls(github) == []
    assert renderer.calls == []


def test_moved_head_gets_nothing(github: FakeGitHub, retry: RetryPolicy) -> None:
    github.update_pull_request(REPOSITORY, NUMBER, head_sha=NEXT_HEAD)
    draft, _ = make_draft([finding("app.py", 3, "sql")])

    outcome = publish_review(settings_for(github.url), draft, Secret(TOKEN), retry=retry)

    assert outcome.posted is False
    assert outcome.skipped_reason == "head moved from aaaaaaa to bbbbbbb"
    assert write_calls(github) == []


def test_second_push_adds_no_duplicates(retry: RetryPolicy) -> None:
    findings = [finding("app.py", line, f"n{line}") for line in (2, 4, 6)] + [finding("app.py", 25, "late")]
    shifted = [finding("app.py", item.line + 3, item.rule) for item in findings]
    shifted_hunks = {"app.py": [(1, 13), (23, 33)], "util.py": [(5, 8)]}

    # A page of two makes both listings span several pages, so the markers are found past page one.
    with FakeGitHub(token=TOKEN, page_size=2) as github:
        github.add_pull_request(REPOSITORY, NUMBER, head_sha=HEAD, hunks=HUNKS)
        for number in range(3):
            github.add_issue_comment(REPOSITORY, NUMBER, f"human comment {number}")
        first, _ = make_draft(findings)
        publish_review(settings_for(github.url), first, Secret(TOKEN), retry=retry)
        posted_before = github.review_comments(REPOSITORY, NUMBER)
        [summary_before] = [c for c in github.issue_comments(REPOSITORY, NUMBER) if SUMMARY_MARKER in c["body"]]

        github.update_pull_request(REPOSITORY, NUMBER, head_sha=NEXT_HEAD, hunks=shifted_hunks)
        second, renderer = make_draft([*shifted, finding("app.py", 30, "new")], shifted_hunks, head_sha=NEXT_HEAD)
        writes_before = len(write_calls(github))
        outcome = publish_review(settings_for(github.url), second, Secret(TOKEN), retry=retry)

        second_run_writes = write_calls(github)[writes_before:]
        assert second_run_writes == [
            ("POST", f"{PULL}/reviews"),
            ("PATCH", f"/repos/{REPOSITORY}/issues/comments/{summary_before['id']}"),
        ]
        [new_review] = github.requests_to("POST", f"{PULL}/reviews")[1:]
        assert [(c["line"], c["body"]) for c in new_review.body["comments"]] == [
            (30, marked("**new**: problem new", "fp-new")),
        ]
        assert len(github.review_comments(REPOSITORY, NUMBER)) == len(posted_before) + 1
        summaries = [c for c in github.issue_comments(REPOSITORY, NUMBER) if SUMMARY_MARKER in c["body"]]
        assert [summary["id"] for summary in summaries] == [summary_before["id"]]
        assert len(github.issue_comments(REPOSITORY, NUMBER)) == 4
        assert renderer.calls == [[]]
        assert (outcome.inline_posted, outcome.already_posted, outcome.moved_to_summary) == (1, 4, 0)


def test_rerun_with_all_posted_only_updates_summary(github: FakeGitHub, retry: RetryPolicy) -> None:
    draft, _ = make_draft([finding("app.py", 3, "sql")])
    publish_review(settings_for(github.url), draft, Secret(TOKEN), retry=retry)
    writes_before = len(write_calls(github))

    outcome = publish_review(settings_for(github.url), draft, Secret(TOKEN), retry=retry)

    [summary] = github.issue_comments(REPOSITORY, NUMBER)
    assert write_calls(github)[writes_before:] == [("PATCH", f"/repos/{REPOSITORY}/issues/comments/{summary['id']}")]
    assert outcome.review_url == summary["html_url"]
    assert (outcome.posted, outcome.inline_posted, outcome.already_posted) == (True, 0, 1)


def test_foreign_marker_does_not_silence_finding(github: FakeGitHub, retry: RetryPolicy) -> None:
    # Fingerprints are predictable, so a PR author can copy the marker of a finding into a comment.
    planted = github.add_review_comment(
        REPOSITORY, NUMBER, marked("Looks fine to me.", "fp-secret"), path="app.py", line=5, login=AUTHOR_LOGIN
    )
    draft, _ = make_draft([finding("app.py", 3, "secret")])

    outcome = publish_review(settings_for(github.url), draft, Secret(TOKEN), retry=retry)

    [review_request] = github.requests_to("POST", f"{PULL}/reviews")
    assert [comment["body"] for comment in review_request.body["comments"]] == [
        marked("**secret**: problem secret", "fp-secret"),
    ]
    comments = github.review_comments(REPOSITORY, NUMBER)
    assert [(comment["id"], comment["user"]["login"]) for comment in comments] == [
        (planted["id"], AUTHOR_LOGIN),
        (comments[1]["id"], BOT_LOGIN),
    ]
    assert (outcome.inline_posted, outcome.already_posted) == (1, 0)


def test_foreign_summary_is_not_patched(
    github: FakeGitHub, retry: RetryPolicy, caplog: pytest.LogCaptureFixture
) -> None:
    planted = github.add_issue_comment(REPOSITORY, NUMBER, f"LGTM {SUMMARY_MARKER}", login=AUTHOR_LOGIN)
    draft, _ = make_draft([finding("app.py", 3, "sql")])

    outcome = publish_review(settings_for(github.url), draft, Secret(TOKEN), retry=retry)

    assert write_calls(github) == [("POST", f"{PULL}/reviews"), ("POST", f"{ISSUE}/comments")]
    [author_comment, bot_summary] = github.issue_comments(REPOSITORY, NUMBER)
    assert author_comment == planted
    assert bot_summary["user"] == {"login": BOT_LOGIN, "type": "User"}
    assert bot_summary["body"] == f"## Review summary\n\nEverything is inline.\n\n{SUMMARY_MARKER}"
    assert outcome.summary_url == bot_summary["html_url"]
    assert (
        f"Ignoring comment {planted['id']} on acme/widgets#7: it carries the reviewer's summary marker "
        f"but was written by {AUTHOR_LOGIN}, not this bot."
    ) in caplog.text


def test_rerun_keeps_one_bot_summary(github: FakeGitHub, retry: RetryPolicy) -> None:
    draft, _ = make_draft([finding("app.py", 3, "sql")])
    publish_review(settings_for(github.url), draft, Secret(TOKEN), retry=retry)
    [own_summary] = github.issue_comments(REPOSITORY, NUMBER)
    github.add_issue_comment(REPOSITORY, NUMBER, f"LGTM {SUMMARY_MARKER}", login=AUTHOR_LOGIN)
    writes_before = len(write_calls(github))

    publish_review(settings_for(github.url), draft, Secret(TOKEN), retry=retry)

    patch = ("PATCH", f"/repos/{REPOSITORY}/issues/comments/{own_summary['id']}")
    assert write_calls(github)[writes_before:] == [patch]
    bot_summaries = [
        comment for comment in github.issue_comments(REPOSITORY, NUMBER)
        if comment["user"]["login"] == BOT_LOGIN and SUMMARY_MARKER in comment["body"]
    ]
    assert [summary["id"] for summary in bot_summaries] == [own_summary["id"]]


def test_own_comments_match_login_in_any_case(github: FakeGitHub, retry: RetryPolicy) -> None:
    github.add_review_comment(
        REPOSITORY, NUMBER, marked("**sql**: problem sql", "fp-sql"), path="app.py", line=3, login="Review-BOT"
    )
    draft, _ = make_draft([finding("app.py", 3, "sql")])

    outcome = publish_review(settings_for(github.url), draft, Secret(TOKEN), retry=retry)

    assert github.requests_to("POST", f"{PULL}/reviews") == []
    assert (outcome.inline_posted, outcome.already_posted) == (0, 1)


def test_app_rerun_recognises_its_own_comments(
    app_github: FakeGitHub, app_key: AppKeyPair, retry: RetryPolicy
) -> None:
    settings = app_settings_for(app_github.url, app_key.private_pem)
    token = resolve_token(settings, retry=retry)
    app_github.add_review_comment(
        REPOSITORY, NUMBER, marked("Copied marker.", "fp-eval"), path="util.py", line=6, login=AUTHOR_LOGIN
    )
    app_github.add_issue_comment(REPOSITORY, NUMBER, f"LGTM {SUMMARY_MARKER}", login=AUTHOR_LOGIN)
    draft, _ = make_draft([finding("app.py", 3, "sql"), finding("util.py", 6, "eval")])

    first = publish_review(settings, draft, token, retry=retry)
    writes_before = len(write_calls(app_github))
    second = publish_review(settings, draft, token, retry=retry)

    bot_comments = [c for c in app_github.review_comments(REPOSITORY, NUMBER) if c["user"]["login"] == APP_BOT_LOGIN]
    assert [(comment["line"], comment["user"]["type"]) for comment in bot_comments] == [(3, "Bot"), (6, "Bot")]
    [author_summary, bot_summary] = app_github.issue_comments(REPOSITORY, NUMBER)
    assert author_summary["body"] == f"LGTM {SUMMARY_MARKER}"
    assert bot_summary["user"] == {"login": APP_BOT_LOGIN, "type": "Bot"}
    assert write_calls(app_github)[writes_before:] == [
        ("PATCH", f"/repos/{REPOSITORY}/issues/comments/{bot_summary['id']}"),
    ]
    assert (first.inline_posted, first.already_posted) == (2, 0)
    assert (second.inline_posted, second.already_posted) == (0, 2)
    app_calls = [(request.path, request.credential) for request in app_github.requests_to("GET", "/app")]
    assert app_calls == [("/app", "app"), ("/app", "app")]
    assert app_github.requests_to("GET", "/user") == []


def test_app_login_failure_posts_nothing(app_github: FakeGitHub, app_key: AppKeyPair, retry: RetryPolicy) -> None:
    token = resolve_token(app_settings_for(app_github.url, app_key.private_pem), retry=retry)
    stranger = AppKeyPair.generate()
    draft, _ = make_draft([finding("app.py", 3, "sql")])

    with pytest.raises(PermanentError) as raised:
        publish_review(app_settings_for(app_github.url, stranger.private_pem), draft, token, retry=retry)

    assert str(raised.value) == (
        "GitHub API GET /app rejected the credential with 401 (A JSON web token could not be decoded): "
        "check GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY"
    )
    assert write_calls(app_github) == [("POST", f"/app/installations/{INSTALLATION_ID}/access_tokens")]


def test_installation_token_as_github_token_fails(
    app_github: FakeGitHub, app_key: AppKeyPair, retry: RetryPolicy
) -> None:
    token = resolve_token(app_settings_for(app_github.url, app_key.private_pem), retry=retry)
    draft, _ = make_draft([finding("app.py", 3, "sql")])

    with pytest.raises(PermanentError) as raised:
        publish_review(settings_for(app_github.url, token=token.reveal()), draft, token, retry=retry)

    assert str(raised.value).startswith(
        "GitHub API GET /user was forbidden with 403 (Resource not accessible by integration), so GITHUB_TOKEN "
        "looks like a GitHub App installation token"
    )
    assert write_calls(app_github) == [("POST", f"/app/installations/{INSTALLATION_ID}/access_tokens")]


def test_enterprise_prefix_publishes(retry: RetryPolicy) -> None:
    with FakeGitHub(token=TOKEN, path_prefix="/api/v3") as enterprise:
        enterprise.add_pull_request(REPOSITORY, NUMBER, head_sha=HEAD, hunks=HUNKS)
        draft, _ = make_draft([finding("app.py", 3, "sql")])

        outcome = publish_review(settings_for(enterprise.url), draft, Secret(TOKEN), retry=retry)

        assert outcome.inline_posted == 1
        assert [(request.method, request.path) for request in enterprise.requests][-2:] == [
            ("POST", f"{PULL}/reviews"),
            ("POST", f"{ISSUE}/comments"),
        ]
        assert len(enterprise.issue_comments(REPOSITORY, NUMBER)) == 1


def test_bad_token_posts_nothing(github: FakeGitHub, retry: RetryPolicy) -> None:
    wrong = "ghp-not-the-right-token-31337"
    draft, _ = make_draft([finding("app.py", 3, "sql")])

    with pytest.raises(PermanentError) as raised:
        publish_review(settings_for(github.url, token=wrong), draft, Secret(wrong), retry=retry)

    assert str(raised.value) == (
        "GitHub API GET /user rejected the credential with 401 (Bad credentials): check GITHUB_TOKEN"
    )
    assert write_calls(github) == []


def test_missing_pull_request_is_permanent(github: FakeGitHub, retry: RetryPolicy) -> None:
    settings = settings_for(github.url)
    settings.pr_number = 99
    draft, _ = make_draft([finding("app.py", 3, "sql")])

    with pytest.raises(PermanentError) as raised:
        publish_review(settings, draft, Secret(TOKEN), retry=retry)

    message = str(raised.value)
    assert message.startswith(f"PR {REPOSITORY}#99 not found")
    assert "check PR_REVIEW_REPOSITORY, PR_REVIEW_PR_NUMBER" in message


def test_server_error_on_review_is_transient(github: FakeGitHub, retry: RetryPolicy, sleeps: list[float]) -> None:
    github.fail_next(502, method="POST", path=f"{PULL}/reviews")
    draft, _ = make_draft([finding("app.py", 3, "sql")])

    with pytest.raises(TransientError):
        publish_review(settings_for(github.url), draft, Secret(TOKEN), retry=retry)

    assert write_calls(github) == [("POST", f"{PULL}/reviews")]
    assert sleeps == []


def test_token_stays_out_of_logs_and_errors(
    github: FakeGitHub, retry: RetryPolicy, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    github.rate_limit_next("primary", seconds=1, method="POST", path=f"{PULL}/reviews")
    findings = [finding("app.py", 3, "sql"), finding("app.py", 40, "stale")]
    draft, _ = make_draft(findings, hunks={"app.py": [(1, 40)]})

    outcome = publish_review(settings_for(github.url), draft, Secret(TOKEN), retry=retry)
    with pytest.raises(PermanentError) as raised:
        publish_review(settings_for(github.url, token=TOKEN + "x"), draft, Secret(TOKEN + "x"), retry=retry)

    assert (outcome.inline_posted, outcome.moved_to_summary) == (1, 1)
    assert "retrying in" in caplog.text
    assert "GitHub rejected the review on acme/widgets#7" in caplog.text
    assert TOKEN not in caplog.text
    assert TOKEN not in str(raised.value)
    assert TOKEN not in repr(settings_for(github.url))


def test_dry_run_plan_lists_calls_without_sending(github: FakeGitHub) -> None:
    outside = finding("app.py", 15, "gap")
    draft, _ = make_draft([finding("app.py", 3, "sql"), outside])

    planned = plan_review(settings_for(github.url), draft)

    assert github.requests == []
    assert planned["review"]["path"] == f"{PULL}/reviews"
    assert planned["review"]["body"]["comments"] == [
        {"path": "app.py", "line": 3, "side": "RIGHT", "body": marked("**sql**: problem sql", "fp-sql")},
    ]
    assert planned["summary"]["path"] == f"{ISSUE}/comments"
    assert planned["summary"]["body"]["body"].endswith(f"- app.py:15 problem gap\n\n{SUMMARY_MARKER}")
    assert planned["moved_to_summary"] == [{**outside.to_dict(), "reason": "outside the diff"}]
    assert json.loads(json.dumps(planned)) == planned


def test_long_summary_is_cut_to_github_limit() -> None:
    draft, _ = make_draft([])
    draft.render_summary = lambda findings: "x" * (MAX_BODY_CHARS + 500)

    body = build_plan(draft, max_inline=30).summary_body(draft.render_summary)

    assert len(body) <= MAX_BODY_CHARS
    assert body.endswith(f"x\n\n…\n\n{SUMMARY_MARKER}")


def test_marker_fingerprint_is_safe_in_html_comment() -> None:
    plain = finding("app.py", 3, "sql")
    missing = finding("app.py", 3, "sql")
    missing.fingerprint = ""
    moved = finding("app.py", 90, "sql")
    moved.fingerprint = ""
    unsafe = finding("app.py", 3, "sql")
    unsafe.fingerprint = "a--> <script>"

    assert marker_fingerprint(plain) == "fp-sql"
    assert len(marker_fingerprint(missing)) == 32
    assert marker_fingerprint(missing) == marker_fingerprint(moved)
    assert "--" not in marker_fingerprint(unsafe)
    assert ">" not in marker_fingerprint(unsafe)
