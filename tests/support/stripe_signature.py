"""The ``Stripe-Signature`` header as Stripe builds it, for webhooks the tests send themselves."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import TYPE_CHECKING

import httpx

from tests.support.http import http_client


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """HMAC-SHA256 of ``"<t>.<raw body>"`` with the endpoint secret; ``t`` is now unless given."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


if TYPE_CHECKING:
    from tests.support.stack import Stack


def post_webhook(stack: Stack, payload: bytes, signature: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    with http_client(timeout=30) as client:
        return client.post(f"{stack.api_url}/api/webhooks/stripe", content=payload, headers=headers)
