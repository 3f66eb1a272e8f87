"""Parsing of webhook deliveries: headers, both content types GitHub sends, and the payload fields used."""

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

EVENT_HEADER = "X-GitHub-Event"
DELIVERY_HEADER = "X-GitHub-Delivery"
JSON_CONTENT_TYPE = "application/json"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

_SHA = re.compile(r"^[0-9a-fA-F]{40}$")
_REPOSITORY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$")
_CLONE_URL = re.compile(r"^(https?://[^\s/@]+/|file:///)[^\s@]*$")


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
    """Return the delivery id for logs, or ``unknown`` when the header is missing."""
    return headers.get(DELIVERY_HEADER.lower(), "").strip() or "unknown"


def parse_delivery(headers: Mapping[str, str], body: bytes) -> Delivery:
    """Build a ``Delivery`` from lowercase-keyed headers and the raw body.

    Raises ``InvalidDelivery`` naming the missing header or the parse failure.
    """
    event = _required_header(headers, EVENT_HEADER)
    delivery_id = _required_header(headers, DELIVERY_HEADER)
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


def string_field(payload: Mapping[str, Any], path: str) -> str:
    value = field(payload, path)
    if not isinstance(value, str) or not value:
        raise InvalidDelivery(f"invalid field: {path}: expected a non-empty string")
    return value


def positive_int_field(payload: Mapping[str, Any], path: str) -> int:
    value = field(payload, path)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidDelivery(f"invalid field: {path}: expected a positive integer")
    return value


def sha_field(payload: Mapping[str, Any], path: str) -> str:
    value = field(payload, path)
    if not isinstance(value, str) or not _SHA.match(value):
        raise InvalidDelivery(f"invalid field: {path}: expected 40 hex digits")
    return value.lower()


def repository_field(payload: Mapping[str, Any], path: str) -> str:
    value = string_field(payload, path)
    if not _REPOSITORY.match(value):
        raise InvalidDelivery(f"invalid field: {path}: expected owner/name")
    return value


def clone_url_field(payload: Mapping[str, Any], path: str) -> str:
    value = string_field(payload, path)
    if not _CLONE_URL.match(value):
        raise InvalidDelivery(f"invalid field: {path}: expected an https, http or file URL without credentials")
    return value
