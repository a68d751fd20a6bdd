"""Stripe webhook verification: only a correctly signed, recent body becomes a ``WebhookEvent``."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import stripe

from processes.gateways.timestamps import from_unix


class WebhookRejected(ValueError):
    """A webhook delivery that must be answered with 400 and otherwise ignored."""


class WebhookSignatureInvalid(WebhookRejected):
    """Missing, malformed, wrong or stale ``Stripe-Signature``: not (provably) from Stripe."""


class WebhookPayloadInvalid(WebhookRejected):
    """Correctly signed, but not a Stripe event this code can read."""


@dataclass(frozen=True)
class WebhookEvent:
    id: str  # dedupe on this: delivery is at-least-once
    type: str
    created: datetime
    object: dict[str, Any]  # ``data.object`` as plain JSON values


def parse_webhook(
    payload: bytes,
    sig_header: str | None,
    secret: str,
    tolerance: int = 300,
    now: Callable[[], float] = time.time,
) -> WebhookEvent:
    """Verify the raw body against its signature header and return the event it carries.

    ``payload`` must be the body exactly as received: the signature covers those bytes. The
    signing time must lie within ``tolerance`` seconds of ``now``, either way (the SDK
    refuses only old ones; a time far ahead is as suspect).
    """
    try:
        stripe.WebhookSignature.verify_header(payload, sig_header, secret, tolerance=tolerance)
    except stripe.SignatureVerificationError as error:
        # The message names what was wrong, never the secret.
        raise WebhookSignatureInvalid(error.user_message or "invalid signature") from error
    except UnicodeDecodeError as error:
        raise WebhookPayloadInvalid("signed body is not UTF-8") from error
    assert sig_header is not None  # verify_header refuses a missing one
    signed_at = _signed_at(sig_header)
    if signed_at > now() + tolerance:
        raise WebhookSignatureInvalid("Timestamp outside the tolerance zone (in the future)")
    return _event(payload)


def _signed_at(sig_header: str) -> int:
    for item in sig_header.split(","):
        key, _, value = item.partition("=")
        if key.strip() == "t":
            return int(value)
    raise WebhookSignatureInvalid("Unable to extract timestamp from header")  # pragma: no cover


def _event(payload: bytes) -> WebhookEvent:
    """The event in a verified body; anything else than a Stripe event object is refused."""
    try:
        body = json.loads(payload)
    except ValueError as error:
        raise WebhookPayloadInvalid(f"signed body is not JSON: {error}") from error
    if not isinstance(body, dict) or body.get("object") != "event":
        raise WebhookPayloadInvalid("signed body is not a Stripe event object")
    try:
        data_object = body["data"]["object"]
        created = body["created"]
        if not isinstance(data_object, dict):
            raise TypeError("data.object is not an object")
        if not isinstance(created, int) or isinstance(created, bool):
            raise TypeError("created is not a whole number of seconds")
        return WebhookEvent(
            id=_text(body["id"], "id"),
            type=_text(body["type"], "type"),
            created=from_unix(created),
            object=dict(data_object),
        )
    except (KeyError, TypeError, ValueError, OverflowError, OSError) as error:
        raise WebhookPayloadInvalid(f"Stripe event lacks or garbles {error}") from error


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"{name} is not a non-empty string")
    return value
