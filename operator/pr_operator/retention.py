"""Select finished reviews whose retention period is over."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from pr_operator.admission import parse_timestamp
from pr_operator.phases import is_final


def expired_reviews(resources: Iterable[dict[str, Any]], now: datetime, retention_seconds: int) -> list[str]:
    """Return the names of final resources that finished more than ``retention_seconds`` before ``now``.

    A final resource without ``completedAt`` (a review cancelled by the receiver before it ran) ages
    from its creation time.
    """
    cutoff = now - timedelta(seconds=retention_seconds)
    expired = []
    for resource in resources:
        status = resource.get("status") or {}
        if not is_final(status.get("phase")):
            continue
        finished_at = status.get("completedAt") or resource["metadata"].get("creationTimestamp", "")
        if parse_timestamp(finished_at) < cutoff:
            expired.append(resource["metadata"]["name"])
    return expired
