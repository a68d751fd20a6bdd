"""A 20 % promotion code: the charge, the platform fee, the mentor's payable and a later refund
are all computed on the discounted amount; the sandbox's coupons and codes behave as Stripe's."""

from __future__ import annotations

from uuid import UUID

import pytest
import stripe

from ledger import BOOKINGS_CLEARING, PLATFORM_FEES, STRIPE_BALANCE, Booking, mentor_payable
from processes.services.payouts import PayoutRunResult
from tests.support.lifecycle import (
    FEE,
    HOLD,
    MENTOR,
    PRICE,
    account_balances,
    assert_books_clean,
    events_of,
    payment_of,
    payouts_at,
    refunded_to,
    stripe_client,
    stripe_refunds,
    stripe_transfers,
)
from tests.support.stack import Stack
from tests.support.waiting import wait_until

PAID = PRICE * 80 // 100  # 60.00
FEE_ON_PAID = FEE * PAID // PRICE  # 6.00: 10 % of what was paid


def _twenty_percent_code(stack: Stack) -> str:
    client = stripe_client(stack)
    coupon = client.v1.coupons.create(params={"percent_off": 20, "duration": "once"})
    code = client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": coupon.id}, "code": "MENTOR20"}
    )
    assert code.promotion.coupon == coupon.id and code.active
    return code.code


def _pay_with_code(stack: Stack, session_id: str, code: str) -> dict:
    with stack.sandbox_client() as sandbox:
        response = sandbox.post(
            f"/_sandbox/checkout/sessions/{session_id}/pay",
            json={"card": "4242424242424242", "promotionCode": code},
        )
    assert response.status_code == 200, response.text
    return response.json()


def test_a_twenty_percent_code_discounts_the_charge_the_fee_the_payable_and_refunds(
    stack: Stack,
) -> None:
    code = _twenty_percent_code(stack)
    checkout = stack.start_checkout(stack.free_slot())
    booking_id = checkout["bookingId"]

    session = _pay_with_code(stack, checkout["checkoutSessionId"], code)

    assert (session["amount_subtotal"], session["amount_total"]) == (PRICE, PAID)
    assert session["total_details"]["amount_discount"] == PRICE - PAID
    booking = wait_until(lambda: (b := stack.booking(booking_id))["status"] == "ACCEPTED" and b)
    assert booking["payment"]["amount"] == PAID  # not a mismatch: the discounted total
    payment = payment_of(stack, booking_id)
    intent = stripe_client(stack).v1.payment_intents.retrieve(payment.payment_intent_id)
    assert intent.amount == PAID
    # The ledger has the price, the discount and what was paid.
    recorded = stack.container.ledger.get_booking(UUID(booking_id))
    assert (recorded.request.price_amount, recorded.discount_amount) == (PRICE, PRICE - PAID)
    (booked,) = [e for e in events_of(stack, UUID(booking_id)) if isinstance(e, Booking.Booked)]
    assert (booked.price_amount, booked.platform_fee_amount) == (PAID, FEE_ON_PAID)
    books = account_balances(stack, UUID(booking_id), payment.id)
    assert books[STRIPE_BALANCE] == PAID
    assert books[PLATFORM_FEES] == -FEE_ON_PAID
    assert books[mentor_payable(MENTOR)] == -(PAID - FEE_ON_PAID)
    assert books[BOOKINGS_CLEARING] == 0
    assert_books_clean(stack)

    # A refund in full gives back what was paid, never the price.
    with stack.client(MENTOR, "mentor") as client:
        cancelled = client.post(f"/api/bookings/{booking_id}/cancel")
    assert cancelled.json()["refund"] == {
        "rule": "cancelled_by_mentor",
        "amount": PAID,
        "currency": "usd",
    }
    refunded_to(stack, payment, PAID)
    assert [r.amount for r in stripe_refunds(stack, payment)] == [PAID]
    assert payouts_at(stack, payment.paid_at + HOLD).run() == PayoutRunResult(0, 0, 0)
    books = account_balances(stack, UUID(booking_id), payment.id)
    assert set(books.values()) == {0}
    assert_books_clean(stack)


def test_the_mentor_is_paid_the_share_of_what_was_paid(stack: Stack) -> None:
    code = _twenty_percent_code(stack)
    checkout = stack.start_checkout(stack.free_slot())
    _pay_with_code(stack, checkout["checkoutSessionId"], code)
    booking_id = checkout["bookingId"]
    wait_until(lambda: stack.booking(booking_id)["status"] == "ACCEPTED")
    payment = payment_of(stack, booking_id)

    assert payouts_at(stack, payment.paid_at + HOLD).run() == PayoutRunResult(1, 1, 0)

    (transfer,) = stripe_transfers(stack, booking_id)
    assert transfer.amount == PAID - FEE_ON_PAID
    assert_books_clean(stack)


def test_sandbox_coupons_and_codes_have_stripes_objects_and_errors(stack: Stack) -> None:
    client = stripe_client(stack)
    five_off = client.v1.coupons.create(
        params={"amount_off": 500, "currency": "usd", "duration": "once", "max_redemptions": 1}
    )
    assert (five_off.object, five_off.amount_off, five_off.percent_off) == ("coupon", 500, None)
    assert client.v1.coupons.retrieve(five_off.id).valid is True
    with pytest.raises(stripe.InvalidRequestError) as both:
        client.v1.coupons.create(params={"amount_off": 5, "percent_off": 5, "currency": "usd"})
    assert both.value.param == "percent_off"
    with pytest.raises(stripe.InvalidRequestError) as no_currency:
        client.v1.coupons.create(params={"amount_off": 500})
    assert no_currency.value.param == "currency"
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.promotion_codes.create(params={"promotion": {"type": "coupon", "coupon": "nope"}})
    assert missing.value.code == "resource_missing"
    code = client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": five_off.id}, "code": "FIVE"}
    )
    assert code.object == "promotion_code" and code.times_redeemed == 0
    found = client.v1.promotion_codes.list(params={"code": "five"}).data
    assert [c.id for c in found] == [code.id]

    # Used once (max_redemptions 1): a second checkout cannot redeem it.
    first = stack.start_checkout(stack.free_slot())
    paid = _pay_with_code(stack, first["checkoutSessionId"], "five")
    assert paid["amount_total"] == PRICE - 500
    assert client.v1.promotion_codes.retrieve(code.id).times_redeemed == 1
    assert client.v1.coupons.retrieve(five_off.id).valid is False
    second = stack.start_checkout(stack.free_slot(skip=1))
    with stack.sandbox_client() as sandbox:
        refused = sandbox.post(
            f"/_sandbox/checkout/sessions/{second['checkoutSessionId']}/pay",
            json={"card": "4242424242424242", "promotionCode": "FIVE"},
        )
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "promotion_code_invalid"
    # The checkout page offers the code field.
    with stack.sandbox_client() as sandbox:
        page = sandbox.get(f"/_sandbox/checkout/{second['checkoutSessionId']}")
    assert 'id="promotion"' in page.text
