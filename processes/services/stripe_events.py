"""What a verified Stripe webhook event means for the ledger. Every path is idempotent, so
duplicated and reordered deliveries are safe; unknown types are acknowledged and ignored."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from ledger import BookingNotFound, Ledger, LedgerError, Money, Payment
from processes.gateways.stripe_errors import StripeGatewayError, StripeRequestRefused
from processes.gateways.stripe_gateway import StripeGateway
from processes.gateways.stripe_webhooks import WebhookEvent, WebhookRejected, parse_webhook
from processes.services.errors import ServiceError, UpstreamUnavailable
from processes.services.payments import booking_id_of, record_payment_intent_id

log = logging.getLogger(__name__)

PAID_SESSION_EVENTS = frozenset(
    {"checkout.session.completed", "checkout.session.async_payment_succeeded"}
)


class InvalidWebhook(ServiceError):
    """A delivery that is not a correctly signed, well-formed Stripe event: answered 400."""

    status = 400
    title = "Invalid webhook"


class MalformedWebhookEvent(InvalidWebhook):
    title = "Malformed webhook event"


class StripeEventHandler:
    def __init__(self, ledger: Ledger, stripe: StripeGateway, *, webhook_secret: str) -> None:
        self._ledger = ledger
        self._stripe = stripe
        self._webhook_secret = webhook_secret

    def receive(self, payload: bytes, signature: str | None) -> tuple[str, str]:
        """Verify a delivery's signature on its raw body, then handle the event it carries;
        returns the event id and what was done."""
        try:
            event = parse_webhook(payload, signature, self._webhook_secret)
        except WebhookRejected as rejected:
            log.warning("webhook refused: %s", rejected)
            raise InvalidWebhook(str(rejected)) from None
        try:
            return event.id, self.handle(event)
        except LedgerError:
            raise  # the API maps the ledger's typed refusals itself
        except (KeyError, TypeError, ValueError, OverflowError) as malformed:
            # Signed, so from Stripe, but missing what its type promises: say so, don't crash.
            log.warning("webhook %s (%s) malformed: %r", event.id, event.type, malformed)
            raise MalformedWebhookEvent(f"missing or wrong field: {malformed}") from None
        except StripeRequestRefused as refused:
            # It names what Stripe itself does not know: no retry can make it readable.
            log.warning(
                "webhook %s (%s): Stripe refused the look-up: %s", event.id, event.type, refused
            )
            raise MalformedWebhookEvent(f"the event names an unknown object: {refused}") from None
        except StripeGatewayError as error:
            # Transient: 503, and Stripe delivers the event again later.
            log.warning(
                "webhook %s (%s): Stripe unavailable, asking for a retry: %s",
                event.id,
                event.type,
                error,
            )
            raise UpstreamUnavailable(f"Stripe is unavailable: {error}") from None

    def handle(self, event: WebhookEvent) -> str:
        """Record what the event tells us; returns a short word on what was done."""
        obj: dict[str, Any] = event.object
        if event.type in PAID_SESSION_EVENTS:
            if obj.get("payment_status") == "paid" and obj.get("payment_intent"):
                record_payment_intent_id(self._ledger, self._stripe, str(obj["payment_intent"]))
                return "payment recorded"
            return "not paid yet"
        if event.type == "payment_intent.succeeded":
            record_payment_intent_id(self._ledger, self._stripe, str(obj["id"]))
            return "payment recorded"
        if event.type == "checkout.session.expired":
            return self._expire(obj)
        if event.type == "charge.refunded":
            return self._refunds(obj)
        if event.type == "charge.dispute.created":
            return self._dispute(obj)
        return "ignored"

    def _ensure_payment(self, payment_intent_id: str) -> UUID:
        """Events arrive in any order: a refund or dispute may come before the payment."""
        if self._ledger.payment_for_intent(payment_intent_id) is None:
            record_payment_intent_id(self._ledger, self._stripe, payment_intent_id)
        return Payment.create_id(payment_intent_id)

    def _expire(self, session: dict[str, Any]) -> str:
        # A signed event is not enough to end a booking: Stripe's own session must say so.
        current = self._stripe.retrieve_checkout_session(str(session["id"]))
        if current.status != "expired":
            return "ignored: the session is not expired at Stripe"
        booking_id = booking_id_of(current.metadata)
        if booking_id is None:
            return "ignored"
        try:
            self._ledger.expire_booking(booking_id=booking_id)
        except BookingNotFound:
            # A checkout abandoned before its booking was recorded: let its slot hold go.
            if self._ledger.checkout_intent(booking_id) is None:
                return "ignored"
            self._ledger.abandon_checkout(booking_id=booking_id, reason="the session expired")
            return "checkout abandoned"
        return "expired"

    def _refunds(self, charge: dict[str, Any]) -> str:
        """Refunds made elsewhere (e.g. the dashboard) enter the ledger too; ours dedupe by id."""
        intent_id = charge.get("payment_intent")
        if not intent_id:
            return "ignored"
        payment_id = self._ensure_payment(str(intent_id))
        for refund in self._stripe.list_refunds(payment_intent_id=str(intent_id)):
            if refund.status not in ("succeeded", "pending"):
                continue
            try:
                self._ledger.record_refund(
                    payment_id=payment_id,
                    refund_id=refund.id,
                    amount=refund.amount,
                    reason=refund.reason or "refunded at Stripe",
                )
            except LedgerError as error:
                log.error("refund %s cannot be recorded: %s", refund.id, error)
                raise
        return "refunds recorded"

    def _dispute(self, dispute: dict[str, Any]) -> str:
        intent_id = dispute.get("payment_intent")
        if not intent_id:
            return "ignored"
        self._ledger.record_dispute(
            payment_id=self._ensure_payment(str(intent_id)),
            dispute_id=str(dispute["id"]),
            amount=Money(int(dispute["amount"]), str(dispute["currency"])),
            reason=str(dispute.get("reason") or "unknown"),
        )
        return "dispute recorded"
