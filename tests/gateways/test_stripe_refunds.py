"""Refunds through the gateway: amounts, idempotency across retries, Stripe's own limits."""

from __future__ import annotations

import pytest

from ledger.money import Money
from processes.gateways.stripe_gateway import StripeRequestRefused
from tests.support.stripe_gateway_checkouts import PRICE, paid_checkout


@pytest.fixture
def paid(sandbox, stripe_gateway):
    return paid_checkout(stripe_gateway, sandbox.url)


def refund(gateway, paid, amount: Money, key: str, reason: str | None = "requested_by_customer"):
    return gateway.create_refund(
        payment_intent_id=paid.payment_intent_id,
        amount=amount,
        reason=reason,
        metadata={"booking_id": str(paid.booking_id)},
        idempotency_key=key,
    )


def test_a_partial_refund_is_recorded_against_the_payment(stripe_gateway, paid):
    made = refund(stripe_gateway, paid, Money(2500, "usd"), f"refund:{paid.payment_intent_id}")

    assert made.id.startswith("re_")
    assert made.amount == Money(2500, "usd")
    assert made.status == "succeeded"
    assert made.payment_intent_id == paid.payment_intent_id
    assert made.reason == "requested_by_customer"
    assert made.metadata == {"booking_id": str(paid.booking_id)}
    assert stripe_gateway.list_refunds(paid.payment_intent_id) == [made]
    charge = stripe_gateway.retrieve_charge(paid.charge_id)
    assert charge.amount_refunded == Money(2500, "usd")


def test_the_same_idempotency_key_twice_makes_one_refund(stripe_gateway, paid):
    key = f"refund:{paid.payment_intent_id}"

    first = refund(stripe_gateway, paid, PRICE, key)
    second = refund(stripe_gateway, paid, PRICE, key)  # e.g. after a crash before recording it

    assert second.id == first.id
    assert [r.id for r in stripe_gateway.list_refunds(paid.payment_intent_id)] == [first.id]


def test_refunding_more_than_was_paid_is_refused_for_good(stripe_gateway, paid):
    refund(stripe_gateway, paid, Money(5000, "usd"), "refund:part-1")

    with pytest.raises(StripeRequestRefused) as refused:
        refund(stripe_gateway, paid, Money(2501, "usd"), "refund:part-2")

    assert refused.value.retryable is False
    assert refused.value.http_status == 400
    assert len(stripe_gateway.list_refunds(paid.payment_intent_id)) == 1
    assert stripe_gateway.retrieve_charge(paid.charge_id).amount_refunded == Money(5000, "usd")


def test_refunds_are_listed_per_payment_and_all_together(sandbox, stripe_gateway, paid):
    other = paid_checkout(stripe_gateway, sandbox.url)
    mine = refund(stripe_gateway, paid, Money(100, "usd"), "refund:mine", reason=None)
    theirs = refund(stripe_gateway, other, Money(200, "usd"), "refund:theirs")

    assert stripe_gateway.list_refunds(paid.payment_intent_id) == [mine]
    assert stripe_gateway.list_refunds(other.payment_intent_id) == [theirs]
    assert {r.id for r in stripe_gateway.list_refunds()} >= {mine.id, theirs.id}
    assert mine.reason is None


def test_listing_follows_stripe_pages_past_the_first_hundred(stripe_gateway, paid):
    made = {
        refund(stripe_gateway, paid, Money(1, "usd"), f"refund:cent:{i}", reason=None).id
        for i in range(101)
    }

    listed = stripe_gateway.list_refunds(paid.payment_intent_id)

    assert len(listed) == 101
    assert {r.id for r in listed} == made
