"""Group commit on SQLite and PostgreSQL: concurrent commands share transactions, and every
caller still gets its own outcome (stored, a typed error, or a conflict retried alone)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar
from uuid import UUID

import pytest
from eventsourcing.domain import Aggregate, DomainEventProtocol, event
from eventsourcing.persistence import IntegrityError, OperationalError, StoredEvent

from ledger import Ledger, Money, PaymentRecorded, RefundExceedsPayment
from ledger.group_commit import GroupCommitter
from mentorpay.persistence import eventsourcing_env
from tests.support.ledger_factories import T0, accepted_booking, request_booking, stored_topics
from tests.support.waiting import wait_until

THREADS = 16
T = TypeVar("T")


class GatedLedger(Ledger):
    """A ledger whose saves can be held at a gate, so a test decides what queues behind one."""

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__(env)
        self.gate = threading.Event()
        self.gate.set()
        self.held = threading.Event()  # a save is waiting at the closed gate
        self.saves: list[int] = []  # events per save, in order

    def _save_events(self, events: Sequence[StoredEvent]) -> None:
        # The group committer's save (every command's events go through it).
        if not self.gate.is_set():
            self.held.set()
            assert self.gate.wait(timeout=30)
        self.saves.append(len(events))
        super()._save_events(events)


@pytest.fixture
def gated(database_url: str) -> Iterator[GatedLedger]:
    with GatedLedger(eventsourcing_env(database_url)) as app:
        yield app


def all_at_once(work: Callable[[int], T], threads: int = THREADS) -> list[T | Exception]:
    """Run ``work(i)`` on ``threads`` threads released together by a barrier."""
    barrier = threading.Barrier(threads)

    def run(i: int) -> T | Exception:
        barrier.wait(timeout=30)
        try:
            return work(i)
        except Exception as error:  # collected: the test decides which errors are expected
            return error

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(run, range(threads)))


def behind_a_held_save(
    ledger: GatedLedger,
    commands: Sequence[Callable[[], T]],
    *,
    first: Callable[[], object] | None = None,
    waiting: Callable[[], int] | None = None,
) -> list[Future[T]]:
    """Hold a first save (``first``, by default a booking request) at the gate, queue
    ``commands`` behind it (``waiting`` counts them; by default the ledger's queue), then let
    them all go: the queued ones are saved together in the next transaction."""
    ledger.gate.clear()
    ledger.held.clear()
    pool = ThreadPoolExecutor(max_workers=len(commands) + 1)
    held = pool.submit(first or (lambda: request_booking(ledger)))
    assert ledger.held.wait(timeout=30)
    futures = [pool.submit(command) for command in commands]
    count = waiting or (lambda: ledger.saves_waiting)
    wait_until(lambda: count() == len(commands), timeout=30)
    ledger.gate.set()
    held.result(timeout=30)
    pool.shutdown(wait=True)
    return futures


def test_the_same_payment_reported_sixteen_times_at_once_is_recorded_once(
    gated: GatedLedger,
) -> None:
    booking_id = request_booking(gated)

    results = all_at_once(
        lambda _: gated.record_payment(
            payment_intent_id="pi_race",
            charge_id="ch_race",
            amount=Money(7500, "usd"),
            booking_id=booking_id,
            paid_at=T0,
        )
    )

    assert all(isinstance(r, PaymentRecorded) for r in results), results
    recorded = [r for r in results if isinstance(r, PaymentRecorded)]
    assert sum(r.newly_recorded for r in recorded) == 1
    assert Counter(stored_topics(gated)) == {
        "mentorpay.Booking.Requested": 1,
        "mentorpay.Payment.Paid": 1,
        "mentorpay.Booking.PaymentConfirmed": 1,
        "mentorpay.Booking.PolicyFixed": 1,
    }


def test_concurrent_payments_of_different_bookings_are_saved_together_and_all_recorded(
    gated: GatedLedger,
) -> None:
    bookings = [request_booking(gated) for _ in range(6)]
    before = len(gated.saves)
    stats_before = gated.commit_stats
    assert stats_before is not None

    futures = behind_a_held_save(
        gated,
        [
            lambda booking_id=booking_id: gated.record_payment(
                payment_intent_id=f"pi_{booking_id.hex}",
                charge_id=f"ch_{booking_id.hex}",
                amount=Money(7500, "usd"),
                booking_id=booking_id,
                paid_at=T0,
            )
            for booking_id in bookings
        ],
    )

    assert all(f.result().newly_recorded for f in futures)
    # The held save, then one transaction with the six payments (paid, confirmed, policy fixed).
    assert gated.saves[before:] == [1, 6 * 3]
    stats = gated.commit_stats
    assert stats is not None and stats.split == 0
    assert (
        stats.transactions - stats_before.transactions,
        stats.commands - stats_before.commands,
    ) == (2, 7)
    for booking_id in bookings:
        assert gated.get_booking(booking_id).payment_id is not None


def test_two_refunds_of_one_payment_in_one_batch_are_not_both_saved_from_the_same_state(
    gated: GatedLedger,
) -> None:
    _, payment_id = accepted_booking(gated)  # 7500 paid: one refund of 5000 fits, not two

    futures = behind_a_held_save(
        gated,
        [
            lambda i=i: gated.record_refund(
                payment_id=payment_id, refund_id=f"re_{i}", amount=Money(5000, "usd"), reason="x"
            )
            for i in range(2)
        ],
    )

    outcomes = [f.exception() or f.result() for f in futures]
    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], RefundExceedsPayment), outcomes
    assert gated.get_payment(payment_id).refunded_amount == 5000


class Probe(Aggregate):
    """A test-only aggregate whose events can carry what the store cannot encode."""

    @event("Noted")
    def __init__(self, payload: Any) -> None:
        self.payload = payload

    @event("Amended")
    def amend(self, payload: Any) -> None:
        self.payload = payload


def _events(*aggregates: Aggregate) -> list[DomainEventProtocol[UUID]]:
    return [e for a in aggregates for e in a.collect_events()]


def _stored(ledger: Ledger, *aggregates: Aggregate) -> list[StoredEvent]:
    """What the ledger queues for a command: its events, encoded."""
    return [ledger.mapper.to_stored_event(e) for e in _events(*aggregates)]


def test_a_conflict_in_a_batch_fails_only_its_command_and_the_others_are_stored(
    gated: GatedLedger,
) -> None:
    booking_id = request_booking(gated)
    stale = gated.get_booking(booking_id)
    gated.expire_booking(booking_id=booking_id)  # version 2, by "another process"
    stale.cancel("user", "changed plans", False)  # decided from version 1
    others = [gated.get_booking(request_booking(gated)) for _ in range(3)]
    for booking in others:
        booking.expire()
    committer = GroupCommitter(gated._save_events)
    gated.saves.clear()

    futures = behind_a_held_save(
        gated,
        [lambda: committer.commit(_stored(gated, stale))]
        + [lambda b=b: committer.commit(_stored(gated, b)) for b in others],
        first=lambda: committer.commit(_stored(gated, Probe(payload="first"))),
        waiting=lambda: committer.waiting,
    )

    assert isinstance(futures[0].exception(), IntegrityError)
    assert all(f.exception() is None for f in futures[1:])
    # The held save; the batch, refused with nothing written; then its commands one by one.
    assert gated.saves == [1, 4, 1, 1, 1, 1]
    # What operations see of it (``/metrics``): two transactions, one of them split.
    stats = committer.stats
    assert (stats.transactions, stats.commands, stats.events, stats.split) == (2, 5, 5, 1)
    assert stats.save_seconds > 0
    assert gated.get_booking(booking_id).status == "EXPIRED"
    for booking in others:
        assert gated.get_booking(booking.id).status == "EXPIRED"


def test_a_command_whose_events_cannot_be_encoded_fails_alone_and_the_batch_is_whole(
    gated: GatedLedger,
) -> None:
    committer = GroupCommitter(gated._save_events)
    good = [Probe(payload=f"ok-{i}") for i in range(3)]
    for probe in good:  # each a command of two events: both stored or neither
        probe.amend(f"{probe.payload}-amended")
    before = len(stored_topics(gated))

    def bad_then(probe: Probe) -> None:
        # Encoded on the caller's thread, before it is queued: it never reaches a batch.
        with pytest.raises(TypeError):
            committer.commit(_stored(gated, Probe(payload=object())))
        committer.commit(_stored(gated, probe))

    futures = behind_a_held_save(
        gated,
        [lambda p=p: bad_then(p) for p in good],
        first=lambda: committer.commit(_stored(gated, Probe(payload="first"))),
        waiting=lambda: committer.waiting,
    )

    assert all(f.exception() is None for f in futures)
    assert gated.saves[-1] == 2 * len(good)  # the three commands in one transaction
    for probe in good:
        assert gated.repository.get(probe.id).payload == probe.payload
    added = Counter(stored_topics(gated, after=before))
    assert added == {f"{__name__}:Probe.Noted": 4, f"{__name__}:Probe.Amended": 3}


def test_sixteen_concurrent_refunds_never_exceed_the_payment(gated: GatedLedger) -> None:
    _, payment_id = accepted_booking(gated)  # 7500 paid
    # 16 refunds of 600 would be 9600: only 12 fit; the others' callers get the typed error.
    results = all_at_once(
        lambda i: gated.record_refund(
            payment_id=payment_id, refund_id=f"re_{i}", amount=Money(600, "usd"), reason="split"
        )
    )

    errors = [r for r in results if isinstance(r, Exception)]
    assert all(isinstance(e, RefundExceedsPayment) for e in errors), errors
    assert len(errors) == 4
    assert gated.get_payment(payment_id).refunded_amount == 12 * 600
    assert Counter(stored_topics(gated))["mentorpay.Payment.Refunded"] == 12


# --- the committer's own rules, on the in-memory store ----------------------------------


def test_a_lost_connection_fails_each_caller_of_the_batch_with_its_own_error() -> None:
    with Ledger(eventsourcing_env("memory://")) as ledger:
        gate = threading.Event()
        calls: list[int] = []

        def save(events: Sequence[DomainEventProtocol[UUID]]) -> None:
            calls.append(len(events))
            if len(calls) == 1:
                assert gate.wait(timeout=30)
                ledger.save(*events)
                return
            raise OperationalError("connection lost")

        committer = GroupCommitter(save)
        probes = [Probe(payload=i) for i in range(4)]
        with ThreadPoolExecutor(max_workers=4) as pool:
            first = pool.submit(committer.commit, _events(probes[0]))
            wait_until(lambda: calls)
            rest = [pool.submit(committer.commit, _events(p)) for p in probes[1:]]
            wait_until(lambda: committer.waiting == 3)
            gate.set()
            assert first.result(timeout=30) is None
            errors = [f.exception(timeout=30) for f in rest]

        assert calls == [1, 3]  # no one-by-one retries against a lost connection
        assert all(isinstance(e, OperationalError) for e in errors)
        assert len({id(e) for e in errors}) == 3
        assert probes[0].id in ledger.repository
        assert not any(p.id in ledger.repository for p in probes[1:])


def test_with_group_commit_off_each_command_saves_on_its_own(sqlite_url: str) -> None:
    with Ledger(eventsourcing_env(sqlite_url), group_commit=False) as ledger:
        booking_id = request_booking(ledger)
        results = all_at_once(
            lambda _: ledger.record_payment(
                payment_intent_id="pi_one",
                charge_id="ch_one",
                amount=Money(7500, "usd"),
                booking_id=booking_id,
                paid_at=T0,
            ),
            threads=4,
        )
        assert sum(isinstance(r, PaymentRecorded) and r.newly_recorded for r in results) == 1
        assert ledger.saves_waiting == 0


def test_nothing_to_store_is_not_queued() -> None:
    committer = GroupCommitter(lambda events: pytest.fail("saved nothing"))
    committer.commit([])
    assert committer.waiting == 0


def test_a_save_waits_for_a_command_still_being_decided_and_takes_it_along() -> None:
    with Ledger(eventsourcing_env("memory://")) as ledger:
        saves: list[int] = []

        def save(events: Sequence[DomainEventProtocol[UUID]]) -> None:
            saves.append(len(events))
            ledger.save(*events)

        committer = GroupCommitter(save, max_wait=30)
        deciding, decided = threading.Event(), threading.Event()

        def slow_command() -> None:
            with committer.deciding():
                deciding.set()
                assert decided.wait(timeout=30)  # still reading, say
                committer.commit(_events(Probe(payload="slow")))

        with ThreadPoolExecutor(max_workers=2) as pool:
            slow = pool.submit(slow_command)
            assert deciding.wait(timeout=30)
            fast = pool.submit(committer.commit, _events(Probe(payload="fast")))
            wait_until(lambda: committer.waiting == 1)  # queued, its leader waiting
            assert saves == []
            decided.set()
            slow.result(timeout=30)
            fast.result(timeout=30)

        assert saves == [2]  # one transaction for both


def test_a_command_that_ends_without_saving_releases_a_waiting_save_at_once() -> None:
    with Ledger(eventsourcing_env("memory://")) as ledger:
        committer = GroupCommitter(lambda events: ledger.save(*events), max_wait=30)
        done = threading.Event()
        with ThreadPoolExecutor(max_workers=2) as pool:
            with committer.deciding():  # e.g. an idempotent repeat: nothing to save
                fast = pool.submit(committer.commit, _events(Probe(payload="fast")))
                wait_until(lambda: committer.waiting == 1)
                fast.add_done_callback(lambda _: done.set())
                assert not done.is_set()
            fast.result(timeout=5)  # not the 30 s the leader may wait


def test_a_lone_command_never_waits() -> None:
    with Ledger(eventsourcing_env("memory://")) as ledger:
        committer = GroupCommitter(lambda events: ledger.save(*events), max_wait=30)

        def alone() -> None:
            with committer.deciding(), committer.deciding():  # nested: counted once
                committer.commit(_events(Probe(payload="alone")))
            with committer.deciding():
                committer.commit(_events(Probe(payload="again")))

        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(alone).result(timeout=5)  # not the 30 s a leader may wait
