"""Helpers for the payout flow tests: a paid booking, payout runs at a given time, and what
Stripe and the ledger then hold."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
import stripe

from ledger import Ledger, Payment, PaymentStatus, balances, mentor_payable, postings_for
from processes.services.payouts import PayoutService
from tests.support.stack import Stack
from tests.support.waiting import wait_until

HOLD = timedelta(hours=72)
CRON_SECRET = "cron-secret-for-payout-tests"
# Event type 1001: 75.00 USD, the default platform fee of 10 %.
PRICE, FEE = 7500, 750
# A zero hold makes a payment due at once for the container's own service (API, CLI).
DUE_AT_ONCE = pytest.mark.parametrize(
    "stack_settings", [{"payout_hold_hours": 0, "cron_secret": CRON_SECRET}]
)


MENTOR_ACCOUNT = "acct_sandboxmentor01"


def paid_booking(stack: Stack) -> tuple[str, Payment]:
    """A booking paid by card and accepted by Cal.com, with its payment."""
    checkout = stack.start_checkout(stack.free_slot())
    assert stack.pay(checkout["checkoutSessionId"]).status_code == 200
    booking_id = checkout["bookingId"]
    wait_until(lambda: stack.booking(booking_id)["status"] == "ACCEPTED", timeout=20)
    ledger = stack.container.ledger
    payment_id = ledger.payment_id_for_booking(UUID(booking_id))
    assert payment_id is not None
    return booking_id, ledger.get_payment(payment_id)


def payouts_at(stack: Stack, now: datetime, ledger: Any = None) -> PayoutService:
    c = stack.container
    return PayoutService(
        ledger or c.ledger, c.store, c.catalog, c.stripe, hold=HOLD, clock=lambda: now
    )


def stripe_transfers(stack: Stack, booking_id: str) -> list[stripe.Transfer]:
    client = stripe.StripeClient(
        "sk_test_payout_checks", base_addresses={"api": stack.sandbox_url}, max_network_retries=0
    )
    return list(client.v1.transfers.list(params={"transfer_group": booking_id, "limit": 100}))


def ledger_payment(stack: Stack, payment: Payment) -> Payment:
    return stack.container.ledger.get_payment(payment.id)


def assert_paid_out_once(stack: Stack, booking_id: str, payment: Payment) -> stripe.Transfer:
    """Exactly one transfer at Stripe, as the ledger recorded it."""
    transfers = stripe_transfers(stack, booking_id)
    assert len(transfers) == 1, transfers
    transfer = transfers[0]
    assert transfer.amount == PRICE - FEE and transfer.currency == "usd"
    assert transfer.destination == MENTOR_ACCOUNT
    assert transfer.source_transaction == payment.charge_id
    recorded = ledger_payment(stack, payment)
    assert recorded.status == PaymentStatus.PAID
    assert recorded.transfer_id == transfer.id and recorded.paid_out_amount == transfer.amount
    return transfer


def mentor_payable_balance(ledger: Ledger, mentor_id: str) -> int:
    notifications = ledger.recorder.select_notifications(start=1, limit=100_000)
    postings = [p for n in notifications for p in postings_for(ledger.mapper.to_domain_event(n))]
    return balances(postings).get((mentor_payable(mentor_id), "usd"), 0)


def sandbox_post(stack: Stack, path: str, body: dict[str, Any]) -> None:
    with stack.sandbox_client() as client:
        response = client.post(path, json=body)
    assert response.status_code in (200, 201), response.text
