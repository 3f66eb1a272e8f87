"""A small asyncio client for the Kubernetes REST API, working on plain JSON dictionaries.

The official client's loaders read the kubeconfig or the in-cluster service account and refresh
rotating tokens. Requests go through aiohttp, so they never block the operator's event loop.
"""

from __future__ import annotations

import asyncio
import builtins
import json
import logging
import ssl
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

logger = logging.getLogger(__name__)

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"

# Failures to reach the API server at all, as opposed to an error status from it.
TRANSPORT_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, OSError)


class ApiError(Exception):
    """The API server returned an error status."""

    def __init__(self, status: int, method: str, path: str, message: str) -> None:
        super().__init__(f"{method} {path} failed with HTTP {status}: {message}")
        self.status = status


class NotFound(ApiError):
    pass


class Conflict(ApiError):
    """409: the object already exists, or a write lost a race with another writer."""


class Gone(ApiError):
    """410: a watch's resourceVersion is too old; list again."""


def load_configuration(kubeconfig: str | None = None) -> k8s_client.Configuration:
    """Load the connection settings from ``kubeconfig``, ``$KUBECONFIG`` or ``~/.kube/config``, else in-cluster."""
    configuration = k8s_client.Configuration()
    try:
        k8s_config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    except k8s_config.ConfigException:
        if kubeconfig:
            raise
        k8s_config.load_incluster_config(client_configuration=configuration)
    return configuration


class KubeClient:
    def __init__(self, configuration: k8s_client.Configuration, request_timeout: float = 30.0) -> None:
        self._configuration = configuration
        self._base = configuration.host.rstrip("/")
        self._timeout = request_timeout
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_kubeconfig(cls, kubeconfig: str | None = None, request_timeout: float = 30.0) -> KubeClient:
        return cls(load_configuration(kubeconfig), request_timeout)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> KubeClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def get(self, path: str) -> dict[str, Any]:
        return await self.request("GET", path)

    async def list(self, path: str, label_selector: str = "") -> builtins.list[dict[str, Any]]:
        items, _ = await self.list_with_version(path, label_selector)
        return items

    async def list_with_version(
        self, path: str, label_selector: str = ""
    ) -> tuple[builtins.list[dict[str, Any]], str]:
        """Return the items and the list's resourceVersion, from which a watch continues."""
        params = {"labelSelector": label_selector} if label_selector else None
        answer = await self.request("GET", path, params=params)
        return builtins.list(answer.get("items") or []), str((answer.get("metadata") or {}).get("resourceVersion", ""))

    async def create(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return await self.request("POST", path, body=body)

    async def merge_patch(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return await self.request("PATCH", path, body=body, content_type=MERGE_PATCH)

    async def delete(self, path: str, propagation: str = "Background") -> dict[str, Any]:
        body = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": propagation}
        return await self.request("DELETE", path, body=body)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        session = self._open_session()
        headers = {**self._auth_headers(), "Content-Type": content_type, "Accept": "application/json"}
        data = json.dumps(body) if body is not None else None
        timeout = aiohttp.ClientTimeout(total=self._timeout)

        async with session.request(
            method, self._base + path, params=params, data=data, headers=headers, timeout=timeout
        ) as response:
            text = await response.text()
            if response.status >= 400:
                raise _api_error(response.status, method, path, text)
            return json.loads(text) if text else {}

    async def watch(
        self, path: str, resource_version: str, label_selector: str = "", timeout_seconds: int = 60
    ) -> AsyncIterator[dict[str, Any]]:
        """Yield watch events (``{"type": ..., "object": ...}``) until the server ends the stream.

        Raises :class:`Gone` when ``resource_version`` is too old, so the caller lists again.
        """
        session = self._open_session()
        params = {
            "watch": "true",
            "resourceVersion": resource_version,
            "timeoutSeconds": str(timeout_seconds),
            "allowWatchBookmarks": "true",
        }
        if label_selector:
            params["labelSelector"] = label_selector
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self._timeout, sock_read=timeout_seconds + 15)

        async with session.get(
            self._base + path, params=params, headers=self._auth_headers(), timeout=timeout
        ) as response:
            if response.status >= 400:
                raise _api_error(response.status, "WATCH", path, await response.text())

            async for raw_line in response.content:
                line = raw_line.strip()
                if not line:
                    continue
                event = json.loads(line)
                if event.get("type") == "ERROR":
                    status = event.get("object", {})
                    raise _api_error(int(status.get("code", 500)), "WATCH", path, status.get("message", ""))
                yield event

    def _open_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(ssl=self._ssl_context(), limit=20)
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    def _auth_headers(self) -> dict[str, str]:
        # get_api_key_with_prefix runs the refresh hook that the in-cluster loader installs for rotating tokens.
        token = self._configuration.get_api_key_with_prefix("BearerToken", alias="authorization")
        return {"Authorization": token} if token else {}

    def _ssl_context(self) -> ssl.SSLContext | bool:
        configuration = self._configuration
        if not configuration.host.startswith("https"):
            return False
        if not configuration.verify_ssl:
            return False

        context = ssl.create_default_context(cafile=configuration.ssl_ca_cert)
        if configuration.cert_file:
            context.load_cert_chain(configuration.cert_file, configuration.key_file)
        return context


def _api_error(status: int, method: str, path: str, text: str) -> ApiError:
    try:
        message = str(json.loads(text).get("message", text))
    except (json.JSONDecodeError, AttributeError):
        message = text
    message = message[:300]

    if status == 404:
        return NotFound(status, method, path, message)
    if status == 409:
        return Conflict(status, method, path, message)
    if status == 410:
        return Gone(status, method, path, message)
    return ApiError(status, method, path, message)
