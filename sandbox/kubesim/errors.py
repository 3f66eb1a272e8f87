"""API errors and the ``Status`` bodies the Kubernetes API returns for them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class FieldCause:
    """One invalid field, as listed in ``Status.details.causes``."""

    reason: str
    field: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"reason": self.reason, "message": self.message, "field": self.field}


@dataclass
class ApiError(Exception):
    """An error that the server answers with a ``Status`` object and the given HTTP code."""

    code: int
    reason: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code} {self.reason}: {self.message}"

    def to_status(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            status["details"] = self.details
        return status


def qualified_resource(plural: str, group: str) -> str:
    """Return ``plural.group`` as the API names resources in messages (``pods`` for the core group)."""
    return f"{plural}.{group}" if group else plural


def not_found(plural: str, group: str, name: str) -> ApiError:
    resource = qualified_resource(plural, group)
    details = {"name": name, "group": group, "kind": plural}
    return ApiError(404, "NotFound", f'{resource} "{name}" not found', details)


def already_exists(plural: str, group: str, name: str) -> ApiError:
    resource = qualified_resource(plural, group)
    details = {"name": name, "group": group, "kind": plural}
    return ApiError(409, "AlreadyExists", f'{resource} "{name}" already exists', details)


def conflict(plural: str, group: str, name: str, detail: str) -> ApiError:
    resource = qualified_resource(plural, group)
    details = {"name": name, "group": group, "kind": plural}
    message = f'Operation cannot be fulfilled on {resource} "{name}": {detail}'
    return ApiError(409, "Conflict", message, details)


def stale_version(plural: str, group: str, name: str) -> ApiError:
    detail = "the object has been modified; please apply your changes to the latest version and try again"
    return conflict(plural, group, name, detail)


def invalid(kind: str, group: str, name: str, causes: list[FieldCause]) -> ApiError:
    qualified_kind = f"{kind}.{group}" if group else kind
    summary = ", ".join(f"{cause.field}: {cause.message}" for cause in causes)
    details = {
        "name": name,
        "group": group,
        "kind": kind,
        "causes": [cause.to_dict() for cause in causes],
    }
    return ApiError(422, "Invalid", f'{qualified_kind} "{name}" is invalid: {summary}', details)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def method_not_allowed(verb: str, resource: str) -> ApiError:
    message = f"the server does not allow this method on the requested resource ({verb} {resource})"
    return ApiError(405, "MethodNotAllowed", message)


def unsupported_media_type(content_type: str, accepted: list[str]) -> ApiError:
    message = (
        f"the body of the request was in an unknown format ({content_type!r}) - "
        f"accepted media types include: {', '.join(accepted)}"
    )
    return ApiError(415, "UnsupportedMediaType", message)


def gone(message: str) -> ApiError:
    return ApiError(410, "Expired", message)
