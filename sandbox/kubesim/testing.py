"""Run a kubesim API server in a background thread, for tests.

Example::

    from kubesim.testing import running_apiserver

    with running_apiserver(crd_dir=Path("crds")) as apiserver:
        config = apiserver.write_kubeconfig(tmp_path / "kubeconfig", token="operator-token")
        apiserver.inject_error(503, method="POST", path_prefix="/apis/batch/v1/", times=2)
        ...  # run clients with KUBECONFIG=config
        jobs = apiserver.store.objects("batch", "jobs", namespace="reviews")
        used = apiserver.request_log.rbac_verbs(token="operator-token")
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

from .apiserver import ApiServer, load_crds
from .hooks import FaultRule, Faults, RequestLog
from .kubeconfig import write_kubeconfig
from .store import Store

_STOP_TIMEOUT_SECONDS = 30.0
_START_TIMEOUT_SECONDS = 10.0


class RunningApiServer:
    """A started server and its event-loop thread; every method is safe to call from the test's thread."""

    def __init__(self, server: ApiServer, loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
        self._server = server
        self._loop = loop
        self._thread = thread

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def store(self) -> Store:
        """The live object store, for reading cluster state directly (e.g. counting active Jobs)."""
        return self._server.store

    @property
    def request_log(self) -> RequestLog:
        return self._server.request_log

    @property
    def faults(self) -> Faults:
        return self._server.faults

    def write_kubeconfig(self, path: Path, token: str | None = None, namespace: str = "default") -> Path:
        """Write a kubeconfig for this server; each client gets its own ``token`` to tell its requests apart."""
        return write_kubeconfig(path, self.url, token, namespace)

    def inject_error(
        self, status: int = 503, method: str | None = None, path_prefix: str = "/", times: int | None = 1
    ) -> FaultRule:
        return self._server.faults.inject_error(status, method, path_prefix, times)

    def inject_delay(
        self, seconds: float, method: str | None = None, path_prefix: str = "/", times: int | None = None
    ) -> FaultRule:
        return self._server.faults.inject_delay(seconds, method, path_prefix, times)

    def clear_faults(self) -> None:
        self._server.faults.clear()

    def _call(self, coroutine: Coroutine[Any, Any, None], timeout: float = _START_TIMEOUT_SECONDS) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=timeout)

    def refuse_connections(self) -> None:
        """Stop listening: clients get "connection refused" until ``accept_connections``."""
        self._call(self._server.refuse_connections())

    def accept_connections(self) -> None:
        self._call(self._server.accept_connections())

    def stop(self) -> None:
        """Close every watch, stop the server and its thread; calling it again does nothing."""
        if not self._thread.is_alive():
            return
        # After heavy load aiohttp may still be finishing requests in flight; that must not fail the caller.
        with contextlib.suppress(RuntimeError, TimeoutError):
            self._call(self._server.stop(), timeout=_STOP_TIMEOUT_SECONDS)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=_START_TIMEOUT_SECONDS)


def start_apiserver(
    crd_dir: Path | None = None, port: int = 0, bookmark_interval: float = 30.0, history_limit: int = 10000
) -> RunningApiServer:
    """Start a server in a new thread with its own event loop; the caller must ``stop()`` it.

    ``history_limit`` is how many events watches can replay; older resourceVersions get 410 Expired.
    """
    server = ApiServer(Store(history_limit=history_limit), port=port, bookmark_interval=bookmark_interval)
    if crd_dir is not None:
        load_crds(server.store, Path(crd_dir))
    loop = asyncio.new_event_loop()
    started = threading.Event()
    failures: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.start())
        except BaseException as error:  # re-raised in the starting thread below
            failures.append(error)
            started.set()
            loop.close()
            return
        started.set()
        loop.run_forever()
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

    thread = threading.Thread(target=run, name=f"kubesim-apiserver-{port}", daemon=True)
    thread.start()
    if not started.wait(_START_TIMEOUT_SECONDS):
        raise TimeoutError(f"the kubesim API server did not start within {_START_TIMEOUT_SECONDS} seconds")
    if failures:
        raise failures[0]
    return RunningApiServer(server, loop, thread)


@contextlib.contextmanager
def running_apiserver(
    crd_dir: Path | None = None, port: int = 0, bookmark_interval: float = 30.0, history_limit: int = 10000
) -> Iterator[RunningApiServer]:
    """Run a server for the duration of the ``with`` block; ``port=0`` picks a free port."""
    running = start_apiserver(crd_dir, port, bookmark_interval, history_limit)
    try:
        yield running
    finally:
        running.stop()
