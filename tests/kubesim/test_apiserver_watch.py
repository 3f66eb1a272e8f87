"""Watches: replay from a resourceVersion, selector transitions, bookmarks, expiry and shutdown."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlparse

import kubernetes
from kubernetes import watch

from kubesim.testing import RunningApiServer, running_apiserver, start_apiserver


class RawWatch:
    """A watch read line by line over HTTP, so a test can stop at any event without waiting for a timeout."""

    def __init__(self, url: str, path: str) -> None:
        parsed = urlparse(url)
        self.connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=5)
        self.connection.request("GET", path)
        self.response = self.connection.getresponse()

    def events(self) -> Iterator[dict[str, object]]:
        while line := self.response.readline():
            yield json.loads(line)

    def take(self, count: int) -> list[tuple[str, str]]:
        taken = []
        for event in self.events():
            taken.append((event["type"], event["object"]["metadata"].get("name", "")))
            if len(taken) == count:
                break
        return taken

    def close(self) -> None:
        self.connection.close()


def test_watch_replays_exactly_events_after_version(core: kubernetes.client.CoreV1Api, namespace: str) -> None:
    start = core.create_namespaced_config_map(namespace, {"metadata": {"name": "a"}}).metadata.resource_version
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "b"}})
    core.patch_namespaced_config_map("a", namespace, {"data": {"k": "v"}})
    core.delete_namespaced_config_map("b", namespace)

    events = [
        (event["type"], event["object"].metadata.name)
        for event in watch.Watch().stream(
            core.list_namespaced_config_map, namespace, resource_version=start, timeout_seconds=1
        )
    ]

    assert events == [("ADDED", "b"), ("MODIFIED", "a"), ("DELETED", "b")]


def test_watch_replay_skips_other_resources(core: kubernetes.client.CoreV1Api, namespace: str) -> None:
    start = core.create_namespaced_config_map(namespace, {"metadata": {"name": "first"}}).metadata.resource_version
    core.create_namespaced_secret(namespace, {"metadata": {"name": "not-a-config-map"}})
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "second"}})

    events = [
        (event["type"], event["object"].metadata.name)
        for event in watch.Watch().stream(
            core.list_namespaced_config_map, namespace, resource_version=start, timeout_seconds=1
        )
    ]

    assert events == [("ADDED", "second")]


def test_watch_resource_versions_increase(core: kubernetes.client.CoreV1Api, namespace: str) -> None:
    start = core.list_namespaced_config_map(namespace).metadata.resource_version
    for name in ("one", "two", "three"):
        core.create_namespaced_config_map(namespace, {"metadata": {"name": name}})

    versions = [
        int(event["object"].metadata.resource_version)
        for event in watch.Watch().stream(
            core.list_namespaced_config_map, namespace, resource_version=start, timeout_seconds=1
        )
    ]

    assert versions == sorted(versions)
    assert len(versions) == 3
    assert versions[0] > int(start)


def test_watch_without_version_starts_with_current_objects(
    apiserver: RunningApiServer, core: kubernetes.client.CoreV1Api, namespace: str
) -> None:
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "existing"}})
    stream = RawWatch(apiserver.url, f"/api/v1/namespaces/{namespace}/configmaps?watch=true")

    initial = stream.take(1)
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "live"}})
    live = stream.take(1)
    stream.close()

    assert initial == [("ADDED", "existing")]
    assert live == [("ADDED", "live")]


def test_watch_with_selector_reports_entering_and_leaving(
    apiserver: RunningApiServer, core: kubernetes.client.CoreV1Api, namespace: str
) -> None:
    start = core.create_namespaced_config_map(namespace, {"metadata": {"name": "mover"}}).metadata.resource_version
    path = f"/api/v1/namespaces/{namespace}/configmaps?watch=1&labelSelector=state%3Dactive&resourceVersion={start}"
    stream = RawWatch(apiserver.url, path)

    core.patch_namespaced_config_map("mover", namespace, {"metadata": {"labels": {"state": "active"}}})
    core.patch_namespaced_config_map("mover", namespace, {"data": {"touched": "yes"}})
    core.patch_namespaced_config_map("mover", namespace, {"metadata": {"labels": {"state": "done"}}})
    events = stream.take(3)
    stream.close()

    assert events == [("ADDED", "mover"), ("MODIFIED", "mover"), ("DELETED", "mover")]


def test_watch_of_one_namespace_skips_others(
    apiserver: RunningApiServer, core: kubernetes.client.CoreV1Api, namespace: str
) -> None:
    start = core.list_namespaced_config_map(namespace).metadata.resource_version
    stream = RawWatch(apiserver.url, f"/api/v1/namespaces/{namespace}/configmaps?watch=true&resourceVersion={start}")

    core.create_namespaced_config_map("default", {"metadata": {"name": f"elsewhere-{namespace}"}})
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "here"}})
    events = stream.take(1)
    stream.close()

    assert events == [("ADDED", "here")]


def test_watch_ends_with_bookmark_after_timeout(
    apiserver: RunningApiServer, core: kubernetes.client.CoreV1Api, namespace: str
) -> None:
    start = core.list_namespaced_config_map(namespace).metadata.resource_version
    path = (
        f"/api/v1/namespaces/{namespace}/configmaps?watch=true&resourceVersion={start}"
        "&allowWatchBookmarks=true&timeoutSeconds=1"
    )
    began = time.monotonic()

    events = list(RawWatch(apiserver.url, path).events())

    assert 0.9 <= time.monotonic() - began < 3
    assert [event["type"] for event in events] == ["BOOKMARK"]
    assert events[0]["object"]["metadata"]["resourceVersion"] == str(apiserver.store.revision)


def test_expired_version_is_error_event_410() -> None:
    with running_apiserver(history_limit=3) as small:
        cluster = kubernetes.client.ApiClient(kubernetes.client.Configuration(host=small.url))
        core = kubernetes.client.CoreV1Api(cluster)
        start = core.list_namespaced_config_map("default").metadata.resource_version
        for index in range(5):
            core.create_namespaced_config_map("default", {"metadata": {"name": f"churn-{index}"}})

        path = f"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={start}"
        events = list(RawWatch(small.url, path).events())

    assert len(events) == 1
    assert events[0]["type"] == "ERROR"
    assert events[0]["object"]["code"] == 410
    assert events[0]["object"]["reason"] == "Expired"


def test_invalid_resource_version_is_bad_request(apiserver: RunningApiServer) -> None:
    stream = RawWatch(apiserver.url, "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=abc")

    status = stream.response.status
    body = json.loads(stream.response.read())
    stream.close()

    assert status == 400
    assert body["reason"] == "BadRequest"


def test_server_stop_ends_open_watches() -> None:
    running = start_apiserver()
    stream = RawWatch(running.url, "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=1")
    finished = threading.Event()

    def drain() -> None:
        list(stream.events())
        finished.set()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    began = time.monotonic()
    running.stop()

    assert finished.wait(3)
    assert time.monotonic() - began < 3
    stream.close()


def test_legacy_watch_path_streams(
    apiserver: RunningApiServer, core: kubernetes.client.CoreV1Api, namespace: str
) -> None:
    start = core.list_namespaced_config_map(namespace).metadata.resource_version
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "legacy"}})
    stream = RawWatch(apiserver.url, f"/api/v1/watch/namespaces/{namespace}/configmaps?resourceVersion={start}")

    events = stream.take(1)
    stream.close()

    assert events == [("ADDED", "legacy")]
