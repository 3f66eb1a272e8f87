"""Handlers for the verbs on resources: get, list, watch, create, update, patch, delete, deletecollection."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from .errors import ApiError, bad_request
from .patching import APPLY_PATCH
from .responses import json_response, read_json, read_object
from .routing import Target
from .selectors import Requirement, parse_field_selector, parse_label_selector
from .store import Store
from .tables import build_table, wants_table
from .watching import Watch, WatchEvent

_TRUE = ("true", "1")


def _render(target: Target, obj: dict[str, Any]) -> dict[str, Any]:
    obj["apiVersion"] = target.resource.api_version(target.version)
    return obj


def _selectors(request: web.Request, target: Target) -> tuple[list[Requirement], list[Requirement]]:
    labels = parse_label_selector(request.query.get("labelSelector", ""))
    fields = parse_field_selector(request.query.get("fieldSelector", ""), target.resource.field_selectors)
    return labels, fields


def _is_strict(request: web.Request) -> bool:
    return request.query.get("fieldValidation", "") == "Strict"


def _reject_dry_run(request: web.Request) -> None:
    # NOTE: dry runs are rejected instead of emulated, so that no client believes a dry run persisted nothing.
    if request.query.get("dryRun"):
        raise bad_request("dryRun is not supported by kubesim")


class ResourceHandlers:
    """Serves the resource verbs from a store; ``on_stream_start`` records a watch when its stream opens."""

    def __init__(self, store: Store, bookmark_interval: float = 30.0) -> None:
        self.store = store
        self.bookmark_interval = bookmark_interval

    async def serve(
        self, request: web.Request, target: Target, on_stream_start: Callable[[int], None]
    ) -> web.StreamResponse:
        namespace = target.namespace or ""
        if target.verb == "get":
            return self._get(request, target, namespace)
        if target.verb == "list":
            return self._list(request, target)
        if target.verb == "watch":
            return await self._watch(request, target, on_stream_start)
        _reject_dry_run(request)
        if target.verb == "create":
            body = await read_object(request)
            created = self.store.create(target.resource, namespace, body, target.version, _is_strict(request))
            return json_response(_render(target, created), status=201)
        if target.verb == "update":
            body = await read_object(request)
            updated = self.store.update(
                target.resource, namespace, target.name, body, target.version, target.subresource, _is_strict(request)
            )
            return json_response(_render(target, updated))
        if target.verb == "patch":
            return await self._patch(request, target, namespace)
        if target.verb == "delete":
            return await self._delete(request, target, namespace)
        return await self._delete_collection(request, target)

    def _get(self, request: web.Request, target: Target, namespace: str) -> web.Response:
        if target.subresource == "log":
            return web.Response(text=self.store.pod_log(namespace, target.name), content_type="text/plain")
        obj = _render(target, self.store.get(target.resource, namespace, target.name))
        if wants_table(request.headers.get("Accept", "")):
            include = request.query.get("includeObject", "Metadata")
            table = build_table(target.resource, target.version, [obj], obj["metadata"]["resourceVersion"], include)
            return json_response(table)
        return json_response(obj)

    def _list(self, request: web.Request, target: Target) -> web.Response:
        labels, fields = _selectors(request, target)
        items, revision = self.store.list_objects(target.resource, target.namespace, labels, fields)
        items = [_render(target, item) for item in items]
        items, metadata = _paginate(request, items)
        metadata["resourceVersion"] = str(revision)
        if wants_table(request.headers.get("Accept", "")):
            include = request.query.get("includeObject", "Metadata")
            table = build_table(target.resource, target.version, items, str(revision), include)
            table["metadata"].update(metadata)
            return json_response(table)
        return json_response({
            "kind": f"{target.resource.kind}List",
            "apiVersion": target.resource.api_version(target.version),
            "metadata": metadata,
            "items": items,
        })

    async def _patch(self, request: web.Request, target: Target, namespace: str) -> web.Response:
        content_type = request.content_type
        if content_type == APPLY_PATCH:
            patch: Any = None
        else:
            patch = await read_json(request)
        patched = self.store.patch(
            target.resource, namespace, target.name, patch, content_type, target.version, target.subresource,
            _is_strict(request),
        )
        return json_response(_render(target, patched))

    async def _delete_options(self, request: web.Request) -> dict[str, Any]:
        options = await read_json(request) or {}
        if not isinstance(options, dict):
            raise bad_request("the DeleteOptions body must be a JSON object")
        if "propagationPolicy" in request.query:
            options["propagationPolicy"] = request.query["propagationPolicy"]
        if options.get("orphanDependents") is True and "propagationPolicy" not in options:
            options["propagationPolicy"] = "Orphan"
        return options

    async def _delete(self, request: web.Request, target: Target, namespace: str) -> web.Response:
        options = await self._delete_options(request)
        deleted = self.store.delete(
            target.resource, namespace, target.name, options.get("propagationPolicy"), options.get("preconditions")
        )
        still_there = any(
            obj["metadata"]["uid"] == deleted["metadata"]["uid"]
            for obj in self.store.list_objects(target.resource, target.namespace)[0]
            if obj["metadata"]["name"] == target.name
        )
        # The real API answers 202 Accepted when the object waits for finalizers, 200 when it is gone.
        return json_response(_render(target, deleted), status=202 if still_there else 200)

    async def _delete_collection(self, request: web.Request, target: Target) -> web.Response:
        labels, fields = _selectors(request, target)
        options = await self._delete_options(request)
        deleted = self.store.delete_collection(
            target.resource, target.namespace, labels, fields, options.get("propagationPolicy")
        )
        return json_response({
            "kind": f"{target.resource.kind}List",
            "apiVersion": target.resource.api_version(target.version),
            "metadata": {"resourceVersion": str(self.store.revision)},
            "items": [_render(target, obj) for obj in deleted],
        })

    async def _watch(
        self, request: web.Request, target: Target, on_stream_start: Callable[[int], None]
    ) -> web.StreamResponse:
        labels, fields = _selectors(request, target)
        since = _watch_start(request.query.get("resourceVersion", ""))
        timeout = float(request.query["timeoutSeconds"]) if request.query.get("timeoutSeconds") else None
        bookmarks = request.query.get("allowWatchBookmarks", "").lower() in _TRUE

        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        try:
            watch, replay = self.store.open_watch(
                target.resource, target.namespace, labels, fields, since, asyncio.get_running_loop()
            )
        except ApiError as error:
            if error.code != 410:
                raise
            # An expired resourceVersion arrives as an ERROR event in a 200 stream, as from the real API.
            await response.prepare(request)
            on_stream_start(200)
            await _send(response, {"type": "ERROR", "object": error.to_status()})
            await response.write_eof()
            return response

        await response.prepare(request)
        on_stream_start(200)
        try:
            await self._stream(response, target, watch, replay, timeout, bookmarks)
        finally:
            self.store.close_watch(watch)
        with contextlib.suppress(ConnectionResetError):
            await response.write_eof()
        return response

    async def _stream(
        self,
        response: web.StreamResponse,
        target: Target,
        watch: Watch,
        replay: list[WatchEvent],
        timeout: float | None,
        bookmarks: bool,
    ) -> None:
        for replayed in replay:
            await _send_event(response, target, watch, replayed)

        deadline = None if timeout is None else time.monotonic() + timeout
        next_bookmark = time.monotonic() + self.bookmark_interval
        while True:
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                break
            wait = min(next_bookmark, deadline if deadline is not None else next_bookmark) - now
            try:
                event: WatchEvent | None = await asyncio.wait_for(watch.queue.get(), timeout=max(wait, 0.0))
            except TimeoutError:
                if bookmarks and time.monotonic() >= next_bookmark:
                    await _send(response, self._bookmark(target))
                next_bookmark = time.monotonic() + self.bookmark_interval
                continue
            if event is None:
                break
            await _send_event(response, target, watch, event)

        if bookmarks:
            await _send(response, self._bookmark(target))

    def _bookmark(self, target: Target) -> dict[str, Any]:
        bookmark = {
            "kind": target.resource.kind,
            "apiVersion": target.resource.api_version(target.version),
            "metadata": {"resourceVersion": str(self.store.revision)},
        }
        return {"type": "BOOKMARK", "object": bookmark}


def _watch_start(resource_version: str) -> int | None:
    if resource_version in ("", "0"):
        return None
    try:
        return int(resource_version)
    except ValueError as error:
        raise bad_request(f"invalid resourceVersion {resource_version!r}: expected an integer") from error


async def _send(response: web.StreamResponse, payload: dict[str, Any]) -> None:
    await response.write(json.dumps(payload).encode() + b"\n")


async def _send_event(response: web.StreamResponse, target: Target, watch: Watch, event: WatchEvent) -> None:
    translated = watch.translate(event)
    if translated is not None:
        event_type, obj = translated
        rendered = _render(target, json.loads(json.dumps(obj)))
        await _send(response, {"type": event_type, "object": rendered})


def _paginate(request: web.Request, items: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Apply ``limit`` and ``continue``; the token holds the last key returned.

    NOTE: later pages read the current state, not a snapshot at the first page's resourceVersion.
    """
    metadata: dict[str, Any] = {}
    token = request.query.get("continue", "")
    if token:
        try:
            after = json.loads(base64.urlsafe_b64decode(token.encode()))
        except ValueError as error:
            raise bad_request(f"invalid continue token {token!r}") from error
        items = [item for item in items if [item["metadata"].get("namespace", ""), item["metadata"]["name"]] > after]

    limit_text = request.query.get("limit", "")
    if not limit_text:
        return items, metadata
    try:
        limit = int(limit_text)
    except ValueError as error:
        raise bad_request(f"invalid limit {limit_text!r}: expected an integer") from error
    if limit <= 0 or len(items) <= limit:
        return items, metadata
    page = items[:limit]
    last = [page[-1]["metadata"].get("namespace", ""), page[-1]["metadata"]["name"]]
    metadata["continue"] = base64.urlsafe_b64encode(json.dumps(last).encode()).decode()
    metadata["remainingItemCount"] = len(items) - limit
    return page, metadata

