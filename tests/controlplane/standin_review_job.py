"""A stand-in for ``pr-review-job`` in control-plane tests: sleeps, records its run, writes a termination message.

Behaviour comes from the Job's environment (the reviewer ConfigMap):

- ``STANDIN_SECONDS``: seconds to sleep;
- ``STANDIN_SLOW_HEADS`` and ``STANDIN_SLOW_SECONDS``: head SHAs whose review sleeps longer;
- ``STANDIN_RECORD``: ``host:<path>`` of a file to append ``start``/``end`` lines to (the prefix keeps
  the runner from mapping a /tmp path into the pod's own /tmp);
- ``STANDIN_EXIT_CODE``: the exit code.
"""

import json
import os
import sys
import time


def record(event: str) -> None:
    path = os.environ.get("STANDIN_RECORD", "").removeprefix("host:")
    if path:
        subject = f"{os.environ['PR_REVIEW_REPOSITORY']}#{os.environ['PR_REVIEW_PR_NUMBER']}"
        line = f"{event} {subject} {os.environ['PR_REVIEW_HEAD_SHA']} {os.getpid()}\n"
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(line)


def main() -> int:
    record("start")
    slow = os.environ.get("STANDIN_SLOW_HEADS", "").split(",")
    seconds = os.environ.get("STANDIN_SLOW_SECONDS" if os.environ["PR_REVIEW_HEAD_SHA"] in slow else "STANDIN_SECONDS")
    time.sleep(float(seconds or 0))

    exit_code = int(os.environ.get("STANDIN_EXIT_CODE", "0"))
    result = {
        "phase": "Succeeded" if exit_code == 0 else "Failed",
        "partial": False,
        "findings": {"critical": 0, "high": 1, "medium": 0, "low": 0, "info": 0},
        "total": 1,
        "reviewUrl": "",
        "message": f"stand-in reviewed {os.environ['PR_REVIEW_HEAD_SHA'][:7]}",
        "exitCode": exit_code,
    }
    with open(os.environ["PR_REVIEW_TERMINATION_LOG"], "w", encoding="utf-8") as handle:
        handle.write(json.dumps(result))
    record("end")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
