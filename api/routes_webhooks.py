"""``POST /api/webhooks/stripe``: verify the signature on the raw body, record, answer 2xx."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request

from api.dependencies import container
from api.problems import Problem
from mentorpay.bootstrap import Container
from processes.gateways.stripe_webhooks import WebhookRejected, parse_webhook

router = APIRouter(prefix="/api/webhooks")


@router.post("/stripe")
def stripe_webhook(
    request: Request,
    c: Annotated[Container, Depends(container)],
    stripe_signature: Annotated[str | None, Header(alias="Stripe-Signature")] = None,
) -> dict[str, str]:
    payload: bytes = request.state.raw_body
    try:
        event = parse_webhook(
            payload, stripe_signature, c.settings.stripe_webhook_secret.get_secret_value()
        )
    except WebhookRejected as rejected:
        raise Problem(400, "Invalid webhook", str(rejected)) from None
    try:
        outcome = c.stripe_events.handle(event)
    except (KeyError, TypeError) as malformed:
        # Signed, so from Stripe, but missing what its type promises: say so, don't crash.
        raise Problem(
            400, "Malformed webhook event", f"missing or wrong field: {malformed}"
        ) from None
    return {"received": event.id, "outcome": outcome}
