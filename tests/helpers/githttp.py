"""A smart-HTTP git server on 127.0.0.1 for tests: ``git http-backend`` behind a small CGI bridge.

It serves the bare repositories under ``root`` (``http://127.0.0.1:<port>/<name>.git``), can require
HTTP Basic credentials, and records every request so tests can check what git sent and where.

    with GitHttpServer(tmp_path / "served", credentials=("x-access-token", "s3cret")) as server:
        url = server.url("o/r.git")
"""

from __future__ import annotations

import base64
import os
import subprocess
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # request target as sent: path and query string
    authorization: str | None


class GitHttpServer:
    """Serve bare repositories over git's smart HTTP protocol until closed."""

    def __init__(
        self,
        root: Path,
        *,
        credentials: tuple[str, str] | None = None,
        failing_paths: dict[str, int] | None = None,
    ) -> None:
        """``failing_paths`` maps a path prefix such as ``/broken/`` to the HTTP status served for it."""
        self.root = root
        self.credentials = credentials
        self.failing_paths = failing_paths or {}
        self.requests: list[RecordedRequest] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        # A short poll interval makes shutdown() return quickly at the end of each test.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="git-http", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url(self, repository: str) -> str:
        return f"http://127.0.0.1:{self.port}/{repository}"

    def expected_authorization(self) -> str | None:
        if self.credentials is None:
            return None
        user, password = self.credentials
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")

    def __enter__(self) -> GitHttpServer:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def _handler_for(server: GitHttpServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _serve(self) -> None:
            authorization = self.headers.get("Authorization")
            server.requests.append(RecordedRequest(self.command, self.path, authorization))
            body = self._read_body()

            expected = server.expected_authorization()
            if expected is not None and authorization != expected:
                self._send(401, {"WWW-Authenticate": 'Basic realm="git"'}, b"authentication required\n")
                return
            for prefix, status in server.failing_paths.items():
                if self.path.startswith(prefix):
                    self._send(status, {}, b"failing on purpose\n")
                    return
            self._run_backend(body)

        def _read_body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().strip(), 16)
                    chunk = self.rfile.read(size)
                    self.rfile.readline()
                    if size == 0:
                        return b"".join(chunks)
                    chunks.append(chunk)
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _run_backend(self, body: bytes) -> None:
            path, _, query = self.path.partition("?")
            environment = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "GIT_PROJECT_ROOT": str(server.root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "GIT_CONFIG_NOSYSTEM": "1",
                "GIT_CONFIG_GLOBAL": os.devnull,
                "REQUEST_METHOD": self.command,
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
                "REMOTE_ADDR": "127.0.0.1",
            }
            result = subprocess.run(
                ["git", "http-backend"], input=body, env=environment, capture_output=True, check=False
            )
            head, _, payload = result.stdout.partition(b"\r\n\r\n")
            status, headers = 200, {}
            for line in head.decode("latin-1").split("\r\n"):
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.strip().split()[0])
                elif name:
                    headers[name] = value.strip()
            self._send(status, headers, payload)

        def _send(self, status: int, headers: dict[str, str], payload: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler
