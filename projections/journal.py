"""The journal: the double-entry postings of every ledger event, and account balances.

Each event's lines come from ``ledger.postings_for`` (the chart of accounts lives in the
domain, so every reader gets the same journal). ``journal_entries`` keeps one row per line
with the booking and payment it belongs to; ``account_balances`` keeps running debit and
credit totals per account and currency, updated in the same batch transaction, so a trial
balance is a read of a handful of rows however long the log is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from ledger import Booking, Payment, postings_for
from ledger.events import DomainEvent, event_time, event_topic
from projections import tracking
from projections.id_text import id_text
from projections.store import ReadModelStore, Transaction

CREATE_JOURNAL_ENTRIES = """
CREATE TABLE IF NOT EXISTS journal_entries (
    position BIGINT NOT NULL,
    line INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    aggregate_id TEXT NOT NULL,
    booking_id TEXT,
    payment_id TEXT,
    account TEXT NOT NULL,
    side TEXT NOT NULL CHECK (side IN ('debit', 'credit')),
    amount BIGINT NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (position, line)
)
"""
CREATE_ACCOUNT_BALANCES = """
CREATE TABLE IF NOT EXISTS account_balances (
    account TEXT NOT NULL,
    currency TEXT NOT NULL,
    debits BIGINT NOT NULL,
    credits BIGINT NOT NULL,
    PRIMARY KEY (account, currency)
)
"""
# The fold looks up a payment's booking in its ``Paid`` lines (``_bookings_of_payments``): a
# partial index of those lines only (2 of about 7 a session), kept while a replay loads. The
# look-up repeats the condition verbatim, so SQLite uses it too.
_PAID_LINES = f"event_type = '{Payment.Paid.TOPIC}'"
INDEXES = (
    "CREATE INDEX IF NOT EXISTS journal_entries_paid_idx ON journal_entries (payment_id)"
    f" WHERE {_PAID_LINES}",
)
# Only queries read these: a replay builds them after its load (``projections.query_indexes``).
QUERY_INDEXES = (
    "CREATE INDEX IF NOT EXISTS journal_entries_payment_idx ON journal_entries (payment_id)",
    "CREATE INDEX IF NOT EXISTS journal_entries_booking_idx ON journal_entries (booking_id)",
    "CREATE INDEX IF NOT EXISTS journal_entries_account_idx"
    " ON journal_entries (account, currency, position)",
)
INSERT_ENTRY = """
INSERT INTO journal_entries (position, line, event_type, aggregate_id, booking_id, payment_id,
    account, side, amount, currency, recorded_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
"""
UPSERT_BALANCE = """
INSERT INTO account_balances (account, currency, debits, credits) VALUES (%s, %s, %s, %s)
ON CONFLICT (account, currency) DO UPDATE SET
    debits = account_balances.debits + excluded.debits,
    credits = account_balances.credits + excluded.credits
"""
# PostgreSQL: the entries of a batch are loaded with a binary COPY, its balances with one
# statement.
ENTRY_COLUMNS = (
    "position", "line", "event_type", "aggregate_id", "booking_id", "payment_id", "account",
    "side", "amount", "currency", "recorded_at",
)  # fmt: skip
ENTRY_TYPES = (
    "int8", "int4", "text", "text", "text", "text", "text", "text", "int8", "text", "timestamptz",
)  # fmt: skip
UPSERT_BALANCES_UNNEST = """
INSERT INTO account_balances (account, currency, debits, credits)
SELECT * FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::bigint[])
ON CONFLICT (account, currency) DO UPDATE SET
    debits = account_balances.debits + excluded.debits,
    credits = account_balances.credits + excluded.credits
"""

# Only these events post anything (see ``ledger.accounts``); the follower reads no others.
# ``mentorpay ledger verify`` rebuilds the journal from *every* event with ``postings_for``,
# so an event class that starts posting without being listed here is reported, not lost.
POSTING_TOPICS: tuple[str, ...] = (
    Payment.Paid.TOPIC,
    Booking.Booked.TOPIC,
    Payment.Refunded.TOPIC,
    Payment.PaidOut.TOPIC,
    Payment.PayoutReversed.TOPIC,
)
# Placeholders per IN (...) look-up: well under SQLite's and PostgreSQL's parameter limits.
_LOOKUP_CHUNK = 500


class JournalProjection:
    name = "journal"
    topics = POSTING_TOPICS
    query_indexes = QUERY_INDEXES

    def create_tables(self, tx: Transaction) -> None:
        tx.execute(CREATE_JOURNAL_ENTRIES)
        tx.execute(CREATE_ACCOUNT_BALANCES)
        for statement in (*INDEXES, *QUERY_INDEXES):
            tx.execute(statement)

    def drop_tables(self, tx: Transaction) -> None:
        tx.execute("DROP TABLE IF EXISTS journal_entries")
        tx.execute("DROP TABLE IF EXISTS account_balances")

    def apply(self, tx: Transaction, events: list[tuple[int, DomainEvent]]) -> None:
        bookings_of = self._bookings_of_payments(tx, events)
        rows: list[tuple[object, ...]] = []
        totals: defaultdict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        append = rows.append
        for position, event in events:
            postings = postings_for(event)
            if not postings:
                continue
            aggregate_id = id_text(event.originator_id)
            booking_id, payment_id = _owner_of(event, aggregate_id, bookings_of)
            event_type = event_topic(event)
            recorded_at: datetime = event_time(event)
            for line, (account, side, amount, currency) in enumerate(postings, start=1):
                append(
                    (
                        position,
                        line,
                        event_type,
                        aggregate_id,
                        booking_id,
                        payment_id,
                        account,
                        side,
                        amount,
                        currency,
                        recorded_at,
                    )
                )
                totals[(account, currency)][0 if side == "debit" else 1] += amount
        if not rows:
            return
        balances = [(account, currency, d, c) for (account, currency), (d, c) in totals.items()]
        if tx.kind == "postgres":
            # No statement per row: no per-row parsing, parameter adaptation or round trip.
            tx.copy_rows("journal_entries", ENTRY_COLUMNS, rows, types=ENTRY_TYPES)
            tx.execute(UPSERT_BALANCES_UNNEST, _columns(balances, 4))
            return
        tx.executemany(INSERT_ENTRY, rows)  # SQLite: in-process, no round trips
        tx.executemany(UPSERT_BALANCE, balances)

    @staticmethod
    def _bookings_of_payments(
        tx: Transaction, events: list[tuple[int, DomainEvent]]
    ) -> dict[str, str]:
        """Booking id of every payment the batch's events refer to.

        ``Paid`` carries it; later payment events do not, so the ones whose ``Paid`` is in an
        earlier batch are looked up in the journal (every ``Paid`` posts, so it is there).
        """
        known: dict[str, str] = {}
        wanted: set[str] = set()
        for _, event in events:
            if type(event) is _PAID:
                known[id_text(event.originator_id)] = id_text(event.booking_id)
            elif isinstance(event, Payment.Event):
                wanted.add(id_text(event.originator_id))
        missing = sorted(wanted - known.keys())
        for chunk in _chunks(missing, _LOOKUP_CHUNK):
            marks = ", ".join(["%s"] * len(chunk))
            rows = tx.execute(
                "SELECT payment_id, booking_id FROM journal_entries"
                f" WHERE {_PAID_LINES} AND payment_id IN ({marks})",
                chunk,
            ).fetchall()
            known.update({row["payment_id"]: row["booking_id"] for row in rows})
        return known


_PAID = Payment.Paid
# (booking id, payment id) of a journal line
_Owner = tuple[str | None, str | None]


def _owner_of(event: DomainEvent, aggregate_id: str, bookings_of: dict[str, str]) -> _Owner:
    if type(event) is Booking.Booked:
        return aggregate_id, id_text(event.payment_id)
    if isinstance(event, Booking.Event):
        return aggregate_id, None
    return bookings_of.get(aggregate_id), aggregate_id


def _columns(rows: Sequence[tuple[object, ...]], width: int) -> list[list[object]]:
    return [[row[index] for row in rows] for index in range(width)]


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- read queries ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountBalance:
    account: str
    currency: str
    debits: int
    credits: int

    @property
    def balance(self) -> int:
        """Debits minus credits."""
        return self.debits - self.credits


def account_balances(store: ReadModelStore) -> tuple[list[AccountBalance], int]:
    """Every account's totals per currency and the log position they include, read in one
    snapshot (so the figures and the position agree)."""
    with store.transaction(readonly=True) as tx:
        if tx.kind == "postgres":
            tx.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        rows = tx.execute(
            "SELECT account, currency, debits, credits FROM account_balances"
            " ORDER BY currency, account"
        ).fetchall()
        position = tracking.read_position(tx, JournalProjection.name)
    balances = [
        AccountBalance(row["account"], row["currency"], int(row["debits"]), int(row["credits"]))
        for row in rows
    ]
    return balances, position
