"""Embedded Checkout through the gateway: create, pay (as the customer), read back, expire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from ledger.money import Money
from processes.gateways.stripe_gateway import StripeRequestRefused
from tests.support.sandbox_controls import pay
from tests.support.stripe_gateway_checkouts import PRICE, RETURN_URL, open_session, paid_checkout


def test_a_new_session_is_open_unpaid_and_tagged_with_the_booking(stripe_gateway):
    booking_id = uuid4()
    expires_at = datetime.now(UTC) + timedelta(minutes=45)

    session = open_session(stripe_gateway, booking_id=booking_id, expires_at=expires_at)

    assert session.id.startswith("cs_")
    assert session.client_secret  # what the browser mounts the embedded form with
    assert (session.status, session.payment_status) == ("open", "unpaid")
    assert session.payment_intent_id is None
    assert session.amount == PRICE
    assert session.metadata == {"mentor_id": "mentor-ada", "booking_id": str(booking_id)}
    assert session.expires_at == expires_at.replace(microsecond=0)
    again = stripe_gateway.retrieve_checkout_session(session.id)
    assert (again.id, again.status, again.amount) == (session.id, "open", PRICE)


def test_a_zero_decimal_price_is_sent_as_is(stripe_gateway):
    session = open_session(stripe_gateway, price=Money(5000, "jpy"))

    assert session.amount == Money(5000, "jpy")


def test_paying_completes_the_session_and_the_payment_carries_the_booking(sandbox, stripe_gateway):
    before = datetime.now(UTC) - timedelta(seconds=5)
    paid = paid_checkout(stripe_gateway, sandbox.url)

    session = stripe_gateway.retrieve_checkout_session(paid.session_id)
    intent = stripe_gateway.retrieve_payment_intent(paid.payment_intent_id)
    charge = stripe_gateway.retrieve_charge(paid.charge_id)

    assert (session.status, session.payment_status) == ("complete", "paid")
    assert session.payment_intent_id == intent.id
    assert intent.status == "succeeded"
    assert intent.amount == PRICE
    assert intent.metadata["booking_id"] == str(paid.booking_id)
    assert charge.payment_intent_id == intent.id
    assert (charge.amount, charge.amount_refunded) == (PRICE, Money(0, "usd"))
    assert charge.paid is True
    assert before <= charge.created <= datetime.now(UTC) + timedelta(seconds=5)  # paid_at
    assert charge.created.tzinfo == UTC


def test_payment_intents_are_listed_for_reconciliation(sandbox, stripe_gateway):
    first = paid_checkout(stripe_gateway, sandbox.url)
    second = paid_checkout(stripe_gateway, sandbox.url)

    listed = {intent.id: intent for intent in stripe_gateway.list_payment_intents()}

    assert {first.payment_intent_id, second.payment_intent_id} <= listed.keys()
    assert listed[first.payment_intent_id].metadata["booking_id"] == str(first.booking_id)
    assert listed[second.payment_intent_id].status == "succeeded"


def test_the_same_idempotency_key_gives_back_the_same_session(stripe_gateway):
    booking_id = uuid4()
    expires_at = datetime.now(UTC) + timedelta(minutes=45)

    first = open_session(stripe_gateway, booking_id=booking_id, expires_at=expires_at)
    retried = open_session(stripe_gateway, booking_id=booking_id, expires_at=expires_at)

    assert retried.id == first.id


def test_reusing_a_key_for_different_parameters_is_refused(stripe_gateway):
    booking_id = uuid4()
    open_session(stripe_gateway, booking_id=booking_id, idempotency_key="checkout:reused")

    with pytest.raises(StripeRequestRefused) as refused:
        open_session(
            stripe_gateway,
            booking_id=booking_id,
            price=Money(9900, "usd"),
            idempotency_key="checkout:reused",
        )

    assert refused.value.code == "idempotency_error"
    assert refused.value.retryable is False


def test_expiring_an_open_session_ends_it_and_expiring_again_is_fine(stripe_gateway):
    session = open_session(stripe_gateway)

    expired = stripe_gateway.expire_checkout_session(session.id, idempotency_key="expire:1")
    again = stripe_gateway.expire_checkout_session(session.id, idempotency_key="expire:2")

    assert expired.status == "expired"
    assert again.status == "expired"
    assert stripe_gateway.retrieve_checkout_session(session.id).status == "expired"


def test_expiring_a_paid_session_returns_it_completed(sandbox, stripe_gateway):
    paid = paid_checkout(stripe_gateway, sandbox.url)

    session = stripe_gateway.expire_checkout_session(paid.session_id, idempotency_key="expire:x")

    assert (session.status, session.payment_status) == ("complete", "paid")


def test_an_expired_session_cannot_be_paid(sandbox, stripe_gateway):
    session = open_session(stripe_gateway)
    stripe_gateway.expire_checkout_session(session.id, idempotency_key=f"expire:{session.id}")

    assert pay(sandbox.url, session.id).status_code >= 400
    assert stripe_gateway.retrieve_checkout_session(session.id).payment_status == "unpaid"


def test_an_unknown_session_is_refused_as_missing(stripe_gateway):
    with pytest.raises(StripeRequestRefused) as refused:
        stripe_gateway.retrieve_checkout_session("cs_test_does_not_exist")

    assert refused.value.code == "resource_missing"
    assert refused.value.http_status == 404
    with pytest.raises(StripeRequestRefused):
        stripe_gateway.expire_checkout_session("cs_test_does_not_exist", idempotency_key="e:0")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"return_url": "https://mentorpay.test/return"}, "CHECKOUT_SESSION_ID"),
        ({"expires_at": datetime.now() + timedelta(hours=1)}, "timezone-aware"),
        ({"idempotency_key": ""}, "idempotency_key"),
        ({"idempotency_key": "k" * 256}, "idempotency_key"),
    ],
    ids=["no session placeholder", "naive expiry", "empty key", "key too long"],
)
def test_caller_mistakes_fail_before_any_request(stripe_gateway, change, message):
    arguments = {
        "booking_id": uuid4(),
        "price": PRICE,
        "product_name": "30-minute mentoring",
        "customer_email": "grace@example.com",
        "return_url": RETURN_URL,
        "expires_at": datetime.now(UTC) + timedelta(minutes=45),
        "metadata": {},
        "idempotency_key": "checkout:mistake",
        **change,
    }

    with pytest.raises(ValueError, match=message):
        stripe_gateway.create_checkout_session(**arguments)
