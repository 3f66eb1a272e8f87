"""Post a planned review to a pull request: inline comments in one review, then one upserted summary comment.

The calls run in this order:

1. Learn the login the reviewer posts as. With ``GITHUB_TOKEN`` that is ``GET /user``. With an
   App it is ``GET /app`` sent with a new App JWT, and the login is ``<slug>[bot]``.
2. List ``GET /repos/{owner}/{repo}/pulls/{n}/comments`` and ``.../issues/{n}/comments``, keeping
   only the comments written by that login. Their markers show what earlier runs posted. Anyone
   can copy a marker into a comment, so a marker in another account's comment is ignored.
3. Re-read the PR with ``GET /repos/{owner}/{repo}/pulls/{n}`` and stop if it is closed or its
   head moved.
4. Create the review, falling back to one comment at a time on 422.
5. Create or update (``PATCH``) the summary, so it lists every finding that could not go inline,
   including the ones GitHub rejected.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pr_reviewer.errors import PermanentError
from pr_reviewer.github.auth import resolve_bot_login, resolve_token, split_repository
from pr_reviewer.github.client import GitHubClient, NotFound, RetryPolicy, ValidationFailed
from pr_reviewer.github.plan import (
    SUMMARY_MARKER,
    InlineComment,
    PlannedComment,
    ReviewDraft,
    ReviewPlan,
    build_plan,
    fingerprints_in,
)
from pr_reviewer.settings import ReviewSettings, Secret

__all__ = ["InlineComment", "PublishOutcome", "ReviewDraft", "plan_review", "publish_review", "resolve_token"]

logger = logging.getLogger(__name__)


@dataclass
class PublishOutcome:
    """Result of one publish: the counts and URLs of what was posted, or why nothing was.

    ``review_url`` falls back to the summary's URL when no inline comment was posted.
    """

    posted: bool
    review_url: str = ""
    summary_url: str = ""
    inline_posted: int = 0
    moved_to_summary: int = 0
    already_posted: int = 0
    skipped_reason: str = ""


@dataclass(frozen=True)
class PullRequestTarget:
    repository: str
    number: int

    @property
    def label(self) -> str:
        return f"{self.repository}#{self.number}"

    @property
    def pull_path(self) -> str:
        return f"/repos/{self.repository}/pulls/{self.number}"

    @property
    def issue_path(self) -> str:
        return f"/repos/{self.repository}/issues/{self.number}"


@dataclass
class InlineResult:
    url: str = ""
    posted: int = 0
    rejected: tuple[PlannedComment, ...] = ()


def publish_review(
    settings: ReviewSettings, draft: ReviewDraft, token: Secret, *, retry: RetryPolicy | None = None
) -> PublishOutcome:
    """Post the draft to the PR named by ``settings`` unless the PR closed or its head moved meanwhile."""
    target = _target(settings)
    github = settings.github
    credential = _credential_name(settings)
    policy = retry or RetryPolicy(max_retries=github.max_retries)

    with GitHubClient(
        github.api_url, token, credential=credential, timeout_seconds=github.timeout_seconds, retry=policy
    ) as client:
        bot_login = resolve_bot_login(settings, client, retry=policy)
        logger.info("Publishing the review of %s as the GitHub account %s.", target.label, bot_login)
        try:
            posted_fingerprints = _posted_fingerprints(client, target, bot_login)
            summary_comment_id = _find_summary_comment(client, target, bot_login)
            plan = build_plan(
                draft, max_inline=github.max_inline_comments, posted_fingerprints=posted_fingerprints
            )

            skipped_reason = _reason_to_skip(client, target, draft.head_sha)
            if skipped_reason:
                logger.info("Posting nothing on %s because %s.", target.label, skipped_reason)
                return PublishOutcome(posted=False, skipped_reason=skipped_reason)

            inline = _post_inline(client, target, plan)
            summary_url = _upsert_summary(
                client, target, plan.summary_body(draft.render_summary, inline.rejected), summary_comment_id
            )
        except NotFound as error:
            raise PermanentError(
                f"PR {target.label} not found ({error}): check PR_REVIEW_REPOSITORY, PR_REVIEW_PR_NUMBER "
                f"and that {credential} can read the repository"
            ) from None

    outcome = PublishOutcome(
        posted=True,
        review_url=inline.url or summary_url,
        summary_url=summary_url,
        inline_posted=inline.posted,
        moved_to_summary=len(plan.moved) + len(inline.rejected),
        already_posted=len(plan.already_posted),
    )
    logger.info(
        "Published the review of %s: %d inline comments, %d moved to the summary, %d already posted.",
        target.label, outcome.inline_posted, outcome.moved_to_summary, outcome.already_posted,
    )
    return outcome


def plan_review(settings: ReviewSettings, draft: ReviewDraft) -> dict[str, Any]:
    """Return, as JSON-ready data, the calls a real run would make; no request is sent.

    A dry run cannot see earlier comments, so it assumes none exist: every candidate counts as new
    and the summary as created.
    """
    plan = build_plan(draft, max_inline=settings.github.max_inline_comments)
    pr_number = settings.pr_number if settings.pr_number is not None else "<pr>"
    repository = settings.repository or "<owner>/<name>"
    return {
        "review": {
            "method": "POST",
            "path": f"/repos/{repository}/pulls/{pr_number}/reviews",
            "body": plan.review_payload() if plan.inline else None,
        },
        "summary": {
            "method": "POST",
            "path": f"/repos/{repository}/issues/{pr_number}/comments",
            "body": {"body": plan.summary_body(draft.render_summary)},
        },
        "moved_to_summary": [
            {**plan.candidates[index].finding.to_dict(), "reason": reason}
            for index, reason in sorted(plan.moved.items())
        ],
    }


def _credential_name(settings: ReviewSettings) -> str:
    if settings.github.token:
        return "GITHUB_TOKEN"
    return "the GitHub App installation token (GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY, PR_REVIEW_INSTALLATION_ID)"


def _target(settings: ReviewSettings) -> PullRequestTarget:
    split_repository(settings.repository)
    if settings.pr_number is None:
        raise PermanentError("posting needs the PR number: set PR_REVIEW_PR_NUMBER")
    return PullRequestTarget(settings.repository, settings.pr_number)


def _posted_fingerprints(client: GitHubClient, target: PullRequestTarget, bot_login: str) -> set[str]:
    fingerprints: set[str] = set()
    for comment in client.paginate(f"{target.pull_path}/comments"):
        found = fingerprints_in(str(comment.get("body") or ""))
        if not found:
            continue
        if _is_written_by(comment, bot_login):
            fingerprints |= found
        else:
            _log_foreign_marker(comment, target, "fingerprint")
    return fingerprints


def _find_summary_comment(client: GitHubClient, target: PullRequestTarget, bot_login: str) -> int | None:
    """Return the id of the latest summary comment an earlier run posted, if any."""
    found: int | None = None
    for comment in client.paginate(f"{target.issue_path}/comments"):
        if SUMMARY_MARKER not in str(comment.get("body") or ""):
            continue
        if _is_written_by(comment, bot_login):
            found = int(comment["id"])
        else:
            _log_foreign_marker(comment, target, "summary")
    return found


def _is_written_by(comment: dict[str, Any], login: str) -> bool:
    """Check whether GitHub lists ``login`` as the comment's author, ignoring case as GitHub does for logins."""
    author = _author(comment)
    return bool(author) and author.casefold() == login.casefold()


def _author(comment: dict[str, Any]) -> str:
    # A deleted account's comments may come back with "user": null.
    user = comment.get("user")
    login = user.get("login") if isinstance(user, dict) else None
    return login if isinstance(login, str) else ""


def _log_foreign_marker(comment: dict[str, Any], target: PullRequestTarget, marker: str) -> None:
    logger.warning(
        "Ignoring comment %s on %s: it carries the reviewer's %s marker but was written by %s, not this bot.",
        comment.get("id"), target.label, marker, _author(comment) or "an unknown account",
    )


def _reason_to_skip(client: GitHubClient, target: PullRequestTarget, head_sha: str) -> str:
    """Return why posting would be wrong now (PR closed, head moved), or an empty string."""
    pull = client.get(target.pull_path)
    if pull.get("state") != "open":
        return f"PR #{target.number} is {'merged' if pull.get('merged') else 'closed'}"

    current_head = str((pull.get("head") or {}).get("sha") or "")
    if current_head != head_sha:
        return f"head moved from {head_sha[:7]} to {current_head[:7]}"
    return ""


def _post_inline(client: GitHubClient, target: PullRequestTarget, plan: ReviewPlan) -> InlineResult:
    if not plan.inline:
        return InlineResult()

    try:
        review = client.post(f"{target.pull_path}/reviews", plan.review_payload())
    except ValidationFailed as error:
        # GitHub's 422 on a review does not say which comment it rejected, so post them one at a
        # time and move only the ones it rejects again into the summary: no finding is lost.
        logger.warning(
            "GitHub rejected the review on %s (%s); posting its %d comments one at a time.",
            target.label, error, len(plan.inline),
        )
        return _post_one_at_a_time(client, target, plan)

    return InlineResult(url=str(review.get("html_url") or ""), posted=len(plan.inline))


def _post_one_at_a_time(client: GitHubClient, target: PullRequestTarget, plan: ReviewPlan) -> InlineResult:
    result = InlineResult()
    rejected: list[PlannedComment] = []
    for comment in plan.inline:
        try:
            created = client.post(f"{target.pull_path}/comments", comment.single_payload(plan.head_sha))
        except ValidationFailed as error:
            logger.warning(
                "GitHub rejected the comment on %s:%d of %s (%s); moving it to the summary.",
                comment.anchor.path, comment.anchor.line, target.label, error,
            )
            rejected.append(comment)
            continue
        result.posted += 1
        result.url = result.url or str(created.get("html_url") or "")

    result.rejected = tuple(rejected)
    return result


def _upsert_summary(client: GitHubClient, target: PullRequestTarget, body: str, comment_id: int | None) -> str:
    """Update the earlier summary comment, or create one, so a PR carries one summary however often it is pushed."""
    if comment_id is None:
        created = client.post(f"{target.issue_path}/comments", {"body": body})
        logger.info("Created the summary comment on %s.", target.label)
        return str(created.get("html_url") or "")

    updated = client.patch(f"/repos/{target.repository}/issues/comments/{comment_id}", {"body": body})
    logger.info("Updated the summary comment %d on %s.", comment_id, target.label)
    return str(updated.get("html_url") or "")
