"""Run the operator: ``python -m pr_operator``.

It watches one namespace (``REVIEW_NAMESPACE``) in kopf's standalone mode, without peering, so run
exactly one replica: the admission limit holds per operator process.
"""

from __future__ import annotations

import argparse
import logging
import sys

import kopf

from pr_operator.config import ConfigError, OperatorConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pr_operator",
        description="Admit PullRequestReview resources into reviewer Jobs, at most MAX_ACTIVE_REVIEWS at a time. "
        "Settings come from the environment (REVIEW_NAMESPACE, MAX_ACTIVE_REVIEWS, REVIEWER_IMAGE, ...).",
    )
    parser.add_argument("--verbose", action="store_true", help="log at DEBUG level, kopf's messages included")
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        # kopf logs every watch event and handler call at INFO; the reconciler's own lines say what happened.
        logging.getLogger("kopf").setLevel(logging.WARNING)

    try:
        config = OperatorConfig.from_env()
    except ConfigError as error:
        print(f"pr-operator: {error}", file=sys.stderr)
        return 2

    import pr_operator.handlers  # noqa: F401 - registers the kopf handlers

    kopf.run(
        standalone=True,
        clusterwide=False,
        namespaces=[config.namespace],
        liveness_endpoint=config.liveness_endpoint or None,
        memo=kopf.Memo(config=config),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
