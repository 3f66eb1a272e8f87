import hashlib
import hmac

import pytest

from pr_receiver.signature import SignatureError, sign, verify_signature

SECRET = b"It's a Secret to Everybody"
BODY = b"Hello, World!"


def test_sign_matches_github_documented_example() -> None:
    # GitHub's webhook docs give this secret, payload and digest as a test vector.
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert sign(SECRET, BODY) == expected


def test_valid_signature_passes() -> None:
    verify_signature(SECRET, BODY, "sha256=" + hmac.new(SECRET, BODY, hashlib.sha256).hexdigest())


def test_missing_signature_names_header_and_fix() -> None:
    with pytest.raises(SignatureError) as caught:
        verify_signature(SECRET, BODY, None)
    assert str(caught.value) == (
        "missing X-Hub-Signature-256 header: set a secret on the GitHub webhook, the same as the receiver's "
        "WEBHOOK_SECRET"
    )


def test_wrong_signature_is_rejected() -> None:
    with pytest.raises(SignatureError) as caught:
        verify_signature(SECRET, BODY, sign(b"another secret", BODY))
    assert str(caught.value) == (
        "invalid X-Hub-Signature-256 signature: the GitHub webhook secret does not match the receiver's WEBHOOK_SECRET"
    )


def test_signature_of_other_body_is_rejected() -> None:
    with pytest.raises(SignatureError):
        verify_signature(SECRET, BODY + b" ", sign(SECRET, BODY))


def test_sha1_header_format_is_rejected() -> None:
    with pytest.raises(SignatureError) as caught:
        verify_signature(SECRET, BODY, "sha1=" + hmac.new(SECRET, BODY, hashlib.sha1).hexdigest())
    assert str(caught.value) == "invalid X-Hub-Signature-256 header: expected 'sha256=' followed by a hex digest"


def test_non_ascii_signature_is_rejected() -> None:
    with pytest.raises(SignatureError):
        verify_signature(SECRET, BODY, "sha256=é")
