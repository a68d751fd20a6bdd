"""The attention queue past its listing's limit: items resolved by hand, which stay in their read
model, never hide open ones, and an item beyond the limit is still found and acted on by its id."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import get_args
from uuid import UUID

import pytest

from api.routes_ops import Kind
from ledger import Ledger
from mentorpay.persistence import eventsourcing_env
from processes.gateways.stripe_gateway import StripeGateway
from processes.services import attention
from processes.services.attention import PARKED_WORK, PAYOUT_FAILED, AttentionService
from processes.services.errors import NotFound
from processes.services.payouts import PayoutService
from projections import work_queue
from projections.catalog import Catalog
from projections.follower import Follower
from projections.payments import PaymentsProjection
from projections.store import ReadModelStore
from tests.support.ledger_factories import HOLD, T0, accepted_booking

LIMIT = 2  # instead of 500, so that a few items go past it


@dataclass
class Queue:
    ledger: Ledger
    store: ReadModelStore
    service: AttentionService

    def failed_payout(self) -> UUID:
        """A payout that failed for good (the mentor's account could not receive it)."""
        _, payment_id = accepted_booking(self.ledger)
        self.ledger.mark_payout_eligible(
            payment_id=payment_id, destination_account="acct_ada", now=T0 + HOLD, hold=HOLD
        )
        self.ledger.record_payout_failed(
            payment_id=payment_id, error="account cannot receive transfers", retryable=False
        )
        return payment_id

    def listed(self, kind: str) -> list[str]:
        Follower(self.ledger, self.store, PaymentsProjection()).run_until_caught_up()
        return [item.id for item in self.service.open_items() if item.kind == kind]


@pytest.fixture
def queue(database_url: str) -> Iterator[Queue]:
    with Ledger(eventsourcing_env(database_url)) as ledger, ReadModelStore(database_url) as store:
        # Listing and resolving make no Stripe call: the gateway points nowhere.
        payouts = PayoutService(
            ledger,
            store,
            Catalog(store),
            StripeGateway("sk_test_unused", "http://127.0.0.1:9"),
            hold=timedelta(0),
        )
        with store.ddl_transaction() as tx:
            work_queue.create_tables(tx)
        yield Queue(ledger, store, AttentionService(ledger, store, payouts))


def test_payouts_resolved_by_hand_never_hide_newer_failed_ones(
    queue: Queue, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(5):
        queue.failed_payout()
    oldest_first = queue.listed(PAYOUT_FAILED)
    assert len(oldest_first) == 5
    monkeypatch.setattr(attention, "LIST_LIMIT", LIMIT)
    assert queue.listed(PAYOUT_FAILED) == oldest_first[:LIMIT]

    # Finance settles the three oldest by hand; they stay failed in the payments read model.
    for item_id in oldest_first[:3]:
        queue.service.resolve(item_id, by="finance:grace", reason="paid by bank transfer")

    assert queue.listed(PAYOUT_FAILED) == oldest_first[3:]


def test_an_item_beyond_the_listing_is_found_and_resolved_by_its_id(
    queue: Queue, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(attention, "LIST_LIMIT", LIMIT)
    with queue.store.transaction() as tx:
        for position in (11, 12, 13):
            work_queue.park_new(
                tx,
                process="refunds",
                position=position,
                lane=f"booking-{position}",
                topic="mentorpay.Booking.BookingFailed",
                attempts=5,
                error="Stripe refused the refund",
            )
    payments = [queue.failed_payout() for _ in range(LIMIT + 1)]
    assert queue.listed(PARKED_WORK) == ["work:refunds:11", "work:refunds:12"]
    listed_payouts = queue.listed(PAYOUT_FAILED)
    assert len(listed_payouts) == LIMIT
    (unlisted_payout,) = {f"payout:{p}" for p in payments} - set(listed_payouts)

    for item_id in ("work:refunds:13", unlisted_payout):
        assert queue.service.get(item_id).id == item_id
        resolved = queue.service.resolve(item_id, by="ops:alan", reason="settled by hand")
        assert resolved.status == "resolved"
        with pytest.raises(NotFound):
            queue.service.get(item_id)  # closed now
    with queue.store.transaction() as tx:
        assert work_queue.get(tx, "refunds", 13).status == work_queue.RESOLVED  # type: ignore[union-attr]
    for unknown in ("work:refunds:99", "payout:nope", "halt:", "refund:", "bogus"):
        with pytest.raises(NotFound):
            queue.service.get(unknown)


def test_the_listing_names_the_kinds_with_more_open_items_than_it_shows(
    queue: Queue, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(attention, "LIST_LIMIT", LIMIT)
    for _ in range(LIMIT):
        queue.failed_payout()
    Follower(queue.ledger, queue.store, PaymentsProjection()).run_until_caught_up()
    exactly = queue.service.listing()
    assert (len(exactly.items), exactly.limit, exactly.truncated) == (LIMIT, LIMIT, ())

    queue.failed_payout()
    Follower(queue.ledger, queue.store, PaymentsProjection()).run_until_caught_up()
    over = queue.service.listing()
    assert len(over.items) == LIMIT and over.truncated == (PAYOUT_FAILED,)

    # The next page holds the rest, and says there is no more.
    rest = queue.service.listing(kind=PAYOUT_FAILED, offset=over.offset + over.limit)
    assert (len(rest.items), rest.offset, rest.truncated) == (1, LIMIT, ())
    assert len({i.id for i in over.items + rest.items}) == LIMIT + 1  # each failed payout once

    # Settled by hand, the oldest no longer counts: the rest fit again.
    queue.service.resolve(over.items[0].id, by="finance:grace", reason="paid by bank transfer")
    assert queue.service.listing().truncated == ()
    assert queue.service.listing(kind=PARKED_WORK).items == []  # only the kind asked for
    with pytest.raises(ValueError):
        queue.service.listing(kind="bogus")


def test_the_http_kinds_are_the_services_kinds() -> None:
    assert set(get_args(Kind)) == set(attention.KINDS)
