"""Helpers of the session-lifecycle flow tests (policies, reschedules, no-shows, earnings)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import stripe
import yaml

from ledger import Payment, balances, postings_for
from mentorpay.bootstrap import read_models
from processes.finance.audit import verify
from processes.services.payouts import PayoutService
from projections.catalog_file import parse_catalog
from tests.support.stack import Stack
from tests.support.waiting import wait_until

DEMO_CATALOG = Path(__file__).resolve().parents[2] / "mentorpay" / "demo_catalog.yaml"
MENTOR = "mentor-ada"  # the demo catalogue's mentor of event type 1001
MENTOR_ACCOUNT = "acct_sandboxmentor01"
PRICE, FEE = 7500, 750  # event type 1001 at the default 10 % platform fee
HOLD = timedelta(hours=72)
PROBLEM_JSON = "application/problem+json"


def slots(stack: Stack, at_least: timedelta, event_type_id: int = 1001) -> list[datetime]:
    """Free starts of an event type from ``at_least`` from now, for a week."""
    now = datetime.now(UTC)
    with stack.client() as client:
        response = client.get(
            f"/api/event-types/{event_type_id}/slots",
            params={
                "start": (now + at_least).isoformat(),
                "end": (now + at_least + timedelta(days=7)).isoformat(),
            },
        )
    assert response.status_code == 200, response.text
    return [
        start
        for start in (datetime.fromisoformat(s["start"]) for s in response.json())
        if start >= now + at_least
    ]


def book(
    stack: Stack,
    at_least: timedelta = timedelta(days=3),
    *,
    event_type_id: int = 1001,
    skip: int = 0,
    sub: str = "user-1",
) -> tuple[str, Payment]:
    """An ACCEPTED booking of ``sub`` and its payment."""
    start = slots(stack, at_least, event_type_id)[skip]
    checkout = stack.start_checkout(start, sub=sub, eventTypeId=event_type_id)
    assert stack.pay(checkout["checkoutSessionId"]).status_code == 200
    booking_id = checkout["bookingId"]
    wait_until(lambda: stack.booking(booking_id, sub)["status"] == "ACCEPTED", timeout=20)
    return booking_id, payment_of(stack, booking_id)


def payment_of(stack: Stack, booking_id: str) -> Payment:
    ledger = stack.container.ledger
    payment_id = ledger.get_booking(UUID(booking_id)).payment_id
    assert payment_id is not None
    return ledger.get_payment(payment_id)


def set_policy(stack: Stack, event_type_id: int = 1001, **policy: int) -> None:
    """Load the demo catalogue again with ``policy`` for one event type."""
    raw = yaml.safe_load(DEMO_CATALOG.read_text(encoding="utf-8"))
    for entry in raw["event_types"]:
        if entry["id"] == event_type_id:
            entry["policy"] = policy
    stack.container.catalog.load(parse_catalog(yaml.safe_dump(raw)))


def payouts_at(
    stack: Stack, now: datetime, after_session: timedelta | None = None
) -> PayoutService:
    c = stack.container
    return PayoutService(
        c.ledger,
        c.store,
        c.catalog,
        c.stripe,
        hold=HOLD,
        clock=lambda: now,
        after_session=after_session,
    )


def stripe_client(stack: Stack) -> stripe.StripeClient:
    return stripe.StripeClient("sk_test_sandbox", base_addresses={"api": stack.sandbox_url})


def stripe_refunds(stack: Stack, payment: Payment) -> list[Any]:
    params = {"payment_intent": payment.payment_intent_id}
    return list(stripe_client(stack).v1.refunds.list(params=params).data)


def stripe_transfers(stack: Stack, booking_id: str) -> list[Any]:
    params = {"transfer_group": booking_id, "limit": 100}
    return list(stripe_client(stack).v1.transfers.list(params=params).data)


def stripe_reversals(stack: Stack, transfer_id: str) -> list[Any]:
    return list(stripe_client(stack).v1.transfers.reversals.list(transfer_id).data)


def workers_caught_up(stack: Stack) -> None:
    """Every process manager has handled the whole ledger, so no late effect can follow."""
    position = stack.container.ledger.recorder.max_notification_id() or 0
    for name, worker in stack.container.processes.items():
        assert worker.wait_for(position, timeout=20), f"{name} is stuck"


def events_of(stack: Stack, *aggregate_ids: UUID) -> list[Any]:
    ledger = stack.container.ledger
    wanted = set(aggregate_ids)
    notifications = ledger.recorder.select_notifications(start=1, limit=100_000)
    return [ledger.mapper.to_domain_event(n) for n in notifications if n.originator_id in wanted]


def account_balances(stack: Stack, *aggregate_ids: UUID) -> dict[str, int]:
    """Debits minus credits per account over these aggregates' events."""
    postings = [p for e in events_of(stack, *aggregate_ids) for p in postings_for(e)]
    return {account: amount for (account, _), amount in balances(postings).items()}


def assert_books_clean(stack: Stack) -> None:
    """The trial balance is zero in every currency and ``ledger verify`` finds nothing."""
    c = stack.container
    notifications = c.ledger.recorder.select_notifications(start=1, limit=100_000)
    postings = [p for n in notifications for p in postings_for(c.ledger.mapper.to_domain_event(n))]
    net: dict[str, int] = {}
    for (_, currency), amount in balances(postings).items():
        net[currency] = net.get(currency, 0) + amount
    assert set(net.values()) <= {0}, net
    head = c.ledger.recorder.max_notification_id() or 0
    for name, follower in c.projections.items():
        assert follower.wait_for(head, timeout=20), f"{name} is stuck"
    report = verify(c.ledger, c.store, read_models())
    assert report.findings == [], [str(f) for f in report.findings]


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def refunded_to(stack: Stack, payment: Payment, amount: int) -> Payment:
    ledger = stack.container.ledger
    return wait_until(
        lambda: (p := ledger.get_payment(payment.id)).refunded_amount == amount and p,
        timeout=20,
    )
