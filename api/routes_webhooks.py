"""``POST /api/webhooks/stripe``: verify the signature on the raw body, record, answer 2xx."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request

from api.dependencies import ApiServices, services
from api.openapi_docs import responses

router = APIRouter(prefix="/api/webhooks")


@router.post(
    "/stripe", responses=responses(400, 413, 503, s400="Bad signature or a malformed event")
)
def stripe_webhook(
    request: Request,
    c: Annotated[ApiServices, Depends(services)],
    stripe_signature: Annotated[str | None, Header(alias="Stripe-Signature")] = None,
) -> dict[str, str]:
    payload: bytes = request.state.raw_body
    event_id, outcome = c.stripe_events.receive(payload, stripe_signature)
    return {"received": event_id, "outcome": outcome}
