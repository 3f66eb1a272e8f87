"""Publishing the review to GitHub or GitHub Enterprise: credentials, the REST client, planning and posting.

The reviewer calls about ten GitHub REST endpoints, so a thin client over httpx covers them
without a wider SDK. It needs exact control of three behaviours: the wait-and-retry on 403/429
rate limits, the fallback to one comment at a time when GitHub rejects a review with 422, and an
installation token scoped to one repository with named permissions. Keeping that logic in a few
small modules of our own makes each rule explicit and testable against a local fake GitHub server.

Modules: :mod:`.auth` (token or App installation token), :mod:`.client` (HTTP, retries, errors),
:mod:`.plan` (what to post, no I/O, used by ``--dry-run``) and :mod:`.publish` (posting the plan).
"""

from pr_reviewer.github.auth import resolve_token
from pr_reviewer.github.client import GitHubClient, RetryPolicy
from pr_reviewer.github.plan import InlineComment, ReviewDraft, ReviewPlan, build_plan
from pr_reviewer.github.publish import PublishOutcome, plan_review, publish_review

__all__ = [
    "GitHubClient",
    "InlineComment",
    "PublishOutcome",
    "RetryPolicy",
    "ReviewDraft",
    "ReviewPlan",
    "build_plan",
    "plan_review",
    "publish_review",
    "resolve_token",
]
