"""``mentorpay ledger verify``: check the ledger against its own rules and its read models.

Two independent checks, both reading only the event log as the truth:

- ``InvariantChecker`` folds every event into running balances and reports what breaks the
  rules of the chart of accounts (``ledger/accounts.py``): each event's postings balance per
  currency, so does the whole trial balance; a mentor's payable never goes negative; a
  finished booking leaves nothing in ``bookings:clearing``; each Stripe id (PaymentIntent,
  refund, transfer, reversal) is recorded by exactly one event.
- ``compare_read_models`` rebuilds every projection in an in-memory store up to the position
  its stored tables have reached, and compares the two row by row.
- ``check_followers``: a read model that is halted, or still behind the log's head after a
  short grace, is a problem too (its tables are right, but not up to date).
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from ledger import (
    BOOKINGS_CLEARING,
    Booking,
    BookingStatus,
    Payment,
    is_balanced,
    postings_for,
)
from ledger.events import DomainEvent
from projections import halts, tracking
from projections.event_log import head_position, iter_domain_events
from projections.follower import Projection
from projections.store import ReadModelStore, Row, Transaction

_MENTOR_PAYABLE_PREFIX = "mentor:"
_TERMINAL = frozenset(
    {
        BookingStatus.ACCEPTED,
        BookingStatus.REJECTED,
        BookingStatus.EXPIRED,
        BookingStatus.CANCELLED,
    }
)
# Differences listed per table before the rest are only counted.
MAX_ROW_DIFFERENCES = 20


@dataclass(frozen=True)
class Finding:
    check: str  # e.g. "trial-balance", "clearing", "stripe-id", "read-model"
    subject: str  # what it is about: a currency, a booking id, a table and key
    detail: str

    def __str__(self) -> str:
        return f"[{self.check}] {self.subject}: {self.detail}"


@dataclass
class AuditReport:
    position: int  # the log position the invariants were checked up to
    events: int
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


@dataclass
class _PaymentFacts:
    booking_id: UUID
    amount: int
    refunded: int = 0


class InvariantChecker:
    """Feed it the log in order (``feed``); ``findings()`` at any point."""

    def __init__(self) -> None:
        self.events = 0
        self.position = 0
        self._findings: list[Finding] = []
        self._net: defaultdict[str, int] = defaultdict(int)  # per currency, debits positive
        self._payable: defaultdict[tuple[str, str], int] = defaultdict(int)  # credit-normal
        self._clearing: defaultdict[UUID, int] = defaultdict(int)  # per booking, credit-normal
        self._status: dict[UUID, BookingStatus] = {}
        self._booked_payment: dict[UUID, UUID] = {}
        self._payments: dict[UUID, _PaymentFacts] = {}
        self._stripe_ids: Counter[tuple[str, str]] = Counter()

    def feed(self, position: int, event: DomainEvent) -> None:
        self.events += 1
        self.position = position
        self._follow_state(event)
        postings = postings_for(event)
        if not is_balanced(postings):
            topic = getattr(type(event), "TOPIC", type(event).__name__)
            self._findings.append(
                Finding("balanced-event", f"position {position}", f"{topic} does not balance")
            )
        booking_id = self._booking_of(event)
        for posting in postings:
            credit = posting.amount if posting.side == "credit" else -posting.amount
            self._net[posting.currency] -= credit
            if posting.account == BOOKINGS_CLEARING and booking_id is not None:
                self._clearing[booking_id] += credit
            elif posting.account.startswith(_MENTOR_PAYABLE_PREFIX):
                key = (posting.account, posting.currency)
                self._payable[key] += credit
                if self._payable[key] < 0:
                    self._findings.append(
                        Finding(
                            "payable",
                            posting.account,
                            f"negative ({self._payable[key]} {posting.currency}) at {position}",
                        )
                    )

    def findings(self) -> list[Finding]:
        found = list(self._findings)
        for currency, net in sorted(self._net.items()):
            if net:
                found.append(Finding("trial-balance", currency, f"debits exceed credits by {net}"))
        for booking_id, balance in self._clearing.items():
            if balance and self._is_finished(booking_id):
                status = self._status.get(booking_id)
                found.append(
                    Finding("clearing", str(booking_id), f"{balance} left in clearing ({status})")
                )
        for (kind, stripe_id), count in sorted(self._stripe_ids.items()):
            if count != 1:
                found.append(Finding("stripe-id", stripe_id, f"{kind} recorded by {count} events"))
        return found

    def _follow_state(self, event: DomainEvent) -> None:
        status = Booking.status_after(event)
        if status is not None:
            self._status[event.originator_id] = status
        if isinstance(event, Booking.Booked):
            self._booked_payment[event.originator_id] = event.payment_id
        elif isinstance(event, Payment.Paid):
            self._payments[event.originator_id] = _PaymentFacts(event.booking_id, event.amount)
            self._stripe_ids[("payment_intent", event.payment_intent_id)] += 1
        elif isinstance(event, Payment.Refunded):
            facts = self._payments.get(event.originator_id)
            if facts is not None:
                facts.refunded += event.amount
            self._stripe_ids[("refund", event.refund_id)] += 1
        elif isinstance(event, Payment.PaidOut):
            self._stripe_ids[("transfer", event.transfer_id)] += 1
        elif isinstance(event, Payment.PayoutReversed):
            self._stripe_ids[("transfer_reversal", event.reversal_id)] += 1

    def _booking_of(self, event: DomainEvent) -> UUID | None:
        if isinstance(event, Booking.Event):
            return event.originator_id
        facts = self._payments.get(event.originator_id)
        return facts.booking_id if facts is not None else None

    def _is_finished(self, booking_id: UUID) -> bool:
        """Terminal status, and every payment that did not pay the booked session refunded
        in full (until then its money rightly waits in clearing for the refund)."""
        if self._status.get(booking_id) not in _TERMINAL:
            return False
        booked = self._booked_payment.get(booking_id)
        return all(
            facts.refunded == facts.amount
            for payment_id, facts in self._payments.items()
            if facts.booking_id == booking_id and payment_id != booked
        )


def check_invariants(
    app: Application[Any], *, stop: int | None = None, batch_size: int = 5000
) -> AuditReport:
    """Fold the log (up to ``stop``, default the head now) through an ``InvariantChecker``."""
    checker = InvariantChecker()
    head = head_position(app) if stop is None else stop
    for position, event in iter_domain_events(app, stop=head, batch_size=batch_size):
        checker.feed(position, event)
    return AuditReport(head, checker.events, checker.findings())


def compare_read_models(
    app: Application[Any],
    store: ReadModelStore,
    projections: Sequence[Projection],
    *,
    batch_size: int = 5000,
) -> list[Finding]:
    """Rebuild each projection in memory up to the position its stored tables reached, and
    report every row that differs, is missing, or should not be there."""
    findings: list[Finding] = []
    with ReadModelStore("memory://") as memory:
        for projection in projections:
            with memory.transaction() as tx:
                existing = _sqlite_tables(tx)
                projection.create_tables(tx)
                tables = sorted(_sqlite_tables(tx) - existing)
                keys = {table: _primary_key(tx, table) for table in tables}
            position, stored = _stored_snapshot(store, projection.name, tables)
            if stored is None:
                findings.append(
                    Finding("read-model", projection.name, "its tables are not in the store")
                )
                continue
            topics = tuple(getattr(projection, "topics", ()) or ())
            batch: list[tuple[int, DomainEvent]] = []
            for item in iter_domain_events(
                app, stop=position, topics=topics, batch_size=batch_size
            ):
                batch.append(item)
                if len(batch) == batch_size:
                    _apply(memory, projection, batch)
                    batch = []
            _apply(memory, projection, batch)
            with memory.transaction(readonly=True) as tx:
                rebuilt = {t: tx.execute(f"SELECT * FROM {t}").fetchall() for t in tables}
            for table in tables:
                findings.extend(_diff_rows(table, keys[table], stored[table], rebuilt[table]))
    return findings


def check_followers(
    store: ReadModelStore, names: Sequence[str], head: int, *, grace_seconds: float = 5.0
) -> list[Finding]:
    """Halted read models, and those that have not reached ``head`` within the grace (a
    running worker may be applying the last events right now)."""
    findings: list[Finding] = []
    deadline = time.monotonic() + grace_seconds
    while True:
        with store.transaction(readonly=True) as tx:
            halted = {h.name: h for h in halts.all_halts(tx)}
            behind = {}
            if _table_exists(tx, tracking.TABLE):
                for name in names:
                    position = tracking.read_position(tx, name)
                    if position < head and name not in halted:
                        behind[name] = position
            else:
                behind = dict.fromkeys(names, 0) if head > 0 else {}
        # A halted one will not catch up; the others get the grace to.
        if not behind or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    for name in names:
        if name in halted:
            halt = halted[name]
            findings.append(
                Finding(
                    "read-model-halted",
                    name,
                    f"halted at {halt.position}: event {halt.failed_position} cannot be applied"
                    f" ({halt.error})",
                )
            )
        elif name in behind:
            findings.append(
                Finding(
                    "read-model-behind", name, f"at position {behind[name]}, the head is {head}"
                )
            )
    return findings


def verify(
    app: Application[Any], store: ReadModelStore, projections: Sequence[Projection]
) -> AuditReport:
    """Invariants over the whole log, every read model against a rebuild, and every read
    model up to date and not halted."""
    report = check_invariants(app)
    report.findings.extend(compare_read_models(app, store, projections))
    report.findings.extend(check_followers(store, [p.name for p in projections], report.position))
    return report


# --- helpers ------------------------------------------------------------------------------


def _apply(
    store: ReadModelStore, projection: Projection, events: list[tuple[int, DomainEvent]]
) -> None:
    if events:
        with store.transaction() as tx:
            projection.apply(tx, events)


def _sqlite_tables(tx: Transaction) -> set[str]:
    rows = tx.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {row["name"] for row in rows}


def _primary_key(tx: Transaction, table: str) -> list[str]:
    columns = tx.execute(f"PRAGMA table_info({table})").fetchall()
    key = sorted((c for c in columns if c["pk"]), key=lambda c: c["pk"])
    return [c["name"] for c in key] or [c["name"] for c in columns]


def _table_exists(tx: Transaction, table: str) -> bool:
    if tx.kind == "postgres":
        row = tx.execute("SELECT to_regclass(%s) AS name", (table,)).fetchone()
        return row is not None and row["name"] is not None
    return (
        tx.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s", (table,)
        ).fetchone()
        is not None
    )


def _stored_snapshot(
    store: ReadModelStore, name: str, tables: list[str]
) -> tuple[int, dict[str, list[Row]] | None]:
    """The projection's position and its tables' rows, read in one consistent snapshot."""
    with store.transaction(readonly=True) as tx:
        if tx.kind == "postgres":
            # One snapshot for every statement: a running follower may commit meanwhile.
            tx.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        if not all(_table_exists(tx, t) for t in [tracking.TABLE, *tables]):
            return 0, None
        position = tracking.read_position(tx, name)
        return position, {t: tx.execute(f"SELECT * FROM {t}").fetchall() for t in tables}


def _diff_rows(table: str, key: list[str], stored: list[Row], rebuilt: list[Row]) -> list[Finding]:
    def keyed(rows: list[Row]) -> dict[tuple[Any, ...], Row]:
        return {tuple(row[column] for column in key): row for row in rows}

    ours, truth = keyed(stored), keyed(rebuilt)
    differences: list[Finding] = []
    for row_key in sorted(ours.keys() | truth.keys(), key=repr):
        subject = f"{table} {dict(zip(key, row_key, strict=True))}"
        if row_key not in ours:
            differences.append(Finding("read-model", subject, "missing from the stored table"))
        elif row_key not in truth:
            differences.append(Finding("read-model", subject, "stored, but no event makes it"))
        else:
            changed = [
                f"{column} stored {ours[row_key].get(column)!r}, events say {value!r}"
                for column, value in truth[row_key].items()
                if ours[row_key].get(column) != value
            ]
            if changed:
                differences.append(Finding("read-model", subject, "; ".join(changed)))
    if len(differences) > MAX_ROW_DIFFERENCES:
        more = len(differences) - MAX_ROW_DIFFERENCES
        differences = differences[:MAX_ROW_DIFFERENCES]
        differences.append(Finding("read-model", table, f"... and {more} more differences"))
    return differences
