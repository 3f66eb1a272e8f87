"""Failure classes and the process exit codes they map to.

The per-PR Job's ``podFailurePolicy`` fails the Job at once on ``EXIT_PERMANENT`` and lets
the Job controller retry every other non-zero exit, so the split here decides what is retried.
"""

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_PERMANENT = 64
EXIT_TRANSIENT = 75


class ReviewError(Exception):
    """Base class: ``str(error)`` is a one-line message that is safe to log and show."""

    exit_code = EXIT_UNEXPECTED


class PermanentError(ReviewError):
    """Retrying cannot help: bad input or configuration, a PR, repository or ref that does not exist."""

    exit_code = EXIT_PERMANENT


class TransientError(ReviewError):
    """Retrying later may help: network failure, rate limit, a 5xx from GitHub or the LLM endpoint."""

    exit_code = EXIT_TRANSIENT
