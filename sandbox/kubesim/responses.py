"""JSON responses and request-body parsing shared by the handlers."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .errors import ApiError, bad_request


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(body), status=status, content_type="application/json")


def error_response(error: ApiError) -> web.Response:
    return json_response(error.to_status(), status=error.code)


def status_for_code(code: int) -> ApiError:
    """Build the error a fault rule answers with, named the way the real API names that status."""
    reasons = {
        400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict",
        410: "Expired", 422: "Invalid", 429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable",
        504: "Timeout",
    }
    return ApiError(code, reasons.get(code, "Unknown"), f"injected fault: the server answered {code}")


async def read_json(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise bad_request(f"unable to decode the request body as JSON: {error}") from error


async def read_object(request: web.Request) -> dict[str, Any]:
    content_type = request.content_type
    if content_type not in ("application/json", "application/octet-stream", ""):
        raise ApiError(
            415, "UnsupportedMediaType",
            f"the body of the request was in an unknown format ({content_type!r}) - accepted media types include: "
            "application/json",
        )
    body = await read_json(request)
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object")
    return body
