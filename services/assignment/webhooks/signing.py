"""How a delivery is signed, and how a receiver verifies it (README "Webhooks").

Headers of every delivery:
- ``Webhook-Id``: the delivery's id (the same on every retry and replay of it);
- ``Webhook-Timestamp``: when this attempt was sent, in Unix seconds;
- ``Webhook-Signature``: ``v1=`` + hex HMAC-SHA256 of ``<timestamp>.<body>`` keyed with the
  subscription's secret (the exact bytes of the body, before any JSON parsing).

A receiver recomputes the HMAC over the raw body, compares in constant time, and refuses a
timestamp further than its replay window (5 minutes) from its clock: a captured request
cannot be sent again later. Deduplicate on the event's ``id`` (delivery is at least once).
"""

import hashlib
import hmac
import secrets
import time

SIGNATURE_VERSION = "v1"
REPLAY_WINDOW_SECONDS = 300
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={digest.hexdigest()}"


def headers(
    *, secret: str, delivery_id: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    sent_at = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": "application/json",
        "Webhook-Id": delivery_id,
        "Webhook-Timestamp": str(sent_at),
        "Webhook-Signature": signature(secret, sent_at, body),
    }


def verify(
    *,
    secret: str,
    body: bytes,
    timestamp_header: str,
    signature_header: str,
    now: float | None = None,
    window_seconds: int = REPLAY_WINDOW_SECONDS,
) -> bool:
    """What a receiver does: the signature matches and the timestamp is within the window."""
    try:
        timestamp = int(timestamp_header)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - timestamp) > window_seconds:
        return False
    expected = signature(secret, timestamp, body)
    return any(
        hmac.compare_digest(expected, candidate.strip())
        for candidate in signature_header.split(",")
    )
