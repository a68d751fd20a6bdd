"""How fast can the ledger record payments on PostgreSQL, next to raw INSERTs?

Creates a scratch database (dropped at the end) on the server named by
``MENTORPAY_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``) and
measures, with 1 and 8 threads:

- ``record_payment`` commands/s: each on a booking requested beforehand, so only the
  command is timed (read payment + booking, decide, save 3 events in one transaction), in
  four ledger set-ups: ``group commit`` (concurrent commands share a transaction, saved by
  the library's pipelined transaction, as before ``MENTORPAY_DB_INSERT_FUNCTION`` was on by
  default), ``one save each`` (every command its own transaction, the library as it is),
  ``group commit, db fn`` (also ``POSTGRES_ENABLE_DB_FUNCTIONS``: the library inserts
  through a database function, one statement, but without its table lock, so ids may
  commit out of order: measured, not offered), and ``group commit, ordered fn`` (the
  product's default, ``MENTORPAY_DB_INSERT_FUNCTION``: one statement, a function that
  takes the lock itself); with several threads, also from the ledger's own counters (those
  of ``/metrics``), the commands each transaction and each shared read carried, their mean
  times, and the share of the phase a save or a read was in flight;
- raw single-row ``INSERT`` transactions/s through psycopg, rows the size of a stored event;
- and, as the floor of one process, ``record_payment`` on the library's in-memory store (no
  database at all): its CPU per command bounds what one Python process can decide per second,
  whatever the database does.

Usage: ``.venv/bin/python -m bench.ledger_append [--seconds 3] [--count N] [--rounds R]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from queue import Empty, SimpleQueue

import psycopg

from bench.scratch import scratch_database
from ledger import Booking, BookingRequest, Ledger, Money
from ledger.event_reads import ReadStats
from ledger.group_commit import CommitStats
from mentorpay.persistence import eventsourcing_env
from projections.database_url import parse_database_url

THREAD_COUNTS = (1, 8)
PRICE = Money(7500, "usd")
PAID_AT = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
# Without --count, enough prepared bookings for this many commands/s (far above the
# ~600 saves/s measured for this library on 2 cores); a phase stops early if they run out.
MAX_EXPECTED_RATE = 5000


@dataclass(frozen=True)
class Result:
    label: str
    threads: int
    done: int
    seconds: float
    cpu_seconds: float  # this process's CPU time (all threads) during the phase
    machine_cores: float  # cores the whole machine kept busy during the phase (/proc/stat)
    grouping: str = ""  # group commit: commands per transaction, save and read times

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_each(self) -> float:
        return 1000 * self.cpu_seconds / self.done if self.done else 0.0


def busy_ticks() -> tuple[int, int]:
    """The machine's busy and total CPU ticks so far (all cores; Linux)."""
    try:
        with open("/proc/stat") as stat:
            ticks = [int(value) for value in stat.readline().split()[1:]]
    except OSError:
        return 0, 0
    return sum(ticks) - ticks[3] - ticks[4], sum(ticks)  # less idle and iowait


def run_threads(
    threads: int, seconds: float, work: Callable[[], bool]
) -> tuple[int, float, float, float]:
    """Call ``work`` on ``threads`` threads until ``seconds`` pass or it returns False: the
    calls done, the seconds, this process's CPU seconds, the cores the machine kept busy."""
    barrier = threading.Barrier(threads + 1)
    counts = [0] * threads
    deadline = 0.0

    def worker(index: int) -> None:
        barrier.wait()
        while time.perf_counter() < deadline and work():
            counts[index] += 1

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    cpu_start = time.process_time()
    busy_start, total_start = busy_ticks()
    start = time.perf_counter()
    deadline = start + seconds
    barrier.wait()
    for thread in pool:
        thread.join()
    busy, total = busy_ticks()
    cores = (os.cpu_count() or 1) * (busy - busy_start) / max(total - total_start, 1)
    return sum(counts), time.perf_counter() - start, time.process_time() - cpu_start, cores


def prepare_bookings(ledger: Ledger, count: int) -> SimpleQueue[uuid.UUID]:
    """Request ``count`` bookings, saved in large batches since this part is not measured."""
    queue: SimpleQueue[uuid.UUID] = SimpleQueue()
    batch: list[Booking] = []
    for i in range(count):
        booking_id = uuid.uuid4()
        request = BookingRequest(
            user_id=f"user-{i}",
            mentor_id="mentor-bench",
            event_type_id=1001,
            start=PAID_AT + timedelta(days=3),
            end=PAID_AT + timedelta(days=3, minutes=30),
            attendee_name="Bench Mark",
            attendee_email="bench@example.com",
            attendee_time_zone="Europe/Berlin",
            price_amount=PRICE.amount,
            currency=PRICE.currency,
            platform_fee_amount=750,
            checkout_session_id=f"cs_bench_{booking_id.hex}",
            reservation_uid=f"res_{booking_id.hex}",
            expires_at=PAID_AT + timedelta(minutes=30),
        )
        batch.append(Booking.request_new(booking_id, request))
        queue.put(booking_id)
        if len(batch) == 500:
            ledger.save(*batch)
            batch = []
    if batch:
        ledger.save(*batch)
    return queue


def pay_booking(ledger: Ledger, booking_id: uuid.UUID) -> None:
    """The measured command: ``record_payment`` of a prepared booking's price."""
    ledger.record_payment(
        payment_intent_id=f"pi_{booking_id.hex}",
        charge_id=f"ch_{booking_id.hex}",
        amount=PRICE,
        booking_id=booking_id,
        paid_at=PAID_AT,
    )


WARM_UP = 20  # untimed commands first: connection pool, caches
IN_MEMORY_COMMANDS = 10_000


@dataclass(frozen=True)
class Variant:
    label: str
    group_commit: bool
    db_functions: bool = False
    ordered_function: bool = False


VARIANTS = (
    Variant("group commit", group_commit=True),
    Variant("one save each", group_commit=False),
    Variant("group commit, db fn", group_commit=True, db_functions=True),
    Variant("group commit, ordered fn", group_commit=True, ordered_function=True),
)
RAW = "raw INSERT transaction"


def settle(conninfo: str) -> None:
    """Write out the dirty buffers before a timed phase (``CHECKPOINT``), so a checkpoint that
    the last phase's or this one's preparation made due does not fall inside the timing: in
    earlier runs each second round lost most of its rate to the server's own writes."""
    try:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute("ANALYZE")
            conn.execute("CHECKPOINT")
    except psycopg.errors.InsufficientPrivilege:
        pass  # a role without pg_checkpoint: the phase runs as before


def bench_record_payment(
    database_url: str, variant: Variant, threads: int, seconds: float, count: int
) -> Result:
    env = eventsourcing_env(database_url, insert_function=variant.ordered_function)
    if variant.db_functions:
        env["POSTGRES_ENABLE_DB_FUNCTIONS"] = "y"
    with Ledger(env, group_commit=variant.group_commit) as ledger:
        bookings = prepare_bookings(ledger, count + WARM_UP)

        def record_one() -> bool:
            try:
                booking_id = bookings.get_nowait()
            except Empty:
                return False
            pay_booking(ledger, booking_id)
            return True

        for _ in range(WARM_UP):
            record_one()
        settle(parse_database_url(database_url).psycopg_conninfo)
        commits, reads = ledger.commit_stats, ledger.read_stats
        done, elapsed, cpu, cores = run_threads(threads, seconds, record_one)
        grouping = describe_grouping(ledger, commits, reads, elapsed)
    return Result(f"record_payment: {variant.label}", threads, done, elapsed, cpu, cores, grouping)


def describe_grouping(
    ledger: Ledger, commits: CommitStats | None, reads: ReadStats | None, elapsed: float
) -> str:
    """Over a phase, from the ledger's own figures (as ``/metrics`` shows them): commands per
    transaction and a save's mean time, commands per shared read and its mean time, the share
    of the phase a save or a read was in flight (neither overlaps itself), and the lockstep
    bound: each command waits for its batch's read and save, which nothing else overlaps when
    every thread is in the batch, so the rate stays under 1 / (that wait per command) however
    cheap the deciding becomes."""
    saves = _deltas(commits, ledger.commit_stats, _SAVE_FIGURES)
    shared = _deltas(reads, ledger.read_stats, _READ_FIGURES)
    parts = [_grouped("save", saves, elapsed), _grouped("read", shared, elapsed)]
    if saves and shared:
        wait = saves[2] / saves[1] + shared[2] / shared[1]
        parts.append(f"waits {1000 * wait:.2f} ms a command: at most {1 / wait:,.0f}/s in lockstep")
    return "; ".join(part for part in parts if part)


# The names of (calls, commands served, seconds) in ``CommitStats`` and in ``ReadStats``.
_SAVE_FIGURES = ("transactions", "commands", "save_seconds")
_READ_FIGURES = ("queries", "requests", "seconds")


def _deltas(
    before: object, now: object, figures: tuple[str, str, str]
) -> tuple[int, int, float] | None:
    """(calls, commands served, seconds) over the phase; None when nothing was counted."""
    if before is None or now is None:
        return None
    calls, commands, seconds = (getattr(now, name) - getattr(before, name) for name in figures)
    return (calls, commands, seconds) if calls > 0 and commands > 0 else None


def _grouped(what: str, figures: tuple[int, int, float] | None, elapsed: float) -> str:
    if figures is None:
        return ""
    calls, commands, seconds = figures
    return (
        f"{commands / calls:4.1f} commands/{what}, {1000 * seconds / calls:4.2f} ms each,"
        f" in flight {seconds / elapsed:4.0%} of the time"
    )


def bench_alternating(database_url: str, count: int) -> dict[str, tuple[float, float]]:
    """One thread, commands alternating between every ledger set-up, so each set-up sees
    the same moments of a busy machine: mean (wall ms, client CPU ms) per command."""
    ledgers: list[tuple[str, Ledger]] = []
    try:
        for variant in VARIANTS:
            env = eventsourcing_env(database_url, insert_function=variant.ordered_function)
            if variant.db_functions:
                env["POSTGRES_ENABLE_DB_FUNCTIONS"] = "y"
            ledgers.append((variant.label, Ledger(env, group_commit=variant.group_commit)))
        bookings = prepare_bookings(ledgers[0][1], count + WARM_UP * len(ledgers))
        totals = {label: [0.0, 0.0, 0] for label, _ in ledgers}
        for index in range(count + WARM_UP * len(ledgers)):
            label, ledger = ledgers[index % len(ledgers)]
            booking_id = bookings.get()
            wall, cpu = time.perf_counter(), time.thread_time()
            pay_booking(ledger, booking_id)
            if index >= WARM_UP * len(ledgers):
                total = totals[label]
                total[0] += time.perf_counter() - wall
                total[1] += time.thread_time() - cpu
                total[2] += 1
    finally:
        for _, ledger in ledgers:
            ledger.close()
    return {
        label: (1000 * wall / done, 1000 * cpu / done)
        for label, (wall, cpu, done) in totals.items()
        if done
    }


def bench_in_memory(count: int) -> float:
    """CPU ms per ``record_payment`` with no database (the library's in-memory store, group
    commit as by default, 1 thread): validation, the domain, event creation, encoding and
    decoding, the hand-offs."""
    with Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"}) as ledger:
        bookings = prepare_bookings(ledger, count + WARM_UP)
        for index in range(count + WARM_UP):
            if index == WARM_UP:
                started = time.thread_time()
            booking_id = bookings.get()
            pay_booking(ledger, booking_id)
        return 1000 * (time.thread_time() - started) / count


def average_event_size(conninfo: str) -> int:
    with psycopg.connect(conninfo) as conn:
        row = conn.execute(
            "SELECT avg(octet_length(state) + octet_length(topic) + 24) FROM ledger_events"
        ).fetchone()
    return int(row[0]) if row and row[0] else 400


def bench_raw_insert(conninfo: str, threads: int, seconds: float, count: int, size: int) -> Result:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_rows (id bigserial PRIMARY KEY, "
            "originator_id uuid NOT NULL, originator_version bigint NOT NULL, "
            "topic text NOT NULL, state bytea NOT NULL)"
        )
    settle(conninfo)
    payload = b"x" * max(size - 40, 1)
    remaining = [count]
    lock = threading.Lock()
    local = threading.local()
    connections: list[psycopg.Connection] = []

    def insert_one() -> bool:
        with lock:
            if remaining[0] <= 0:
                return False
            remaining[0] -= 1
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = psycopg.connect(conninfo, autocommit=True)
            with lock:
                connections.append(conn)
        # autocommit: each INSERT is its own transaction, like each ledger command.
        conn.execute(
            "INSERT INTO bench_rows (originator_id, originator_version, topic, state) "
            "VALUES (%s, 1, 'mentorpay.Payment.Paid', %s)",
            (uuid.uuid4(), payload),
        )
        return True

    try:
        done, elapsed, cpu, cores = run_threads(threads, seconds, insert_one)
    finally:
        for conn in connections:
            conn.close()
    return Result(RAW, threads, done, elapsed, cpu, cores)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each phase")
    parser.add_argument(
        "--count", type=int, default=None, help="commands per phase (stops the phase early)"
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="repeat every phase; report each one's median"
    )
    parser.add_argument(
        "--alternating",
        type=int,
        default=400,
        help="commands of the 1-thread comparison that alternates between the set-ups",
    )
    args = parser.parse_args(argv)
    budget = args.count or int(args.seconds * MAX_EXPECTED_RATE)
    seconds = args.seconds if args.count is None else float("inf")

    with scratch_database("ledger") as database_url:
        conninfo = parse_database_url(database_url).psycopg_conninfo
        results: list[Result] = []
        size = 0
        # Phases are interleaved (each round runs every one once, the ledger set-ups in a
        # rotated order), so a busy spell of the machine weighs on all of them alike.
        for round_index in range(max(args.rounds, 1)):
            shift = round_index % len(VARIANTS)
            for threads in THREAD_COUNTS:
                for variant in VARIANTS[shift:] + VARIANTS[:shift]:
                    results.append(
                        bench_record_payment(database_url, variant, threads, seconds, budget)
                    )
                size = size or average_event_size(conninfo)
                # Raw inserts need nothing prepared, so only --count (if given) limits them.
                raw_budget = args.count or sys.maxsize
                results.append(bench_raw_insert(conninfo, threads, seconds, raw_budget, size))
        alternating = bench_alternating(database_url, args.alternating)
    in_memory_ms = bench_in_memory(IN_MEMORY_COMMANDS)

    print(f"os.cpu_count() = {os.cpu_count()}; stored event ~{size} bytes")
    for result in results:
        print(
            f"{result.label:<41} threads={result.threads}  {result.done:>6} in "
            f"{result.seconds:6.2f} s  = {result.rate:8.1f}/s  "
            f"client CPU {result.cpu_ms_each:5.2f} ms each, "
            f"{result.seconds and result.cpu_seconds / result.seconds:4.2f} cores; "
            f"machine busy {result.machine_cores:4.2f} cores"
        )
        if result.grouping and result.threads > 1:
            print(f"    {result.grouping}")
    rates: dict[tuple[str, int], list[float]] = {}
    for r in results:
        rates.setdefault((r.label, r.threads), []).append(r.rate)
    rounds = len(rates[(RAW, THREAD_COUNTS[0])])
    for threads in THREAD_COUNTS:
        raw_rates = rates[(RAW, threads)]
        for variant in VARIANTS:
            ledger_rates = rates[(f"record_payment: {variant.label}", threads)]
            # Each round's ledger phase against that round's raw phase: drift cancels out.
            ratios = [ledger_rates[i] / raw_rates[i] for i in range(rounds) if raw_rates[i]]
            rate = statistics.median(ledger_rates)
            print(
                f"threads={threads} {variant.label:<25} median {rate:7.1f}/s"
                f"  ratio ledger/raw, median of {rounds} rounds: {statistics.median(ratios):.2f}"
            )
    print(f"1 thread, alternating commands ({args.alternating} in all):")
    for label, (wall_ms, cpu_ms) in alternating.items():
        print(f"  {label:<25} {wall_ms:6.2f} ms each, client CPU {cpu_ms:5.2f} ms")
    # One interpreter lock: a process decides at most 1000 / in_memory_ms commands a second.
    ceiling = 1000 / in_memory_ms
    raw = statistics.median(rates[(RAW, THREAD_COUNTS[-1])])
    print(
        f"record_payment in memory (no database, {IN_MEMORY_COMMANDS:,} commands, 1 thread):"
        f" {in_memory_ms:.3f} ms CPU each: one process decides at most {ceiling:,.0f}/s,"
        f" {ceiling / raw:.2f}x the raw INSERTs with {THREAD_COUNTS[-1]} threads"
    )


if __name__ == "__main__":
    main()
