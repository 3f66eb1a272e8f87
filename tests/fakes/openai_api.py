"""A fake OpenAI-compatible chat endpoint: a real HTTP server on 127.0.0.1, scripted per test.

Usage::

    with FakeOpenAI(api_key="sk-test") as fake:
        fake.enqueue(findings_reply([{"path": "a.py", "line": 3, ...}]), malformed_reply())
        settings.llm.base_url = fake.base_url
        ...
        assert fake.requests[0].model == "review-model"

``POST /v1/chat/completions`` returns the next scripted reply in the OpenAI response shape.
A reply is a :class:`ScriptedReply` or a function of the :class:`RecordedRequest` returning one,
so end-to-end tests can build the reply from the prompt's content. With the queue empty the server
sends ``default`` if given, otherwise HTTP 500 stating that the script ran out. When ``api_key`` is set, a
request without ``Authorization: Bearer <api_key>`` gets HTTP 401 whose message quotes the token
it was given, as real endpoints do in part, so tests can check the client never repeats it.
``GET /v1/models`` lists ``models``.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

CHAT_COMPLETIONS_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it. ``body`` is the parsed JSON, or ``{}`` when it was not JSON."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def model(self) -> str:
        return str(self.body.get("model", ""))

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    def message_text(self, role: str) -> str:
        """Join the contents of every message with this role, such as ``"user"``."""
        return "\n".join(str(message.get("content", "")) for message in self.messages if message.get("role") == role)

    @property
    def authorization(self) -> str:
        return self.headers.get("authorization", "")


@dataclass(frozen=True)
class ScriptedReply:
    """One scripted response: the assistant's ``content`` in a chat completion, or a raw ``body``.

    ``delay_seconds`` delays the response, to run a client into its timeout.
    """

    content: str | None = None
    status: int = 200
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0


Reply = ScriptedReply | Callable[[RecordedRequest], ScriptedReply]


def findings_reply(findings: Iterable[dict[str, Any]], *, delay_seconds: float = 0.0) -> ScriptedReply:
    """Build a reply whose assistant content is ``{"findings": [...]}``."""
    return ScriptedReply(content=json.dumps({"findings": list(findings)}), delay_seconds=delay_seconds)


def malformed_reply(content: str = '{"findings": [{"path": "a.py", "line": 1,') -> ScriptedReply:
    """Build a reply whose content is not valid JSON: by default a JSON object cut off midway."""
    return ScriptedReply(content=content)


def error_reply(status: int, message: str = "scripted error", **headers: str) -> ScriptedReply:
    """Build an HTTP error reply in the OpenAI error shape, sent with ``headers`` such as ``retry-after-ms``."""
    return ScriptedReply(status=status, body=_error_body(message, status), headers=dict(headers))


def delayed_reply(delay_seconds: float, findings: Iterable[dict[str, Any]] = ()) -> ScriptedReply:
    """Build a findings reply sent after ``delay_seconds``, for timeout tests."""
    return findings_reply(findings, delay_seconds=delay_seconds)


class FakeOpenAI:
    """The fake endpoint's server, used as a context manager.

    It is thread-safe, so clients may send concurrent requests.
    """

    def __init__(
        self,
        *,
        api_key: str = "",
        models: Iterable[str] = ("fake-model",),
        default: Reply | None = None,
    ) -> None:
        self.api_key = api_key
        self.models = tuple(models)
        self.default = default
        self._replies: deque[Reply] = deque()
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler, self)
        # A short poll interval keeps shutdown(), and so every test's teardown, quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-openai", daemon=True
        )

    @property
    def base_url(self) -> str:
        """The URL to give the client, ending in ``/v1`` as OpenAI's own base URL does."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of every request received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [request for request in self.requests if request.path == CHAT_COMPLETIONS_PATH]

    def enqueue(self, *replies: Reply) -> None:
        """Append replies to the queue. Each chat request takes the next one."""
        with self._lock:
            self._replies.extend(replies)

    @property
    def pending_replies(self) -> int:
        with self._lock:
            return len(self._replies)

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        # Wake handlers held in a delay so shutting down does not wait for them.
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _next_reply(self, request: RecordedRequest) -> ScriptedReply:
        with self._lock:
            reply = self._replies.popleft() if self._replies else self.default
        if reply is None:
            return error_reply(500, "fake OpenAI endpoint has no scripted reply left")
        return reply(request) if callable(reply) else reply

    def _wait(self, seconds: float) -> None:
        self._closing.wait(seconds)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], fake: FakeOpenAI) -> None:
        super().__init__(address, handler)
        self.fake = fake


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        request = self._read_request()
        self.server.fake._record(request)
        if request.path != MODELS_PATH:
            self._send(404, _error_body(f"no route for GET {request.path}", 404))
            return
        if not self._authorized(request):
            return
        models = [
            {"id": model, "object": "model", "created": 0, "owned_by": "fake"} for model in self.server.fake.models
        ]
        self._send(200, json.dumps({"object": "list", "data": models}).encode())

    def do_POST(self) -> None:
        request = self._read_request()
        fake = self.server.fake
        fake._record(request)
        if request.path != CHAT_COMPLETIONS_PATH:
            self._send(404, _error_body(f"no route for POST {request.path}", 404))
            return
        if not self._authorized(request):
            return
        if not request.body:
            self._send(400, _error_body("request body is not a JSON object", 400))
            return

        reply = fake._next_reply(request)
        if reply.delay_seconds:
            fake._wait(reply.delay_seconds)
        body = reply.body if reply.body is not None else _completion_body(request.model, reply.content)
        self._send(reply.status, body, reply.headers)

    def _read_request(self) -> RecordedRequest:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            body = {}
        headers = {name.lower(): value for name, value in self.headers.items()}
        path = self.path.split("?", 1)[0]
        return RecordedRequest(self.command, path, headers, body if isinstance(body, dict) else {})

    def _authorized(self, request: RecordedRequest) -> bool:
        expected = self.server.fake.api_key
        if not expected or request.authorization == f"Bearer {expected}":
            return True
        presented = request.authorization.removeprefix("Bearer ")
        self._send(401, _error_body(f"Incorrect API key provided: {presented}", 401, code="invalid_api_key"))
        return False

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up first, which is what a timeout test sets out to cause.
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        # Quiet: tests assert on the recorded requests instead of the server's access log.
        return


_completion_ids = itertools.count(1)


def _completion_body(model: str, content: str | None) -> bytes:
    completion = {
        "id": f"chatcmpl-fake-{next(_completion_ids)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }
    return json.dumps(completion).encode()


def _error_body(message: str, status: int, code: str | None = None) -> bytes:
    error_type = "invalid_request_error" if status < 500 else "server_error"
    return json.dumps({"error": {"message": message, "type": error_type, "param": None, "code": code}}).encode()
