"""Allowed changes of ``status.phase`` and the Event reason that announces each one.

A resource starts without a phase. ``Running`` may go back to ``Queued`` once, when its Job vanished
(see :mod:`pr_operator.reconcile`). ``Queued`` may go straight to ``Succeeded`` or ``Failed`` when the
operator finds a finished Job for a resource it never marked ``Running``: the operator was killed between
creating the Job and recording it. Final phases never change.
"""

from __future__ import annotations

from prreview_api import Phase

_ALLOWED: dict[str | None, frozenset[str]] = {
    None: frozenset({Phase.QUEUED, Phase.SUPERSEDED, Phase.CANCELLED}),
    Phase.QUEUED: frozenset({Phase.RUNNING, Phase.SUCCEEDED, Phase.FAILED, Phase.SUPERSEDED, Phase.CANCELLED}),
    Phase.RUNNING: frozenset({Phase.QUEUED, Phase.SUCCEEDED, Phase.FAILED, Phase.SUPERSEDED, Phase.CANCELLED}),
}

# Fixed Event reasons, one per kind of transition or notice.
class Reason:
    QUEUED = "Queued"
    ADMITTED = "Admitted"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    SUPERSEDED = "Superseded"
    CANCELLED = "Cancelled"
    JOB_MISSING = "JobMissing"
    UNSCHEDULABLE = "Unschedulable"


class TransitionError(ValueError):
    """A phase change that the state machine does not allow."""


def is_final(phase: str | None) -> bool:
    return phase in Phase.FINAL


def can_transition(current: str | None, target: str) -> bool:
    return target in _ALLOWED.get(current, frozenset())


def check_transition(current: str | None, target: str) -> None:
    """Raise :class:`TransitionError` unless ``current`` may change to ``target``."""
    if not can_transition(current, target):
        raise TransitionError(f"phase {current or '<none>'} cannot change to {target}")
