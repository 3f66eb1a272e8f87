"""An HTTP server on 127.0.0.1 that speaks enough of the Kubernetes API for kopf, the kubernetes client and kubectl.

Run it for the sandbox with ``python -m kubesim.apiserver --port 8001 --crds crds/``; tests use
``kubesim.testing.running_apiserver`` instead. It serves plain HTTP without authentication: any bearer
token is accepted and only recorded in the request log.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import logging
import signal
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from . import discovery, openapi
from .crds import CRD_API_VERSION, load_crd_documents
from .errors import ApiError
from .handlers import ResourceHandlers
from .hooks import Faults, RequestLog, RequestRecord
from .kubeconfig import write_kubeconfig
from .responses import error_response, json_response, status_for_code
from .routing import Target, resolve, split_group_version
from .store import Store

logger = logging.getLogger(__name__)

_HEALTH_PATHS = ("/healthz", "/livez", "/readyz")


def load_crds(store: Store, folder: Path) -> list[str]:
    """Create every CRD found in the folder's YAML files; return their names."""
    crds = store.registry.get("apiextensions.k8s.io", "customresourcedefinitions")
    assert crds is not None  # a built-in kind
    names = []
    for document in load_crd_documents(folder):
        if document.get("apiVersion") != CRD_API_VERSION:
            raise ValueError(
                f"CRD {document.get('metadata', {}).get('name')!r} in {folder} uses {document.get('apiVersion')}: "
                f"only {CRD_API_VERSION} is supported"
            )
        names.append(store.create(crds, "", document)["metadata"]["name"])
    return names


def _credentials(request: web.Request) -> tuple[str | None, str | None]:
    authorization = request.headers.get("Authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip(), None
    if scheme.lower() == "basic" and value:
        try:
            return None, base64.b64decode(value).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            return None, None
    return None, None


class ApiServer:
    """The emulated API server: a store, a request log and fault rules behind an aiohttp application."""

    def __init__(
        self,
        store: Store | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        bookmark_interval: float = 30.0,
    ) -> None:
        self.store = store or Store()
        self.request_log = RequestLog()
        self.faults = Faults()
        self.host = host
        self.port = port
        self._handlers = ResourceHandlers(self.store, bookmark_interval)
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._handle)
        # Watches are closed by stop(), so a short shutdown timeout only cuts requests that are stuck.
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=2.0, access_log=None)
        await self._runner.setup()
        await self._listen()
        logger.info("The kubesim API server is listening on %s.", self.url)

    async def _listen(self) -> None:
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await self._site.start()
        sockets = getattr(self._site._server, "sockets", None)
        if self.port == 0 and sockets:
            self.port = sockets[0].getsockname()[1]

    async def refuse_connections(self) -> None:
        """Stop listening, so that clients get "connection refused" until ``accept_connections``."""
        if self._site is not None:
            await self._site.stop()
            self._site = None
            logger.info("The kubesim API server stopped accepting connections on %s.", self.url)

    async def accept_connections(self) -> None:
        if self._site is None:
            await self._listen()
            logger.info("The kubesim API server accepts connections on %s again.", self.url)

    async def stop(self) -> None:
        self.store.close_all_watches()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._site = None
        logger.info("The kubesim API server on %s has stopped.", self.url)

    # -- requests ------------------------------------------------------------------------------------------

    def _record(self, request: web.Request, target: Target | None, status: int) -> None:
        token, user = _credentials(request)
        parsed = split_group_version(request.path)
        self.request_log.append(RequestRecord(
            method=request.method,
            path=request.path,
            query=request.query_string,
            verb=target.verb if target else "",
            group=target.resource.group if target else (parsed[0] if parsed else ""),
            version=target.version if target else (parsed[1] if parsed else ""),
            resource=target.resource.plural if target else "",
            subresource=target.subresource if target else "",
            namespace=target.namespace if target else None,
            name=target.name if target else "",
            token=token,
            user=user,
            user_agent=request.headers.get("User-Agent", ""),
            status=status,
        ))

    def _target(self, request: web.Request) -> Target | None:
        if split_group_version(request.path) is None:
            return None
        watch = request.query.get("watch", "").lower() in ("true", "1")
        try:
            return resolve(self.store.registry, request.method, request.path, watch)
        except ApiError:
            return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        target = self._target(request)
        recorded = False

        def record_stream_start(status: int) -> None:
            nonlocal recorded
            recorded = True
            self._record(request, target, status)

        outcome = self.faults.outcome(request.method, request.path)
        if outcome.delay:
            await asyncio.sleep(outcome.delay)
        if outcome.status is not None:
            response: web.StreamResponse = error_response(status_for_code(outcome.status))
        else:
            response = await self._respond(request, target, record_stream_start)
        if not recorded:
            self._record(request, target, response.status)
        logger.debug("%s %s?%s answered %d.", request.method, request.path, request.query_string, response.status)
        return response

    async def _respond(
        self, request: web.Request, target: Target | None, on_stream_start: Callable[[int], None]
    ) -> web.StreamResponse:
        try:
            if target is not None:
                return await self._handlers.serve(request, target, on_stream_start)
            return self._serve_non_resource(request)
        except ApiError as error:
            return error_response(error)
        except Exception as error:
            logger.exception("%s %s failed inside kubesim.", request.method, request.path)
            return error_response(ApiError(500, "InternalError", f"kubesim failed to serve the request: {error}"))

    def _serve_non_resource(self, request: web.Request) -> web.Response:
        path = request.path.rstrip("/") or "/"
        registry = self.store.registry
        if path in _HEALTH_PATHS:
            return web.Response(text="ok")
        if path == "/version":
            return json_response(discovery.version_info())
        if path == "/api":
            return json_response(discovery.core_versions(f"{self.host}:{self.port}"))
        if path == "/apis":
            return json_response(discovery.group_list(registry))
        if path.startswith("/openapi/"):
            return openapi.serve(registry, path, request.query)

        segments = path.strip("/").split("/")
        document = None
        if len(segments) == 2 and segments[0] == "apis":
            document = discovery.group(registry, segments[1])
        parsed = split_group_version(path)
        if parsed is not None and not parsed[2]:
            document = discovery.resource_list(registry, parsed[0], parsed[1])
        if request.method == "GET" and document is not None:
            return json_response(document)
        if parsed is not None:
            # A resource path that did not resolve: let the resolver raise the precise 404 or 405.
            watch = request.query.get("watch", "").lower() in ("true", "1")
            resolve(registry, request.method, path, watch)
        raise ApiError(404, "NotFound", f"the server could not find the requested resource (path {path})")


async def _serve_until_signalled(server: ApiServer, kubeconfig: Path | None, token: str | None) -> None:
    await server.start()
    if kubeconfig is not None:
        write_kubeconfig(kubeconfig, server.url, token)
        logger.info("Wrote a kubeconfig for %s to %s.", server.url, kubeconfig)

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stopping.set)
    await stopping.wait()
    await server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the kubesim Kubernetes API emulator.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8001, help="TCP port to listen on; 0 picks a free one")
    parser.add_argument(
        "--crds", type=Path, action="append", default=[], help="folder of CRD YAML files to serve (repeatable)"
    )
    parser.add_argument("--kubeconfig", type=Path, help="write a kubeconfig for this server to this path")
    parser.add_argument("--token", help="bearer token to put in the written kubeconfig")
    parser.add_argument("--log-level", default="INFO", help="logging level (default: INFO)")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=arguments.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    server = ApiServer(host=arguments.host, port=arguments.port)
    for folder in arguments.crds:
        names = load_crds(server.store, folder)
        logger.info("Loaded %d CRDs from %s: %s.", len(names), folder, ", ".join(names) or "none")
    asyncio.run(_serve_until_signalled(server, arguments.kubeconfig, arguments.token))


if __name__ == "__main__":
    main()
