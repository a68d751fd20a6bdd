"""Stripe webhook verification: only a correctly signed, recent body becomes a ``WebhookEvent``."""

from __future__ import annotations

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
    payload: bytes, sig_header: str | None, secret: str, tolerance: int = 300
) -> WebhookEvent:
    """Verify the raw body against its signature header and return the event it carries.

    ``payload`` must be the body exactly as received: the signature covers those bytes.
    """
    try:
        event = stripe.Webhook.construct_event(payload, sig_header, secret, tolerance=tolerance)
    except stripe.SignatureVerificationError as error:
        # The message names what was wrong, never the secret.
        raise WebhookSignatureInvalid(error.user_message or "invalid signature") from error
    except ValueError as error:  # not UTF-8, not JSON, or not a snapshot event
        raise WebhookPayloadInvalid(f"signed body is not a Stripe event: {error}") from error
    body = event.to_dict()  # plain dicts for callers, not SDK objects
    try:
        return WebhookEvent(
            id=str(body["id"]),
            type=str(body["type"]),
            created=from_unix(int(body["created"])),
            object=dict(body["data"]["object"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise WebhookPayloadInvalid(f"Stripe event lacks {error}") from error
