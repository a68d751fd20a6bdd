"""Steps the Stripe gateway tests share: a checkout session, and one the customer paid."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from ledger.money import Money
from processes.gateways.stripe_gateway import CheckoutSession, StripeGateway
from tests.support.sandbox_controls import pay

PRICE = Money(7500, "usd")
RETURN_URL = "https://mentorpay.test/return?session_id={CHECKOUT_SESSION_ID}"


def open_session(
    gateway: StripeGateway,
    *,
    booking_id: UUID | None = None,
    price: Money = PRICE,
    expires_at: datetime | None = None,
    idempotency_key: str | None = None,
) -> CheckoutSession:
    booking_id = booking_id or uuid4()
    return gateway.create_checkout_session(
        booking_id=booking_id,
        price=price,
        product_name="30-minute mentoring with Ada",
        customer_email="grace@example.com",
        return_url=RETURN_URL,
        expires_at=expires_at or datetime.now(UTC) + timedelta(minutes=45),
        metadata={"mentor_id": "mentor-ada"},
        idempotency_key=idempotency_key or f"checkout:{booking_id}",
    )


@dataclass(frozen=True)
class Paid:
    booking_id: UUID
    session_id: str
    payment_intent_id: str
    charge_id: str


def paid_checkout(gateway: StripeGateway, base_url: str, price: Money = PRICE) -> Paid:
    """A session the customer paid with the test card, read back through the gateway."""
    booking_id = uuid4()
    session = open_session(gateway, booking_id=booking_id, price=price)
    response = pay(base_url, session.id)
    assert response.status_code == 200, response.text
    completed = gateway.retrieve_checkout_session(session.id)
    assert completed.payment_intent_id is not None
    intent = gateway.retrieve_payment_intent(completed.payment_intent_id)
    assert intent.latest_charge_id is not None
    return Paid(booking_id, session.id, intent.id, intent.latest_charge_id)
