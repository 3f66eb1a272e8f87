"""Verification of GitHub's ``X-Hub-Signature-256`` header."""

import hashlib
import hmac

SIGNATURE_HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="


class SignatureError(Exception):
    """The delivery is not signed with the configured secret; the message states what to fix."""


def sign(secret: bytes, body: bytes) -> str:
    """Return the header value GitHub sends for ``body`` signed with ``secret``."""
    return _PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify_signature(secret: bytes, body: bytes, header: str | None) -> None:
    """Check ``header`` against an HMAC-SHA256 of the raw ``body``; raise ``SignatureError`` if it does not match.

    The comparison runs in constant time, so response timing reveals nothing about the digest.
    """
    if not header:
        raise SignatureError(
            f"missing {SIGNATURE_HEADER} header: set a secret on the GitHub webhook, the same as the receiver's "
            "WEBHOOK_SECRET"
        )
    if not header.startswith(_PREFIX):
        raise SignatureError(f"invalid {SIGNATURE_HEADER} header: expected 'sha256=' followed by a hex digest")
    if not hmac.compare_digest(sign(secret, body).encode("ascii"), header.encode("utf-8", "replace")):
        raise SignatureError(
            f"invalid {SIGNATURE_HEADER} signature: the GitHub webhook secret does not match the receiver's "
            "WEBHOOK_SECRET"
        )
