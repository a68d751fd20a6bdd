"""How long one payout run takes with 1,000 payments due among many already paid out, and how
fast a run pays out at each concurrency.

For each background size (default 10,000 and 1,000,000 paid-out payments), on a scratch
PostgreSQL database (created and dropped) on the server named by ``MENTORPAY_TEST_POSTGRES_URL``:

1. the paid-out background is written straight into the ``payments`` read model with COPY
   (rows as the projection writes them: status ``paid``, booking ``ACCEPTED``), then ANALYZE;
2. the due payments are made for real, in bulk: one sandbox control call per 1,000 makes each
   a paid Checkout Session (a real PaymentIntent and Charge to transfer from, as the gateway's
   calls and ``/pay`` would), then the ledger gets the events ``Requested`` → ``Paid`` +
   ``PaymentConfirmed`` + ``PolicyFixed`` → ``Booked`` from the same aggregate methods, saved
   in batches in the commands' order, projected by the payments follower;
3. measured: the eligibility query alone (median of 5, with its EXPLAIN ANALYZE), then ONE
   ``PayoutService.run()`` (its clock 72 h ahead) — read-model catch-up, the query, and per
   payment: ``PayoutEligible``, transfer look-up, transfer, ``PaidOut`` against the sandbox
   Stripe on loopback — then the query again once those are paid out too;
4. steps 2-3 once more for each further ``--concurrency`` (a fresh batch of due payments each
   time), so the runs compare threads per run (1 against the product's default) on equal work;
5. the sandbox's transfers counted per transfer group: one per due payment, none doubled.

The sandbox runs in a process of its own (its CPU is not the payout run's). ``--rate`` is the
request pace toward Stripe; unpaced by default, so the figure is what the machine can do (at
the product's 20 requests/s a payout's two requests make a ceiling of 10 payouts/s).

Usage: ``.venv/bin/python -m bench.payout_scan [--background 10000,1000000] [--due 1000]
[--concurrency 1,4] [--rate none|N] [--after-session-hours 24|none]`` (with the default, the
query is the one that also filters on the session's end, as the product runs it), e.g.
``--background 10000 --due 10000`` for 10,000 payouts a run.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import stripe

from bench.product_processes import sandbox_process
from bench.scratch import scratch_database
from ledger import Booking, BookingRequest, Disposition, Ledger, Money, Payment
from mentorpay.persistence import eventsourcing_env
from mentorpay.settings import Settings
from processes.gateways.stripe_gateway import StripeGateway
from processes.services.payouts import PayoutService
from projections.catalog import Catalog
from projections.catalog_file import parse_catalog
from projections.follower import Follower
from projections.payments import (
    PAYOUT_CANDIDATES,
    PAYOUT_CANDIDATES_AFTER_SESSION,
    PaymentsProjection,
    payout_candidates,
)
from projections.store import ReadModelStore

HOLD = timedelta(hours=72)
PRICE = Money(7500, "usd")
FEE = Money(750, "usd")
MENTOR = "mentor-bench"
CATALOG = {
    "mentors": [
        {"id": MENTOR, "name": "Bench Mentor", "stripe_account_id": "acct_sandboxmentor01"}
    ],
    "event_types": [
        {
            "id": 1001,
            "mentor_id": MENTOR,
            "title": "Bench session",
            "duration_minutes": 30,
            "price": {"amount": PRICE.amount, "currency": PRICE.currency},
        }
    ],
}
COPY_BACKGROUND = """
COPY payments (id, stripe_payment_intent_id, stripe_charge_id, amount, currency, status,
    disposition, booking_id, booking_payable, mentor_id, paid_at, destination_account,
    transfer_amount, transfer_id, last_position, created_at, updated_at)
FROM STDIN
"""


def copy_background(database_url: str, count: int) -> float:
    """Write ``count`` paid-out payments as the projection would have; seconds taken."""
    started = time.perf_counter()
    paid_at = datetime(2029, 1, 1, tzinfo=UTC)
    with psycopg.connect(database_url) as conn, conn.cursor() as cursor:
        with cursor.copy(COPY_BACKGROUND) as copy:
            for n in range(count):
                at = paid_at + timedelta(seconds=n)
                copy.write_row(
                    (
                        uuid.uuid4(),
                        f"pi_bg_{n}",
                        f"ch_bg_{n}",
                        PRICE.amount,
                        PRICE.currency,
                        "paid",
                        "accepted",
                        uuid.uuid4(),
                        True,
                        MENTOR,
                        at,
                        "acct_sandboxmentor01",
                        PRICE.amount - FEE.amount,
                        f"tr_bg_{n}",
                        0,
                        at,
                        at,
                    )
                )
        cursor.execute("ANALYZE payments")
    return time.perf_counter() - started


SESSIONS_FROM = datetime(2031, 1, 1, tzinfo=UTC)


SETUP_BATCH = 1000  # sessions per sandbox call, and bookings per ledger transaction


def make_due_batch(ledger: Ledger, sandbox_url: str, first: int, count: int) -> None:
    """``count`` sessions paid by card in the sandbox (one control call: each a real Checkout
    Session, PaymentIntent and Charge, as the gateway's calls would make them) and booked in
    the ledger: the events ``request_booking``, ``record_payment`` and ``record_booked`` record,
    made by the same aggregate methods, saved in one transaction for the batch."""
    bookings = [uuid.uuid4() for _ in range(count)]
    response = httpx.post(
        f"{sandbox_url}/_sandbox/checkout/sessions/paid",
        json={
            "bookings": [str(b) for b in bookings],
            "amount": PRICE.amount,
            "currency": PRICE.currency,
        },
        timeout=300,
    )
    response.raise_for_status()
    paid_sessions = response.json()["data"]
    requested = []
    for n, (booking_id, paid) in enumerate(zip(bookings, paid_sessions, strict=True)):
        assert paid["booking_id"] == str(booking_id)
        start = SESSIONS_FROM + timedelta(hours=first + n)
        requested.append(
            Booking.request_new(
                booking_id,
                BookingRequest(
                    user_id="bench-user",
                    mentor_id=MENTOR,
                    event_type_id=1001,
                    start=start,
                    end=start + timedelta(minutes=30),
                    attendee_name="Bench Attendee",
                    attendee_email="bench@example.com",
                    attendee_time_zone="UTC",
                    price_amount=PRICE.amount,
                    currency=PRICE.currency,
                    platform_fee_amount=FEE.amount,
                    checkout_session_id=paid["checkout_session"],
                    reservation_uid=None,
                    expires_at=datetime.fromtimestamp(paid["expires_at"], UTC),
                ),
            )
        )
    # The three commands' transactions, in their order (the projections rely on it): each
    # booking requested; its payment recorded with the booking confirmed; then booked.
    ledger.save(*requested)
    policy = ledger.policies.policy_for(1001)
    paid_and_confirmed: list[Booking | Payment] = []
    for booking, paid in zip(requested, paid_sessions, strict=True):
        amount = Money(paid["amount"], paid["currency"])
        assert booking.disposition_for(amount) == Disposition.ACCEPTED
        payment = Payment.record(
            payment_intent_id=paid["payment_intent"],
            charge_id=paid["charge"],
            amount=amount,
            booking_id=booking.id,
            mentor_id=MENTOR,
            paid_at=datetime.fromtimestamp(paid["created"], UTC),
            disposition=Disposition.ACCEPTED,
        )
        booking.confirm_payment(payment.id, paid["payment_intent"])
        booking.fix_policy(policy)
        paid_and_confirmed += (payment, booking)
    ledger.save(*paid_and_confirmed)
    for n, booking in enumerate(requested):
        booking.book(f"cal_bench_{first + n}")
    ledger.save(*requested)


def transfers_per_group(sandbox_url: str) -> collections.Counter[str]:
    """How many transfers the sandbox Stripe holds for each transfer group (booking id)."""
    client = stripe.StripeClient(
        "sk_test_bench_checks", base_addresses={"api": sandbox_url}, max_network_retries=0
    )
    transfers = client.v1.transfers.list(params={"limit": 100}).auto_paging_iter()
    return collections.Counter(t.transfer_group or "" for t in transfers)


def time_query(
    store: ReadModelStore,
    paid_before: datetime,
    ended_before: datetime | None = None,
    repeat: int = 5,
) -> tuple[int, float]:
    """Rows found and the median milliseconds of the eligibility query."""
    timings, rows = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        with store.transaction(readonly=True) as tx:
            rows = len(payout_candidates(tx, paid_before, ended_before))
        timings.append((time.perf_counter() - started) * 1000)
    return rows, statistics.median(timings)


def explain(store: ReadModelStore, paid_before: datetime, ended_before: datetime | None) -> str:
    params: tuple[datetime, ...]
    if ended_before is None:
        sql, params = PAYOUT_CANDIDATES, (paid_before,)
    else:
        sql, params = PAYOUT_CANDIDATES_AFTER_SESSION, (paid_before, ended_before)
    with store.transaction(readonly=True) as tx:
        plan = tx.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params).fetchall()
    return "\n".join("    " + row["QUERY PLAN"] for row in plan)


def make_due_payments(ledger: Ledger, sandbox_url: str, first: int, count: int) -> None:
    started = time.perf_counter()
    for offset in range(0, count, SETUP_BATCH):
        make_due_batch(ledger, sandbox_url, first + offset, min(SETUP_BATCH, count - offset))
    print(
        f"setup: {count:,} paid in the sandbox (bulk control) and booked in the ledger "
        f"(batched saves): {time.perf_counter() - started:.1f} s",
        flush=True,
    )


def measure(
    background: int,
    due: int,
    after_session: timedelta | None,
    concurrencies: list[int],
    rate: float | None,
    sandbox_url: str,
) -> None:
    print(f"\n== {due:,} due among {background:,} paid out ==", flush=True)
    with scratch_database("payouts") as database_url:
        ledger = Ledger(eventsourcing_env(database_url))
        store = ReadModelStore(database_url)
        stripe = StripeGateway("sk_test_bench", sandbox_url)
        try:
            catalog = Catalog(store)
            catalog.create_tables()
            catalog.load(parse_catalog(json.dumps(CATALOG)))
            follower = Follower(ledger, store, PaymentsProjection())
            follower.run_until_caught_up()  # creates the table and its indexes

            seconds = copy_background(database_url, background)
            print(f"setup: COPY of {background:,} paid-out rows + ANALYZE: {seconds:.1f} s")

            now = datetime.now(UTC) + HOLD + timedelta(minutes=5)
            ended_before = None
            if after_session is not None:
                # Every session (from 2031-01-01, an hour apart) has ended that long ago.
                last_end = SESSIONS_FROM + timedelta(hours=due * len(concurrencies), minutes=30)
                now = max(now, last_end + after_session)
                ended_before = now - after_session
            service = None
            for round_, concurrency in enumerate(concurrencies):
                make_due_payments(ledger, sandbox_url, round_ * due, due)
                follower.run_until_caught_up()
                with store.transaction() as tx:
                    tx.execute("ANALYZE payments")
                if round_ == 0:
                    rows, ms = time_query(store, now - HOLD, ended_before)
                    print(f"eligibility query: {rows:,} rows in {ms:.1f} ms (median of 5)")
                    print("EXPLAIN ANALYZE:\n" + explain(store, now - HOLD, ended_before))
                service = PayoutService(
                    ledger,
                    store,
                    catalog,
                    stripe,
                    hold=HOLD,
                    clock=lambda: now,
                    read_model=follower,
                    after_session=after_session,
                    concurrency=concurrency,
                    max_requests_per_second=rate,
                )
                load = os.getloadavg()[0]
                started = time.perf_counter()
                result = service.run()
                seconds = time.perf_counter() - started
                print(
                    f"payout run, concurrency {concurrency}, rate {rate or 'unpaced'}: "
                    f"{seconds:.2f} s for {result.eligible:,} eligible, "
                    f"{result.paid_out:,} paid out, {result.failed:,} failed = "
                    f"{result.paid_out / seconds:.1f} payouts/s "
                    f"({seconds / max(result.paid_out, 1) * 1000:.1f} ms per payout; "
                    f"load average {load:.1f} before, {os.getloadavg()[0]:.1f} after)",
                    flush=True,
                )
            assert service is not None
            per_group = transfers_per_group(sandbox_url)
            doubled = sum(1 for n in per_group.values() if n > 1)
            print(
                f"transfers in the sandbox Stripe: {sum(per_group.values()):,} in "
                f"{len(per_group):,} transfer groups (one per due payment: "
                f"{len(per_group) == due * len(concurrencies)}); doubled: {doubled}",
                flush=True,
            )
            follower.run_until_caught_up()
            rows, ms = time_query(store, now - HOLD, ended_before)
            print(f"eligibility query afterwards: {rows:,} rows in {ms:.1f} ms (median of 5)")
            started = time.perf_counter()
            empty = service.run()
            print(
                f"payout run with nothing due: {(time.perf_counter() - started) * 1000:.1f} ms "
                f"({empty.paid_out} paid out)"
            )
        finally:
            stripe.close()
            store.close()
            ledger.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--background", default="10000,1000000", help="paid-out counts")
    parser.add_argument("--due", type=int, default=1000, help="payments due in each run")
    default_concurrency = Settings().payout_concurrency
    parser.add_argument(
        "--concurrency",
        default=f"1,{default_concurrency}",
        help="threads per run, comma list: one run (on its own due payments) each",
    )
    parser.add_argument("--rate", default="none", help="requests/s toward Stripe; 'none': unpaced")
    parser.add_argument(
        "--after-session-hours",
        default="24",
        help="the product's MENTORPAY_PAYOUT_AFTER_SESSION_HOURS; 'none': the hold alone",
    )
    args = parser.parse_args()
    hours = args.after_session_hours
    after_session = None if hours.lower() == "none" else timedelta(hours=int(hours))
    concurrencies = [int(value) for value in args.concurrency.split(",")]
    rate = None if args.rate.lower() == "none" else float(args.rate)
    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; PostgreSQL; "
        "Stripe = sandbox on loopback in its own process"
    )
    print(f"payouts after the session: {after_session or 'no (the hold alone)'}")
    with sandbox_process() as (sandbox_url, _pid):
        for background in (int(size) for size in args.background.split(",")):
            measure(background, args.due, after_session, concurrencies, rate, sandbox_url)


if __name__ == "__main__":
    main()
