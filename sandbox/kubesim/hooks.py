"""Test hooks: a log of the requests clients made, and faults injected into matching requests."""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server understood it; ``verb`` and ``resource`` are empty for non-resource paths."""

    method: str
    path: str
    query: str
    verb: str
    group: str
    version: str
    resource: str
    subresource: str
    namespace: str | None
    name: str
    token: str | None
    user: str | None
    user_agent: str
    status: int

    @property
    def rbac_resource(self) -> str:
        """The resource as an RBAC rule names it: ``jobs``, ``prreviews/status``."""
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


class RequestLog:
    """The requests served so far, in order; safe to read from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []

    def append(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def records(self, token: str | None = None) -> list[RequestRecord]:
        """Return the recorded requests, only those sent with ``token`` when it is given."""
        with self._lock:
            return [record for record in self._records if token is None or record.token == token]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def rbac_verbs(self, token: str | None = None) -> dict[tuple[str, str], set[str]]:
        """Return the verbs used per (API group, resource[/subresource]): what an RBAC Role must grant."""
        verbs: dict[tuple[str, str], set[str]] = {}
        for record in self.records(token):
            if record.verb:
                verbs.setdefault((record.group, record.rbac_resource), set()).add(record.verb)
        return verbs


@dataclass
class FaultRule:
    """Answer matching requests with ``status`` and/or hold them for ``delay`` seconds, ``remaining`` more times.

    ``remaining`` None means every matching request, until the rule is cleared.
    """

    method: str | None
    path_prefix: str
    status: int | None
    delay: float
    remaining: int | None

    def matches(self, method: str, path: str) -> bool:
        method_matches = self.method is None or self.method.upper() == method.upper()
        return method_matches and path.startswith(self.path_prefix) and self.remaining != 0


@dataclass(frozen=True)
class FaultOutcome:
    """What the server does to one request: wait ``delay`` seconds, then answer ``status`` if it is set."""

    delay: float = 0.0
    status: int | None = None


class Faults:
    """Fault rules, consulted for every request before it is served."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def inject_error(
        self, status: int = 503, method: str | None = None, path_prefix: str = "/", times: int | None = 1
    ) -> FaultRule:
        """Answer the next ``times`` requests matching method and path prefix with ``status`` (a Status body)."""
        rule = FaultRule(method, path_prefix, status, 0.0, times)
        with self._lock:
            self._rules.append(rule)
        return rule

    def inject_delay(
        self, seconds: float, method: str | None = None, path_prefix: str = "/", times: int | None = None
    ) -> FaultRule:
        """Hold matching requests for ``seconds`` before serving them normally."""
        rule = FaultRule(method, path_prefix, None, seconds, times)
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def outcome(self, method: str, path: str) -> FaultOutcome:
        """Consume one use of every rule that matches this request and combine their effects."""
        delay, status = 0.0, None
        with self._lock:
            for rule in self._rules:
                if not rule.matches(method, path):
                    continue
                if rule.remaining is not None:
                    rule.remaining -= 1
                delay += rule.delay
                if rule.status is not None and status is None:
                    status = rule.status
        return FaultOutcome(delay, status)
