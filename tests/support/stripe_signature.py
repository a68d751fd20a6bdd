"""The ``Stripe-Signature`` header as Stripe builds it, for webhooks the tests send themselves."""

from __future__ import annotations

import hashlib
import hmac
import time


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """HMAC-SHA256 of ``"<t>.<raw body>"`` with the endpoint secret; ``t`` is now unless given."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"
