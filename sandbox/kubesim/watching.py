"""Watch streams: the events a store publishes, filtered and translated for one watch request."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

from .resources import ResourceType
from .selectors import Requirement, fields_match, labels_match


@dataclass(frozen=True)
class WatchEvent:
    """A change to one object at one resourceVersion; ``previous`` is the stored state before a MODIFIED."""

    revision: int
    type: str
    resource_key: tuple[str, str]
    obj: dict[str, Any]
    previous: dict[str, Any] | None = None


class Watch:
    """One open watch: a queue of events for one resource, optionally limited to a namespace and selectors.

    The store calls ``offer`` from whatever thread changed an object; events reach the queue on the
    watch's own event loop. ``None`` in the queue means the server closed the watch.
    """

    def __init__(
        self,
        resource: ResourceType,
        namespace: str | None,
        labels: list[Requirement],
        fields: list[Requirement],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.resource = resource
        self.namespace = namespace
        self.labels = labels
        self.fields = fields
        self.loop = loop
        self.queue: asyncio.Queue[WatchEvent | None] = asyncio.Queue()

    def _deliver(self, event: WatchEvent | None) -> None:
        # The loop may already be closed when the server shuts down; the watch is gone then anyway.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self.queue.put_nowait, event)

    def offer(self, event: WatchEvent) -> None:
        if event.resource_key == self.resource.key:
            self._deliver(event)

    def close(self) -> None:
        self._deliver(None)

    def _selects(self, obj: dict[str, Any] | None) -> bool:
        if obj is None:
            return False
        if self.namespace is not None and obj["metadata"].get("namespace") != self.namespace:
            return False
        return labels_match(obj, self.labels) and fields_match(obj, self.fields)

    def translate(self, event: WatchEvent) -> tuple[str, dict[str, Any]] | None:
        """Return the event as this watch's client sees it, or None when it is filtered out.

        An object that starts or stops matching the selectors arrives as ADDED or DELETED, as the real API does.
        """
        selected_now = self._selects(event.obj)
        if event.type != "MODIFIED":
            return (event.type, event.obj) if selected_now else None
        selected_before = self._selects(event.previous)
        if selected_now and selected_before:
            return ("MODIFIED", event.obj)
        if selected_now:
            return ("ADDED", event.obj)
        if selected_before:
            return ("DELETED", event.obj)
        return None
