"""Many due payments on PostgreSQL, paid by card in a Stripe sandbox, and payout runs over them
at a chosen time (helpers, no tests here)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import stripe

from ledger import Ledger, Money, PaymentStatus
from mentorpay.persistence import eventsourcing_env
from processes.gateways.stripe_gateway import StripeGateway
from processes.services.payouts import PayoutService
from projections.catalog import Catalog
from projections.catalog_file import parse_catalog
from projections.follower import Follower
from projections.payments import PaymentsProjection
from projections.store import ReadModelStore
from tests.support.sandbox_server import RunningSandbox
from tests.support.stripe_sandbox import DEMO_ACCOUNT, GOOD_CARD, HTTP, RETURN_URL

HOLD = timedelta(hours=72)
PRICE, FEE = Money(7500, "usd"), Money(750, "usd")
MENTOR = "mentor-scale"
CATALOG = {
    "mentors": [{"id": MENTOR, "name": "Scale Mentor", "stripe_account_id": DEMO_ACCOUNT}],
    "event_types": [
        {
            "id": 1001,
            "mentor_id": MENTOR,
            "title": "Session",
            "duration_minutes": 30,
            "price": {"amount": PRICE.amount, "currency": PRICE.currency},
        }
    ],
}


@dataclass
class Payouts:
    ledger: Ledger
    store: ReadModelStore
    catalog: Catalog
    stripe: StripeGateway
    payments: Follower
    sandbox: RunningSandbox

    def service(self, stripe: StripeGateway | None = None, **options: object) -> PayoutService:
        """A payout service whose hold has passed; ``stripe``: a gateway of its own."""
        now = datetime.now(UTC) + HOLD + timedelta(minutes=5)
        return PayoutService(
            self.ledger,
            self.store,
            self.catalog,
            stripe or self.stripe,
            hold=HOLD,
            clock=lambda: now,
            read_model=self.payments,
            **options,  # type: ignore[arg-type]
        )

    def due_payments(self, count: int) -> list[tuple[UUID, UUID]]:
        """``count`` sessions paid by card in the sandbox and booked: (booking, payment) ids."""
        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(self._due_payment, range(count)))

    def _due_payment(self, n: int) -> tuple[UUID, UUID]:
        booking_id = uuid4()
        session = self.stripe.create_checkout_session(
            booking_id=booking_id,
            price=PRICE,
            product_name="Session",
            customer_email="attendee@example.com",
            return_url=RETURN_URL,
            expires_at=datetime.now(UTC) + timedelta(hours=1),
            metadata={},
            idempotency_key=f"checkout:{booking_id}",
        )
        HTTP.post(
            f"{self.sandbox.url}/_sandbox/checkout/sessions/{session.id}/pay",
            json={"card": GOOD_CARD},
        ).raise_for_status()
        intent_id = self.stripe.retrieve_checkout_session(session.id).payment_intent_id
        intent = self.stripe.retrieve_payment_intent(intent_id or "")
        charge = self.stripe.retrieve_charge(intent.latest_charge_id or "")
        start = datetime(2031, 1, 1, tzinfo=UTC) + timedelta(hours=n)
        self.ledger.request_booking(
            booking_id=booking_id,
            user_id="user-1",
            mentor_id=MENTOR,
            event_type_id=1001,
            start=start,
            end=start + timedelta(minutes=30),
            attendee_name="Attendee",
            attendee_email="attendee@example.com",
            attendee_time_zone="UTC",
            price=PRICE,
            platform_fee=FEE,
            checkout_session_id=session.id,
            reservation_uid=None,
            expires_at=session.expires_at,
        )
        paid = self.ledger.record_payment(
            payment_intent_id=intent.id,
            charge_id=charge.id,
            amount=charge.amount,
            booking_id=booking_id,
            paid_at=charge.created,
        )
        self.ledger.record_booked(booking_id=booking_id, calcom_booking_uid=f"cal_{n}")
        return booking_id, paid.payment_id

    def transfers_at_stripe(self) -> list[stripe.Transfer]:
        client = stripe.StripeClient(
            "sk_test_scale_checks",
            base_addresses={"api": self.sandbox.url},
            max_network_retries=0,
        )
        return list(client.v1.transfers.list(params={"limit": 100}).auto_paging_iter())

    def assert_each_paid_out_once(self, due: list[tuple[UUID, UUID]]) -> None:
        """Every due payment is paid, with one transfer at Stripe each (its group: the booking)."""
        groups = sorted(t.transfer_group or "" for t in self.transfers_at_stripe())
        assert groups == sorted(str(booking) for booking, _ in due)
        assert all(self.ledger.get_payment(p).status == PaymentStatus.PAID for _, p in due)


@contextmanager
def payouts_world(postgres_url: str, sandbox: RunningSandbox) -> Iterator[Payouts]:
    """The ledger, read models and catalogue on ``postgres_url``, Stripe being ``sandbox``."""
    ledger = Ledger(eventsourcing_env(postgres_url))
    store = ReadModelStore(postgres_url)
    gateway = StripeGateway("sk_test_scale", sandbox.url)
    try:
        catalog = Catalog(store)
        catalog.create_tables()
        catalog.load(parse_catalog(json.dumps(CATALOG)))
        yield Payouts(
            ledger, store, catalog, gateway, Follower(ledger, store, PaymentsProjection()), sandbox
        )
    finally:
        gateway.close()
        store.close()
        ledger.close()


def cli_env(postgres_url: str, sandbox_url: str, *, rate: float, **more: str) -> dict[str, str]:
    """The environment of a ``mentorpay`` process paying out these payments at ``rate``
    requests a second on 4 threads: the hold alone decides, and it has passed."""
    return {
        **os.environ,
        "MENTORPAY_DATABASE_URL": postgres_url,
        "MENTORPAY_STRIPE_API_BASE": sandbox_url,
        "MENTORPAY_CALCOM_API_BASE": sandbox_url,
        "MENTORPAY_PAYOUT_HOLD_HOURS": "0",
        "MENTORPAY_PAYOUT_AFTER_SESSION_HOURS": "",
        "MENTORPAY_PAYOUT_CONCURRENCY": "4",
        "MENTORPAY_PAYOUT_MAX_REQUESTS_PER_SECOND": f"{rate:g}",
        "PYTHONUNBUFFERED": "1",
        **more,
    }
