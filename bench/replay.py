"""How fast can every read model be rebuilt from the ledger on PostgreSQL?

Creates scratch databases (dropped at the end) on the server named by
``MENTORPAY_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``):
one holds the ledger and our read models; each runner measurement gets a fresh one for the
library runner's copy of them.

1. Writes a log of complete sessions (Requested, Paid, PaymentConfirmed, Booked,
   PayoutEligible, PaidOut: 6 events each), many sessions per ``save`` (one transaction),
   through the ledger's own recorder, up to each size in ``--sizes``.
2. At each size, times reading and decoding the whole log once (``iter_domain_events``, in
   batches of ``--batch-size``, writing nothing), and again reading each next batch on a
   thread while this one is decoded (as the one pass reads): the faster is the rate no
   projection can beat. Both with the cyclic garbage collector paused, as in the one pass.
3. Times ``mentorpay replay`` (``Follower.replay``: drop, then batches of
   ``--batch-size`` events, one transaction each with the tracking position) for the
   ``bookings``, ``payments`` and ``journal`` projections, and reports events/s of the log.
4. Times ``mentorpay replay`` of the three in ONE pass (``projections.replay``: each batch
   read and decoded once, then one transaction per read model with its tracking position),
   right after both of step 2's ways again on the same log, and prints its rate against the
   faster.
5. On the same log, times the library's ``eventsourcing.projection.ProjectionRunner``
   applying the same three projections one event per transaction (with its tracking row),
   over the first ``--runner-events`` events only (it runs at hundreds of events/s; the
   whole 1M log would take most of an hour): the rate is that prefix's.

Usage: ``.venv/bin/python -m bench.replay [--sizes 100000 1000000] [--runner-events 20000]``
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlsplit

from eventsourcing.persistence import Notification, Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.projection import Projection as LibraryProjection
from eventsourcing.projection import ProjectionRunner

from bench.scratch import SERVER_URL, scratch_database
from ledger import Booking, BookingRequest, Disposition, Ledger, Money, Payment
from mentorpay.bootstrap import read_models
from mentorpay.persistence import eventsourcing_env
from projections.event_log import iter_domain_events
from projections.follower import Follower, Projection
from projections.replay import cyclic_gc_paused, replay_together
from projections.store import ReadModelStore, Transaction

EVENTS_PER_SESSION = 6
SESSIONS_PER_SAVE = 200  # 1,200 events per transaction
PRICE = Money(7500, "usd")
FEE = Money(750, "usd")
T0 = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
HOLD = timedelta(hours=72)
RUNNER_NAME = "bench_runner"
ONE_PASS_READ_MODELS = ("bookings", "payments", "journal")


def bench_env(url: str) -> dict[str, str]:
    """The ledger's settings with small connection pools: the server is shared."""
    return {**eventsourcing_env(url), "POSTGRES_POOL_SIZE": "2", "POSTGRES_MAX_OVERFLOW": "2"}


# --- the log ------------------------------------------------------------------------------


def _session(n: int) -> tuple[Booking, Payment]:
    """One finished session, decided by the aggregates' own command methods."""
    booking_id = uuid.uuid4()
    start = T0 + timedelta(days=3, minutes=30 * (n % 1000))
    booking = Booking.request_new(
        booking_id,
        BookingRequest(
            user_id=f"user-{n % 5000}",
            mentor_id=f"mentor-{n % 50}",
            event_type_id=1001,
            start=start,
            end=start + timedelta(minutes=30),
            attendee_name="Grace Hopper",
            attendee_email="grace@example.com",
            attendee_time_zone="Europe/Berlin",
            price_amount=PRICE.amount,
            currency=PRICE.currency,
            platform_fee_amount=FEE.amount,
            checkout_session_id=f"cs_bench_{booking_id.hex}",
            reservation_uid=None,
            expires_at=T0 + timedelta(minutes=30),
        ),
    )
    pi = f"pi_bench_{booking_id.hex}"
    payment = Payment.record(
        payment_intent_id=pi,
        charge_id=f"ch_bench_{booking_id.hex}",
        amount=PRICE,
        booking_id=booking_id,
        mentor_id=booking.mentor_id,
        paid_at=T0,
        disposition=Disposition.ACCEPTED,
    )
    booking.confirm_payment(payment.id, pi)
    booking.book(f"cal_bench_{booking_id.hex[:12]}")
    payment.make_payout_eligible(
        destination_account="acct_bench",
        now=T0 + HOLD,
        hold=HOLD,
        booking_payable=True,
        price_amount=PRICE.amount,
        platform_fee_amount=FEE.amount,
    )
    payment.pay_out(f"tr_bench_{booking_id.hex[:16]}", Money(PRICE.amount - FEE.amount, "usd"))
    return booking, payment


def grow_log(ledger: Ledger, size: int) -> float:
    """Append sessions until the log holds ``size`` events; the seconds it took."""
    started = time.perf_counter()
    have = ledger.recorder.max_notification_id() or 0
    sessions = 0
    while have < size:
        count = min(SESSIONS_PER_SAVE, -(-(size - have) // EVENTS_PER_SESSION))
        aggregates = [a for n in range(count) for a in _session(sessions + n)]
        sessions += count
        ledger.save(*aggregates)
        have = ledger.recorder.max_notification_id() or 0
    return time.perf_counter() - started


# --- the library's runner, applying the same projections ----------------------------------


class RunnerView(PostgresTrackingRecorder):
    """Our three read models, written by the library's runner: one transaction per event,
    with the library's tracking row, as ``ProjectionRunner`` is meant to be used."""

    projections: ClassVar[list[Projection]] = []

    def apply(self, event: Any, topic: str, tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as curs:
            tx = Transaction("postgres", curs)
            for projection in self.projections:
                if topic in projection.topics:  # type: ignore[attr-defined]
                    projection.apply(tx, [(tracking.notification_id, event)])
            self._insert_tracking(curs, tracking)


class AllReadModels(LibraryProjection[RunnerView]):
    name = RUNNER_NAME

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.apply(domain_event, type(domain_event).TOPIC, tracking)


def time_runner(events_url: str, events: int) -> float:
    """Seconds the library's runner takes to apply the first ``events`` events, into a fresh
    database of its own (empty tables, no tracking rows)."""
    RunnerView.projections = read_models()
    with scratch_database("views") as views_url:
        env = bench_env(events_url)
        env[f"{RUNNER_NAME.upper()}_POSTGRES_DBNAME"] = urlsplit(views_url).path.lstrip("/")
        with ReadModelStore(views_url, pool_size=2) as views, views.transaction() as tx:
            for projection in RunnerView.projections:
                projection.create_tables(tx)
        started = time.perf_counter()
        with ProjectionRunner(
            application_class=Ledger,
            projection_class=AllReadModels,
            view_class=RunnerView,
            env=env,
        ) as runner:
            runner.wait(events, timeout=3600)
            return time.perf_counter() - started


def time_read_and_decode(ledger: Ledger, batch_size: int) -> float:
    """Seconds to merely read and decode every event of the log, writing nothing (with the
    cyclic garbage collector paused, as in the one pass)."""
    started = time.perf_counter()
    with cyclic_gc_paused():
        count = sum(1 for _ in iter_domain_events(ledger, batch_size=batch_size))
    assert count == (ledger.recorder.max_notification_id() or 0)
    return time.perf_counter() - started


def time_read_ahead_and_decode(ledger: Ledger, batch_size: int) -> float:
    """The same, with the next batch read (on a thread) while this one is decoded, as the one
    pass reads: the server's work on the next batch overlaps Python's on this one."""
    head = ledger.recorder.max_notification_id() or 0

    def read(after: int) -> list[Notification]:
        return list(
            ledger.recorder.select_notifications(
                after, batch_size, stop=head, inclusive_of_start=False
            )
        )

    started = time.perf_counter()
    count = 0
    with cyclic_gc_paused(), ThreadPoolExecutor(max_workers=1) as pool:
        ahead: Future[list[Notification]] | None = pool.submit(read, 0)
        while ahead is not None:
            notifications = ahead.result()
            last = notifications[-1].id if notifications else head
            ahead = pool.submit(read, last) if last < head else None
            count += len([ledger.mapper.to_domain_event(n) for n in notifications])
    assert count == head
    return time.perf_counter() - started


def time_replay(ledger: Ledger, store: ReadModelStore, batch_size: int) -> dict[str, float]:
    seconds: dict[str, float] = {}
    for projection in read_models():
        started = time.perf_counter()
        Follower(ledger, store, projection).replay(batch_size=batch_size)
        seconds[projection.name] = time.perf_counter() - started
    return seconds


def time_one_pass(ledger: Ledger, store: ReadModelStore, batch_size: int) -> float:
    """Seconds to rebuild bookings, payments and journal together in one pass."""
    followers = [
        Follower(ledger, store, p) for p in read_models() if p.name in ONE_PASS_READ_MODELS
    ]
    started = time.perf_counter()
    replay_together(followers, batch_size=batch_size)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--runner-events", type=int, default=20_000)
    args = parser.parse_args()

    print(f"PostgreSQL at {urlsplit(SERVER_URL).hostname}; {os.cpu_count()} cores")
    with scratch_database("events") as events_url:
        ledger = Ledger(bench_env(events_url))
        store = ReadModelStore(events_url, pool_size=len(ONE_PASS_READ_MODELS))
        try:
            for size in sorted(args.sizes):
                took = grow_log(ledger, size)
                head = ledger.recorder.max_notification_id() or 0
                print(f"\nlog of {head:,} events (appended in {took:.1f}s)")
                read_s = time_read_and_decode(ledger, args.batch_size)
                print(f"  read and decode   {read_s:7.1f}s  {head / read_s:>9,.0f} log events/s")
                seconds = time_replay(ledger, store, args.batch_size)
                for name, s in seconds.items():
                    print(f"  replay {name:<9} {s:7.1f}s  {head / s:>9,.0f} log events/s")
                total = sum(seconds.values())
                print(
                    f"  replay all {len(seconds)}    {total:7.1f}s  {head / total:>9,.0f}"
                    " log events/s (one after another)"
                )
                # Read-and-decode again right before, so the ratio compares like with like on
                # a machine whose load changes; the faster of the two ways is the baseline.
                plain_s = time_read_and_decode(ledger, args.batch_size)
                ahead_s = time_read_ahead_and_decode(ledger, args.batch_size)
                one_pass_s = time_one_pass(ledger, store, args.batch_size)
                read_again_s = min(plain_s, ahead_s)
                print(
                    f"  read and decode   {plain_s:7.1f}s  {head / plain_s:>9,.0f}"
                    " log events/s (again, just before the one pass)"
                )
                print(
                    f"  read ahead+decode {ahead_s:7.1f}s  {head / ahead_s:>9,.0f}"
                    " log events/s (next batch read while this one is decoded)"
                )
                print(
                    f"  one pass of {len(ONE_PASS_READ_MODELS)}     {one_pass_s:7.1f}s"
                    f"  {head / one_pass_s:>9,.0f} log events/s"
                    f" ({', '.join(ONE_PASS_READ_MODELS)}): {read_again_s / one_pass_s:.2f}x"
                    " the faster read-and-decode rate"
                )
                prefix = min(head, args.runner_events)
                runner_s = time_runner(events_url, prefix)
                note = "whole log" if prefix == head else f"first {prefix:,} events only"
                print(
                    f"  ProjectionRunner  {runner_s:7.1f}s  {prefix / runner_s:>9,.0f} events/s"
                    f" (all of them, one transaction per event; {note})"
                )
                runner_rate = prefix / runner_s
                print(
                    f"  all read models one after another: {(head / total) / runner_rate:.0f}x"
                    f" the runner, {read_s / total:.2f}x the read-and-decode rate"
                )
                print(
                    f"  bookings, payments and journal in one pass:"
                    f" {(head / one_pass_s) / runner_rate:.0f}x the runner,"
                    f" {read_again_s / one_pass_s:.2f}x the read-and-decode rate"
                )
        finally:
            store.close()
            ledger.close()


if __name__ == "__main__":
    main()
