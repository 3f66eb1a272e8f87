"""Signed webhook deliveries built from the fixtures in tests/fixtures/webhooks."""

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from pr_receiver.signature import sign

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "webhooks"
SECRET = "s3cr3t-for-tests-only-7f1c"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def fixture(name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return payload


def encode(payload: dict[str, Any], content_type: str = JSON) -> bytes:
    """Encode a payload the way GitHub does for the webhook's content type."""
    text = json.dumps(payload)
    if content_type == FORM:
        return urlencode({"payload": text}).encode("ascii")
    return text.encode("utf-8")


def headers_for(
    body: bytes,
    event: str,
    delivery_id: str = "72d3162e-cc78-11e3-81ab-4c9367dc0958",
    content_type: str = JSON,
    secret: str | None = SECRET,
) -> dict[str, str]:
    headers = {
        "Content-Type": content_type,
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id,
        "User-Agent": "GitHub-Hookshot/2d8a3e1",
    }
    if secret is not None:
        headers["X-Hub-Signature-256"] = sign(secret.encode("utf-8"), body)
    return headers


def signed(name: str, event: str, content_type: str = JSON, delivery_id: str = "72d3162e-cc78-11e3-81ab-4c9367dc0958",
           **changes: Any) -> tuple[bytes, dict[str, str]]:
    """Return the body and headers of fixture ``name`` sent as ``event``, signed with ``SECRET``."""
    payload = fixture(name)
    payload.update(changes)
    body = encode(payload, content_type)
    return body, headers_for(body, event, delivery_id, content_type)
