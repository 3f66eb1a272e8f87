"""A tiny kopf operator against kubesim: its create handler must run and its status patch must land."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import kopf
import kubernetes
import pytest

from kubesim.testing import RunningApiServer

from .conftest import GROUP, PLURAL, VERSION, gadget

OPERATOR_TOKEN = "kopf-operator-token"
HANDLER_DEADLINE_SECONDS = 20.0


def _registry(apiserver: RunningApiServer) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        return kopf.ConnectionInfo(server=apiserver.url, token=OPERATOR_TOKEN, scheme="Bearer")

    @kopf.on.startup(registry=registry)
    def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.watching.server_timeout = 30
        settings.watching.client_timeout = 40
        settings.watching.reconnect_backoff = 0.2
        settings.networking.request_timeout = 10
        settings.scanning.disabled = True

    @kopf.on.create(GROUP, VERSION, PLURAL, registry=registry)
    def handle_creation(spec: kopf.Spec, patch: kopf.Patch, **_: Any) -> None:
        patch.status["phase"] = "Running"
        patch.status["message"] = f"handled {spec['repository']}#{spec['number']}"

    return registry


@pytest.fixture(scope="module")
def operator_namespace(apiserver: RunningApiServer, api_client: kubernetes.client.ApiClient) -> Iterator[str]:
    name = f"kopf-{uuid.uuid4().hex[:6]}"
    kubernetes.client.CoreV1Api(api_client).create_namespace({"metadata": {"name": name}})
    stop_flag = threading.Event()
    ready_flag = threading.Event()

    def run_operator() -> None:
        asyncio.run(kopf.operator(
            registry=_registry(apiserver), standalone=True, namespaces=[name],
            stop_flag=stop_flag, ready_flag=ready_flag,
        ))

    thread = threading.Thread(target=run_operator, name="kopf-operator", daemon=True)
    thread.start()
    assert ready_flag.wait(HANDLER_DEADLINE_SECONDS), "kopf did not become ready"
    yield name
    stop_flag.set()
    thread.join(timeout=HANDLER_DEADLINE_SECONDS)
    logging.getLogger("kopf").handlers.clear()


def _wait_for_phase(custom: kubernetes.client.CustomObjectsApi, namespace: str, name: str) -> dict[str, Any]:
    deadline = time.monotonic() + HANDLER_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        obj = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
        if obj.get("status", {}).get("phase"):
            return obj
        time.sleep(0.1)
    raise AssertionError(f"the kopf handler did not patch {namespace}/{name} within {HANDLER_DEADLINE_SECONDS}s")


def test_kopf_create_handler_patches_status(
    apiserver: RunningApiServer, custom: kubernetes.client.CustomObjectsApi, operator_namespace: str
) -> None:
    custom.create_namespaced_custom_object(GROUP, VERSION, operator_namespace, PLURAL, gadget("handled", number=42))

    handled = _wait_for_phase(custom, operator_namespace, "handled")

    assert handled["status"] == {"phase": "Running", "message": "handled octo/widgets#42"}
    assert handled["metadata"]["generation"] == 1


def test_kopf_used_status_subresource_and_watch(apiserver: RunningApiServer, operator_namespace: str) -> None:
    verbs = apiserver.request_log.rbac_verbs(token=OPERATOR_TOKEN)

    assert "patch" in verbs[(GROUP, f"{PLURAL}/status")]
    assert verbs[(GROUP, PLURAL)] == {"list", "watch", "patch"}

