"""Parsing of webhook deliveries: headers, both content types GitHub sends, and the payload fields used."""

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from prreview_api import CLONE_URL_PATTERN, DELIVERY_ID_MAX_LENGTH, INT64_MAX, REPOSITORY_PATTERN

EVENT_HEADER = "X-GitHub-Event"
DELIVERY_HEADER = "X-GitHub-Delivery"
JSON_CONTENT_TYPE = "application/json"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

LOGGED_HEADER_LENGTH = 64  # headers are logged before the signature check, so anyone can send them

# Always used with fullmatch: "$" in re.match also matches before a trailing newline.
_SHA = re.compile(r"[0-9a-fA-F]{40}")
_REPOSITORY = re.compile(REPOSITORY_PATTERN)
_CLONE_URL = re.compile(CLONE_URL_PATTERN)


class InvalidDelivery(ValueError):
    """The delivery cannot be used as sent; the message names the header or field."""


class UnsupportedContentType(InvalidDelivery):
    """The body is neither JSON nor a form with a ``payload`` field."""


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery after its signature was checked."""

    event: str
    delivery_id: str
    payload: dict[str, Any]


def lowercase_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Return request headers keyed by lowercase name, as HTTP header names are case-insensitive."""
    return {name.lower(): value for name, value in headers}


def delivery_id_of(headers: Mapping[str, str]) -> str:
    """Return the delivery id for logs, cut to ``LOGGED_HEADER_LENGTH``, or ``unknown`` when the header is missing."""
    return loggable(headers.get(DELIVERY_HEADER.lower(), "").strip() or "unknown")


def loggable(value: str, max_length: int = LOGGED_HEADER_LENGTH) -> str:
    """Return ``value`` cut to ``max_length`` characters, marked with "..." when cut, for a log line."""
    if len(value) <= max_length:
        return value
    return value[:max_length] + "..."


def parse_delivery(headers: Mapping[str, str], body: bytes) -> Delivery:
    """Build a ``Delivery`` from lowercase-keyed headers and the raw body.

    Raises ``InvalidDelivery`` naming the missing or invalid header, or the parse failure.
    """
    event = _required_header(headers, EVENT_HEADER)
    delivery_id = _required_header(headers, DELIVERY_HEADER)
    if len(delivery_id) > DELIVERY_ID_MAX_LENGTH:
        raise InvalidDelivery(
            f"invalid header: {DELIVERY_HEADER}: longer than {DELIVERY_ID_MAX_LENGTH} characters "
            f"({len(delivery_id)}); GitHub sends a UUID"
        )
    payload = _parse_payload(headers.get("content-type", ""), body)
    return Delivery(event=event, delivery_id=delivery_id, payload=payload)


def _required_header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name.lower(), "").strip()
    if not value:
        raise InvalidDelivery(f"missing header: {name}")
    return value


def _parse_payload(content_type: str, body: bytes) -> dict[str, Any]:
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == JSON_CONTENT_TYPE:
        text = _decode(body)
    elif media_type == FORM_CONTENT_TYPE:
        text = _form_payload(body)
    else:
        raise UnsupportedContentType(
            f"unsupported Content-Type {media_type or 'none'!r}: set the GitHub webhook's content type to "
            f"{JSON_CONTENT_TYPE} or {FORM_CONTENT_TYPE}"
        )

    try:
        payload = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidDelivery(f"malformed JSON payload: {error}") from None
    if not isinstance(payload, dict):
        raise InvalidDelivery("malformed JSON payload: expected an object")
    return payload


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidDelivery("malformed JSON payload: the body is not UTF-8") from None


def _form_payload(body: bytes) -> str:
    form = parse_qs(_decode(body), keep_blank_values=True)
    values = form.get("payload")
    if not values:
        raise InvalidDelivery("missing form field: payload")
    return values[0]


# Field access with errors that name the dotted path, such as "missing field: pull_request.head.sha".


def field(payload: Mapping[str, Any], path: str) -> Any:
    """Return the value at dotted ``path``; raise ``InvalidDelivery`` if it or a parent is absent or null."""
    value: Any = payload
    walked = []
    for key in path.split("."):
        walked.append(key)
        if not isinstance(value, Mapping) or value.get(key) is None:
            raise InvalidDelivery(f"missing field: {'.'.join(walked)}")
        value = value[key]
    return value


def optional_field(payload: Mapping[str, Any], path: str) -> Any:
    """Return the value at dotted ``path``, or ``None`` when it or a parent is absent or null."""
    try:
        return field(payload, path)
    except InvalidDelivery:
        return None


def string_field(payload: Mapping[str, Any], path: str, max_length: int | None = None) -> str:
    value = field(payload, path)
    if not isinstance(value, str) or not value:
        raise InvalidDelivery(f"invalid field: {path}: expected a non-empty string")
    if max_length is not None and len(value) > max_length:
        raise InvalidDelivery(f"invalid field: {path}: longer than {max_length} characters ({len(value)})")
    return value


def positive_int_field(payload: Mapping[str, Any], path: str) -> int:
    """Return a positive integer that fits the CRD's int64 fields."""
    value = field(payload, path)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidDelivery(f"invalid field: {path}: expected a positive integer")
    if value > INT64_MAX:
        raise InvalidDelivery(f"invalid field: {path}: larger than {INT64_MAX}, the maximum of a 64-bit integer")
    return value


def sha_field(payload: Mapping[str, Any], path: str) -> str:
    value = field(payload, path)
    if not isinstance(value, str) or not _SHA.fullmatch(value):
        raise InvalidDelivery(f"invalid field: {path}: expected 40 hex digits")
    return value.lower()


def repository_field(payload: Mapping[str, Any], path: str) -> str:
    value = string_field(payload, path)
    if not _REPOSITORY.fullmatch(value):
        raise InvalidDelivery(f"invalid field: {path}: expected owner/name")
    return value


def clone_url_field(payload: Mapping[str, Any], path: str, max_length: int) -> str:
    value = string_field(payload, path, max_length)
    if not _CLONE_URL.fullmatch(value):
        raise InvalidDelivery(f"invalid field: {path}: expected an https, http or file URL without credentials")
    return value
