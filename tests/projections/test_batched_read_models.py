"""The bookings and payments projections fold each batch into set-based writes: however a log
is cut into batches, the rows are those of applying it one event per batch, on both stores."""

from __future__ import annotations

import contextlib
import itertools
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import Booking, BookingRequest, Disposition, Ledger, LedgerError, Money, Payment
from ledger.events import DomainEvent
from mentorpay.persistence import eventsourcing_env
from projections import bulk_rows
from projections.bookings import BookingsProjection
from projections.event_log import iter_domain_events
from projections.follower import Projection
from projections.payments import PaymentsProjection
from projections.store import ReadModelStore
from tests.support.ledger_factories import HOLD, T0, booking_fields

PRICE = Money(7500, "usd")
FEE = Money(750, "usd")

# Steps act on one of the most recent bookings or payments (0 = the latest).
recent = st.integers(min_value=0, max_value=3)
step = st.one_of(
    st.just(("request",)),
    st.just(("booked",)),
    st.just(("saved_together",)),
    st.tuples(st.just("pay"), recent, st.sampled_from(["exact", "exact", "wrong"])),
    st.tuples(st.just("book"), recent),
    st.tuples(st.just("fail"), recent),
    st.tuples(st.just("expire"), recent),
    st.tuples(st.just("cancel"), recent, st.booleans(), st.sampled_from([None, 50])),
    st.tuples(st.just("reschedule"), recent, st.integers(1, 5)),
    st.tuples(st.just("no_show"), recent, st.sampled_from(["mentor_paid", "claim_open", "refund"])),
    st.tuples(st.just("decide"), recent, st.sampled_from(["refund", "release"])),
    st.tuples(st.just("refund"), recent, st.integers(1, 4)),
    st.tuples(st.just("payout"), recent, st.sampled_from(["paid", "retry", "refused"])),
    st.tuples(st.just("reverse"), recent),
    st.tuples(st.just("dispute"), recent),
)


class Flows:
    """Drives the ledger's own commands, so the log is one the ledger can write."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.bookings: list[UUID] = []
        self.payments: list[UUID] = []
        self.calcom: dict[UUID, str] = {}

    def run(self, action: tuple[Any, ...]) -> None:
        kind, *args = action
        ledger = self.ledger
        if kind == "request":
            fields = booking_fields(price=PRICE, platform_fee=FEE)
            ledger.request_booking(**fields)
            self.bookings.append(fields["booking_id"])
        elif kind == "booked":  # requested, paid and booked in a row: one batch may hold all
            self.run(("request",))
            self.run(("pay", 0, "exact"))
            self.run(("book", 0))
        elif kind == "saved_together":
            self._saved_together()
        elif kind in ("pay", "book", "fail", "expire", "cancel", "reschedule", "no_show", "decide"):
            if self.bookings:
                self._booking_step(kind, self.bookings[-1 - args[0] % len(self.bookings)], args)
        elif self.payments:
            self._payment_step(kind, self.payments[-1 - args[0] % len(self.payments)], args)

    def _saved_together(self) -> None:
        """A booking and its payment saved in one transaction, the booking's events first: its
        ``Booked`` names a payment whose ``Paid`` comes after it in the log."""
        fields = booking_fields(price=PRICE, platform_fee=FEE)
        booking_id = fields.pop("booking_id")
        price, fee = fields.pop("price"), fields.pop("platform_fee")
        request = BookingRequest(
            **fields,
            price_amount=price.amount,
            currency=price.currency,
            platform_fee_amount=fee.amount,
        )
        booking = Booking.request_new(booking_id, request)
        pi = f"pi_{uuid4().hex[:16]}"
        payment = Payment.record(
            payment_intent_id=pi,
            charge_id=f"ch_{pi}",
            amount=price,
            booking_id=booking_id,
            mentor_id=booking.mentor_id,
            paid_at=T0,
            disposition=Disposition.ACCEPTED,
        )
        booking.confirm_payment(payment.id, pi)
        uid = f"cal_{uuid4().hex[:12]}"
        booking.book(uid)
        self.ledger.save(booking, payment)
        self.bookings.append(booking_id)
        self.payments.append(payment.id)
        self.calcom[booking_id] = uid

    def _booking_step(self, kind: str, booking_id: UUID, args: list[Any]) -> None:
        ledger = self.ledger
        if kind == "pay":
            price = ledger.get_booking(booking_id).price
            amount = price if args[1] == "exact" else Money(price.amount + 1, price.currency)
            pi = f"pi_{uuid4().hex[:16]}"
            recorded = ledger.record_payment(
                payment_intent_id=pi,
                charge_id=f"ch_{pi}",
                amount=amount,
                booking_id=booking_id,
                paid_at=T0,
            )
            self.payments.append(recorded.payment_id)
        elif kind == "book":
            uid = f"cal_{uuid4().hex[:12]}"
            ledger.record_booked(booking_id=booking_id, calcom_booking_uid=uid)
            self.calcom[booking_id] = uid
        elif kind == "fail":
            ledger.record_booking_failed(booking_id=booking_id, reason="slot taken", final=True)
        elif kind == "expire":
            ledger.expire_booking(booking_id=booking_id)
        elif kind == "cancel":
            ledger.cancel_booking(
                booking_id=booking_id,
                by="user",
                reason="changed plans",
                refund=args[1],
                refund_percent=None if args[1] else args[2],
            )
        elif kind == "reschedule":
            uid = f"cal_{uuid4().hex[:12]}"
            start = T0 + timedelta(days=3 + args[1])
            ledger.reschedule_booking(
                booking_id=booking_id,
                from_calcom_booking_uid=self.calcom.get(booking_id, "none"),
                calcom_booking_uid=uid,
                start=start,
                end=start + timedelta(minutes=30),
                by="mentor",
            )
            self.calcom[booking_id] = uid
        elif kind == "no_show":
            ledger.report_no_show(
                booking_id=booking_id, party="mentor", by="user", reason="no one", outcome=args[1]
            )
        else:
            ledger.decide_no_show(booking_id=booking_id, decision=args[1], by="admin", reason="ok")

    def _payment_step(self, kind: str, payment_id: UUID, args: list[Any]) -> None:
        ledger = self.ledger
        payment = ledger.get_payment(payment_id)
        if kind == "refund":  # partial ones too: the running total decides the status
            left = payment.amount - payment.refunded_amount
            ledger.record_refund(
                payment_id=payment_id,
                refund_id=f"re_{uuid4().hex[:12]}",
                amount=Money(max(1, left * args[1] // 4), payment.currency),
                reason="requested",
            )
        elif kind == "payout":
            eligible = ledger.mark_payout_eligible(
                payment_id=payment_id,
                destination_account="acct_sandboxmentor01",
                now=T0 + HOLD + timedelta(days=10),
                hold=HOLD,
            )
            assert eligible.transfer_amount is not None
            if args[1] == "paid":
                ledger.record_paid_out(
                    payment_id=payment_id,
                    transfer_id=f"tr_{uuid4().hex[:12]}",
                    amount=Money(eligible.transfer_amount, eligible.currency),
                )
            else:
                ledger.record_payout_failed(
                    payment_id=payment_id, error="refused", retryable=args[1] == "retry"
                )
        elif kind == "reverse":
            left = payment.paid_out_amount - payment.reversed_amount
            ledger.record_payout_reversed(
                payment_id=payment_id,
                reversal_id=f"trr_{uuid4().hex[:12]}",
                amount=Money(max(left, 1), payment.currency),
            )
        else:
            ledger.record_dispute(
                payment_id=payment_id,
                dispute_id=f"dp_{uuid4().hex[:12]}",
                amount=Money(payment.amount, payment.currency),
                reason="fraudulent",
            )


Log = list[tuple[int, DomainEvent]]
Facts = dict[str, dict[str, tuple[Any, ...]]]


def _log(actions: list[tuple[Any, ...]]) -> tuple[Log, Facts]:
    """The log the actions write, and what the aggregates say each row must show."""
    with Ledger(eventsourcing_env("memory://")) as ledger:
        flows = Flows(ledger)
        for action in [("booked",), ("saved_together",), *actions]:
            with contextlib.suppress(LedgerError):  # a refused command records nothing
                flows.run(action)
        bookings = {
            str(b.id): (str(b.status), b.request.start, b.request.end)
            for b in map(ledger.get_booking, flows.bookings)
        }
        payments = {
            str(p.id): (str(p.status), p.refunded_amount)
            for p in map(ledger.get_payment, flows.payments)
        }
        return list(iter_domain_events(ledger)), {"bookings": bookings, "payments": payments}


def _rows(
    store: ReadModelStore,
    projection: Projection,
    log: Log,
    cuts: list[int],
) -> list[dict[str, Any]]:
    """The projection's rows after applying ``log`` in batches ending at ``cuts``."""
    events = [(p, e) for p, e in log if type(e).TOPIC in projection.topics]  # type: ignore[attr-defined]
    with store.ddl_transaction() as tx:
        projection.drop_tables(tx)
        projection.create_tables(tx)
    bounds = sorted({0, len(events), *(c % (len(events) + 1) for c in cuts)})
    for start, end in itertools.pairwise(bounds):
        with store.transaction() as tx:
            projection.apply(tx, events[start:end])
    with store.transaction(readonly=True) as tx:
        return tx.execute(f"SELECT * FROM {projection.name} ORDER BY id").fetchall()


@pytest.fixture
def store(database_url: str) -> Any:
    with ReadModelStore(database_url, pool_size=1) as store:
        yield store


@pytest.fixture
def postgres_store(postgres_url: str) -> Any:
    with ReadModelStore(postgres_url, pool_size=1) as store:
        yield store


def _any_batching_gives_the_rows_of_one_event_per_batch(
    store: ReadModelStore, actions: list[tuple[Any, ...]], cuts: list[int]
) -> None:
    log, facts = _log(actions)
    for projection in (BookingsProjection(), PaymentsProjection()):
        one_by_one = _rows(store, projection, log, list(range(len(log) + 1)))
        columns = (
            ("status", "start_time", "end_time")
            if projection.name == "bookings"
            else ("status", "amount_refunded")
        )
        shown = {row["id"]: tuple(row[c] for c in columns) for row in one_by_one}
        assert shown == facts[projection.name]  # what the aggregates decided
        assert _rows(store, projection, log, cuts) == one_by_one, projection.name
        assert _rows(store, projection, log, []) == one_by_one, projection.name  # one batch


_BATCHINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
_LOGS_AND_CUTS = given(
    actions=st.lists(step, min_size=5, max_size=30),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=6),
)


@_BATCHINGS
@_LOGS_AND_CUTS
def test_any_batching_gives_the_rows_of_one_event_per_batch(
    store: ReadModelStore, actions: list[tuple[Any, ...]], cuts: list[int]
) -> None:
    _any_batching_gives_the_rows_of_one_event_per_batch(store, actions, cuts)


@pytest.mark.postgres
@_BATCHINGS
@_LOGS_AND_CUTS
def test_staged_updates_give_the_rows_of_one_event_per_batch(
    postgres_store: ReadModelStore,
    monkeypatch: pytest.MonkeyPatch,
    actions: list[tuple[Any, ...]],
    cuts: list[int],
) -> None:
    """On PostgreSQL, many changes of one shape go through a staging table: with a threshold
    of one, every change does, so both paths meet the same logs."""
    monkeypatch.setattr(bulk_rows, "STAGING_MIN_ROWS", 1)
    _any_batching_gives_the_rows_of_one_event_per_batch(postgres_store, actions, cuts)
