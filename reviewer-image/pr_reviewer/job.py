"""``pr-review-job``: the per-PR Job container's entrypoint.

Settings come from ``PR_REVIEW_*`` variables and secrets from Secret-backed variables. The
result goes to standard output as JSON and, as one line, to the termination-message file.
Exit codes: 0 success, 64 permanent failure (the Job's podFailurePolicy fails the Job at once),
75 transient failure and 1 internal error (both retried up to the Job's backoffLimit).
"""

from __future__ import annotations

import json
import logging
import os
import sys

from pr_reviewer import config, termination
from pr_reviewer.cli import configure_logging
from pr_reviewer.errors import ReviewError
from pr_reviewer.graph import ReviewResult, run_review

logger = logging.getLogger("pr_reviewer.job")


def main() -> int:
    configure_logging(os.environ.get("PR_REVIEW_LOG_LEVEL", "INFO"))
    path = os.environ.get("PR_REVIEW_TERMINATION_LOG", termination.DEFAULT_PATH)

    try:
        settings = config.settings_from_env()
    except ReviewError as error:
        logger.error("Invalid Job settings: %s", error)
        result = ReviewResult(report=None, outcome=None, plan=None, error=error)
        termination.write_termination_message(path, termination.result_document(result))
        return result.exit_code

    logger.info("Starting the review of %s at %s", settings.subject, settings.expected_head_sha[:12])
    result = run_review(settings)
    document = termination.result_document(result)
    termination.write_termination_message(path, document)
    print(json.dumps(result.report.to_json() if result.report else document, ensure_ascii=False))

    if result.error is None:
        logger.info("✓ Review of %s completed: %s", settings.subject, document["message"])
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
