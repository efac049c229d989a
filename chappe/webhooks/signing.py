"""Webhook signatures: `Chappe-Signature: t=<unix seconds>,v1=<hex>` where
hex = HMAC-SHA256(account secret, "<t>.<raw body>"). Receivers recompute it, compare in
constant time and reject timestamps older than a few minutes (replay protection)."""

import hashlib
import hmac
import time

HEADER = "Chappe-Signature"
EVENT_HEADER = "Chappe-Event-Id"
TOLERANCE_SECONDS = 300


def sign(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify(secret: str, body: bytes, header: str, *, now: float | None = None,
           tolerance: int = TOLERANCE_SECONDS) -> bool:
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
        given = fields["v1"]
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, given)
