"""Standard Webhooks signatures."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from flask_integrations.errors import IntegrationError
from flask_integrations.signing import (
    WebhookVerificationError,
    generate_secret,
    sign,
    signature_headers,
    verify,
)

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
BODY = b'{"event":"ticket.created","id":1}'


def test_signature_is_hmac_sha256_over_id_timestamp_and_body() -> None:
    expected = hmac.new(
        b"0123456789abcdef0123456789abcdef",
        b"msg_1.1700000000." + BODY,
        hashlib.sha256,
    ).digest()
    assert sign(SECRET, "msg_1", 1700000000, BODY) == (
        "v1," + base64.b64encode(expected).decode()
    )


def test_plain_secret_is_used_as_utf8_bytes() -> None:
    expected = hmac.new(b"plain", b"m.1." + BODY, hashlib.sha256).digest()
    assert sign("plain", "m", 1, BODY) == "v1," + base64.b64encode(expected).decode()


def test_headers_round_trip_through_verify() -> None:
    headers = signature_headers(SECRET, BODY, message_id="msg_x", timestamp=1000)
    assert headers["webhook-id"] == "msg_x"
    assert headers["webhook-timestamp"] == "1000"
    upper = {k.upper(): v for k, v in headers.items()}
    assert verify(SECRET, upper, BODY, now=1000 + 299) == "msg_x"


def test_several_signatures_any_may_match() -> None:
    headers = signature_headers(SECRET, BODY, timestamp=1000)
    headers["webhook-signature"] = "v1,bm90LWl0 " + headers["webhook-signature"]
    verify(SECRET, headers, BODY, now=1000)


@pytest.mark.parametrize("offset", [301, -301, 3600])
def test_timestamps_more_than_five_minutes_off_are_refused(offset: int) -> None:
    headers = signature_headers(SECRET, BODY, timestamp=1000)
    with pytest.raises(WebhookVerificationError, match="replay"):
        verify(SECRET, headers, BODY, now=1000 + offset)


def test_tampered_body_wrong_secret_and_missing_headers_are_refused() -> None:
    headers = signature_headers(SECRET, BODY, timestamp=1000)
    with pytest.raises(WebhookVerificationError, match="matches"):
        verify(SECRET, headers, BODY + b" ", now=1000)
    with pytest.raises(WebhookVerificationError, match="matches"):
        verify(generate_secret(), headers, BODY, now=1000)
    del headers["webhook-id"]
    with pytest.raises(WebhookVerificationError, match="webhook-id"):
        verify(SECRET, headers, BODY, now=1000)
    headers = signature_headers(SECRET, BODY, timestamp=1000)
    headers["webhook-timestamp"] = "soon"
    with pytest.raises(IntegrationError, match="not a number"):
        verify(SECRET, headers, BODY, now=1000)


def test_generated_secrets_are_distinct_and_well_formed() -> None:
    first, second = generate_secret(), generate_secret()
    assert first != second
    assert first.startswith("whsec_")
    assert len(base64.b64decode(first[6:])) == 32
    with pytest.raises(WebhookVerificationError, match="base64"):
        sign("whsec_***", "m", 1, BODY)
