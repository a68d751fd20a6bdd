"""Test-only controls for the Stripe emulator, mounted by the sandbox app under ``/_sandbox``.

They do what Stripe's own UI, the customer or the card networks would do: pay a checkout
with a test card, open a dispute, finish an account's onboarding; and they configure and
show webhook delivery. For benchmarks, one call makes many paid Checkout Sessions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from sandbox.stripe.checkout_page import (
    STRIPE_JS,
    render_checkout_page,
    render_missing_page,
)
from sandbox.stripe.errors import StripeError
from sandbox.stripe.params import SessionCreate
from sandbox.stripe.store import snapshot

if TYPE_CHECKING:
    from sandbox.stripe.emulator import StripeEmulator


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PayRequest(_Body):
    card: Annotated[str, Field(min_length=1, max_length=40)]
    email: Annotated[str, Field(max_length=800)] | None = None
    name: Annotated[str, Field(max_length=200)] | None = None
    # A customer-facing promotion code, for a session created with allow_promotion_codes.
    promotionCode: Annotated[str, Field(min_length=1, max_length=500)] | None = None


class WebhookEndpointRequest(_Body):
    url: Annotated[str, Field(max_length=2000)]
    secret: Annotated[str, Field(min_length=1, max_length=500)]

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an absolute http(s) URL")
        return value


class DisputeRequest(_Body):
    reason: Literal[
        "fraudulent",
        "duplicate",
        "product_not_received",
        "product_unacceptable",
        "subscription_canceled",
        "credit_not_processed",
        "unrecognized",
        "general",
    ] = "fraudulent"
    amount: Annotated[int, Field(ge=1)] | None = None


class PaidSessionsRequest(_Body):
    """``count`` sessions for the booking ids given, each as the product's gateway creates it."""

    bookings: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=100)]],
        Field(min_length=1, max_length=5000),
    ]
    amount: Annotated[int, Field(ge=50, le=99_999_999)]
    currency: Annotated[str, Field(min_length=3, max_length=3)]
    card: Annotated[str, Field(min_length=1, max_length=40)] = "4242424242424242"


CapabilityStatus = Literal["active", "inactive", "pending"]


class CapabilityChanges(_Body):
    card_payments: CapabilityStatus | None = None
    transfers: CapabilityStatus | None = None


class AccountStatusRequest(_Body):
    charges_enabled: bool | None = None
    payouts_enabled: bool | None = None
    details_submitted: bool | None = None
    capabilities: CapabilityChanges | None = None


def build_controls_router(emulator: StripeEmulator) -> APIRouter:
    em = emulator
    router = APIRouter(tags=["stripe sandbox controls"])

    @router.post("/checkout/sessions/{session_id}/pay")
    def pay(session_id: str, body: PayRequest) -> Response:
        """Pay an open Checkout Session as its customer would; 402 with a card error."""
        with em.lock:
            return _stripe_call(
                lambda: em.payments.pay_session(
                    session_id, body.card, body.email, body.name, body.promotionCode
                )
            )

    @router.post("/checkout/sessions/paid")
    def create_paid_sessions(body: PaidSessionsRequest) -> Response:
        """Thousands of paid sessions without thousands of round trips: per booking id, the
        session ``POST /v1/checkout/sessions`` makes (transfer group = the booking id) paid
        as ``/pay`` pays it, so each has a real PaymentIntent and Charge to transfer from."""
        made = []
        with em.lock:
            for booking_id in body.bookings:
                tagged = {"booking_id": booking_id}
                params = SessionCreate.model_validate(
                    {
                        "mode": "payment",
                        "ui_mode": "embedded_page",
                        "return_url": "https://example.com/return?session_id={CHECKOUT_SESSION_ID}",
                        "client_reference_id": booking_id,
                        "line_items": [
                            {
                                "price_data": {
                                    "currency": body.currency,
                                    "unit_amount": body.amount,
                                    "product_data": {"name": "Session"},
                                },
                                "quantity": 1,
                            }
                        ],
                        "metadata": tagged,
                        "payment_intent_data": {"metadata": tagged, "transfer_group": booking_id},
                    }
                )
                try:
                    session = em.payments.create_session(params, base_url="")
                    em.payments.pay_session(session["id"], body.card, None, None)
                except StripeError as error:
                    return JSONResponse(error.body(), status_code=error.status)
                intent = em.payments.payment_intent(session["payment_intent"])
                charge = em.payments.charge(intent["latest_charge"])
                made.append(
                    {
                        "booking_id": booking_id,
                        "checkout_session": session["id"],
                        "expires_at": session["expires_at"],
                        "payment_intent": intent["id"],
                        "charge": charge["id"],
                        "amount": charge["amount"],
                        "currency": charge["currency"],
                        "created": charge["created"],
                    }
                )
        return JSONResponse({"object": "list", "data": made})

    @router.get("/checkout/{session_id}", response_class=HTMLResponse)
    def checkout_page(session_id: str) -> HTMLResponse:
        """The demo stand-in for Stripe's embedded checkout form."""
        with em.lock:
            em.payments.expire_due_sessions()
            session = em.store.find("checkout.session", session_id)
            if session is None:
                return HTMLResponse(render_missing_page(session_id), status_code=404)
            return HTMLResponse(
                render_checkout_page(snapshot(session), em.payments.line_items(session_id))
            )

    @router.get("/stripe.js")
    def stripe_js() -> Response:
        """The stand-in for Stripe.js: embedded Checkout around the page above."""
        return Response(STRIPE_JS, media_type="text/javascript; charset=utf-8")

    @router.post("/webhook-endpoints", status_code=201)
    def add_webhook_endpoint(body: WebhookEndpointRequest) -> dict[str, Any]:
        em.webhooks.add_endpoint(body.url, body.secret, keep_on_reset=False)
        return {"url": body.url, "endpoints": em.webhooks.endpoints()}

    @router.get("/webhook-endpoints")
    def list_webhook_endpoints() -> dict[str, Any]:
        return {"endpoints": em.webhooks.endpoints()}

    @router.get("/webhook-deliveries")
    def list_webhook_deliveries(
        event: Annotated[str | None, Query(description="only this event id")] = None,
        type: Annotated[str | None, Query(description="only this event type")] = None,
    ) -> dict[str, Any]:
        """Every delivery attempt, oldest first, with the receiver's status or the error."""
        attempts = [
            a
            for a in em.webhooks.attempts()
            if (event is None or a["event"] == event) and (type is None or a["type"] == type)
        ]
        return {"object": "list", "data": attempts}

    @router.post("/charges/{charge_id}/dispute")
    def dispute(charge_id: str, body: DisputeRequest | None = None) -> Response:
        """The cardholder's bank disputes a charge: a dispute and ``charge.dispute.created``."""
        body = body or DisputeRequest()
        with em.lock:
            return _stripe_call(
                lambda: em.payments.create_dispute(charge_id, body.reason, body.amount)
            )

    @router.post("/accounts/{account_id}")
    def set_account_status(account_id: str, body: AccountStatusRequest) -> Response:
        """Onboarding's outcome: flip enabled flags and capabilities; ``account.updated``."""
        changes = body.model_dump(exclude_none=True)
        if "capabilities" in changes and not changes["capabilities"]:
            del changes["capabilities"]
        with em.lock:
            return _stripe_call(lambda: em.connect.set_account_status(account_id, changes))

    return router


def _stripe_call(operation: Any) -> Response:
    try:
        return JSONResponse(snapshot(operation()))
    except StripeError as error:
        return JSONResponse(error.body(), status_code=error.status)
