"""``pr-review``: review the change between two refs and print it, or post it to a pull request."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from pr_reviewer import config, report
from pr_reviewer.errors import EXIT_PERMANENT, ReviewError
from pr_reviewer.graph import ReviewResult, run_review
from pr_reviewer.settings import ReviewSettings


def main(argv: Sequence[str] | None = None) -> int:
    parser = config.build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.log_level)

    try:
        settings = config.settings_from_args(args)
    except ReviewError as error:
        print(f"pr-review: error: {error}", file=sys.stderr)
        return EXIT_PERMANENT

    result = run_review(settings)
    if result.error is not None:
        print(f"pr-review: error: {result.error}", file=sys.stderr)
        return result.exit_code
    if result.stale:
        print(f"pr-review: nothing reviewed: {result.stale}", file=sys.stderr)
        return result.exit_code

    print(render_output(settings, result))
    return result.exit_code


def render_output(settings: ReviewSettings, result: ReviewResult) -> str:
    assert result.report is not None, "a review without an error has a report"
    if settings.output_format == "json":
        document: dict[str, Any] = result.report.to_json()
        document["timings"] = {name: round(seconds, 3) for name, seconds in result.timings.items()}
        if result.plan is not None:
            document["dry_run"] = result.plan
        if result.outcome is not None:
            document["published"] = vars(result.outcome)
        return json.dumps(document, ensure_ascii=False, indent=2)

    text = report.render_markdown(result.report)
    if result.plan is not None:
        text += "\n### Dry run: what would be posted\n\n```json\n" + json.dumps(
            result.plan, ensure_ascii=False, indent=2
        ) + "\n```\n"
    return text


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        stream=sys.stderr,
        format="%(asctime)s [%(levelname)s] %(name)s: %(message)s",
    )


if __name__ == "__main__":
    sys.exit(main())
