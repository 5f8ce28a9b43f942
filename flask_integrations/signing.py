"""Signing outgoing webhooks, following the Standard Webhooks scheme.

A signed request carries three headers:

``webhook-id``
    A unique message id, the same across retries of one delivery.
``webhook-timestamp``
    When it was signed, in whole seconds since the epoch.
``webhook-signature``
    ``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``; several
    space-separated signatures are allowed (e.g. during a secret rotation).

Secrets are ``whsec_`` followed by base64 bytes (see :func:`generate_secret`);
any other string is used as UTF-8 bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import typing as t
import uuid

from .errors import WebhookVerificationError

__all__ = [
    "DEFAULT_TOLERANCE",
    "SECRET_PREFIX",
    "generate_secret",
    "new_message_id",
    "sign",
    "signature_headers",
    "verify",
]

#: Secrets that start with it are keyed with the base64 bytes that follow.
SECRET_PREFIX = "whsec_"

#: How far a timestamp may be from now, in seconds, before it is refused.
DEFAULT_TOLERANCE = 5 * 60


def generate_secret(length: int = 32) -> str:
    """Return a new random signing secret (``whsec_…``)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(length)).decode()


def new_message_id() -> str:
    """Return a new unique ``webhook-id``."""
    return f"msg_{uuid.uuid4().hex}"


def _key(secret: str) -> bytes:
    if secret.startswith(SECRET_PREFIX):
        try:
            return base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
        except ValueError as exc:
            raise WebhookVerificationError(
                "The signing secret starts with 'whsec_' but is not valid base64."
            ) from exc
    return secret.encode("utf-8")


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """Return the ``webhook-signature`` value for one message."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_headers(
    secret: str,
    body: bytes,
    message_id: str | None = None,
    timestamp: int | None = None,
) -> dict[str, str]:
    """Return the three headers that sign ``body``.

    :param message_id: Keep the same id across retries of one delivery.
    :param timestamp: Defaults to now.
    """
    message_id = message_id or new_message_id()
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id, timestamp, body),
    }


def verify(
    secret: str,
    headers: t.Mapping[str, str],
    body: bytes,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> str:
    """Check a signed request; return its message id.

    :param headers: The request headers (any mapping; names are matched
        case-insensitively).
    :param tolerance: Seconds a timestamp may be off (5 minutes by default).
    :raises WebhookVerificationError: Missing headers, a timestamp too far
        from now, or no matching signature.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        message_id = lowered["webhook-id"]
        timestamp_text = lowered["webhook-timestamp"]
        signatures = lowered["webhook-signature"]
    except KeyError as exc:
        raise WebhookVerificationError(
            f"The request has no '{exc.args[0]}' header."
        ) from None
    try:
        timestamp = int(timestamp_text)
    except ValueError:
        raise WebhookVerificationError(
            f"The 'webhook-timestamp' header '{timestamp_text}' is not a number."
        ) from None
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise WebhookVerificationError(
            "The 'webhook-timestamp' is more than"
            f" {tolerance} seconds away from now; refusing a possible replay."
        )
    expected = sign(secret, message_id, timestamp, body)
    for candidate in signatures.split():
        if hmac.compare_digest(candidate, expected):
            return message_id
    raise WebhookVerificationError("No 'webhook-signature' matches the body.")
