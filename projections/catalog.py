"""The catalogue tables: mentors (with their Stripe account) and event types (with prices).

Reference data loaded by ``mentorpay catalog load``, not derived from the ledger: every booking
copies the price it was sold at into its ``Requested`` event, so history never depends on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledger import Money
from projections.catalog_file import CatalogFile
from projections.catalog_policies import create_policy_table, store_policy
from projections.store import ReadModelStore, Row, Transaction

SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS catalog_mentors (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        stripe_account_id TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS catalog_event_types (
        id BIGINT PRIMARY KEY,
        mentor_id TEXT NOT NULL REFERENCES catalog_mentors (id),
        title TEXT NOT NULL,
        duration_minutes BIGINT NOT NULL,
        price_amount BIGINT NOT NULL,
        currency TEXT NOT NULL
    )
    """,
)


@dataclass(frozen=True)
class Mentor:
    id: str
    name: str
    stripe_account_id: str


@dataclass(frozen=True)
class EventType:
    id: int
    mentor_id: str
    title: str
    duration_minutes: int
    price: Money


@dataclass(frozen=True)
class LoadResult:
    mentors: int
    event_types: int


class Catalog:
    def __init__(self, store: ReadModelStore) -> None:
        self._store = store

    def create_tables(self) -> None:
        with self._store.ddl_transaction() as tx:
            create_catalog_tables(tx)

    def mentor_ids(self) -> frozenset[str]:
        with self._store.transaction(readonly=True) as tx:
            rows = tx.execute("SELECT id FROM catalog_mentors").fetchall()
        return frozenset(row["id"] for row in rows)

    def load(self, catalog: CatalogFile) -> LoadResult:
        """Upsert everything in one transaction: all of it loads, or none of it."""
        with self._store.transaction() as tx:
            for mentor in catalog.mentors:
                tx.execute(
                    "INSERT INTO catalog_mentors (id, name, stripe_account_id) VALUES (%s, %s, %s) "
                    "ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
                    "stripe_account_id = excluded.stripe_account_id",
                    (mentor.id, mentor.name, mentor.stripe_account_id),
                )
            for event_type in catalog.event_types:
                price = event_type.price.to_money()
                tx.execute(
                    "INSERT INTO catalog_event_types (id, mentor_id, title, duration_minutes, "
                    "price_amount, currency) VALUES (%s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (id) DO UPDATE SET mentor_id = excluded.mentor_id, "
                    "title = excluded.title, duration_minutes = excluded.duration_minutes, "
                    "price_amount = excluded.price_amount, currency = excluded.currency",
                    (
                        event_type.id,
                        event_type.mentor_id,
                        event_type.title,
                        event_type.duration_minutes,
                        price.amount,
                        price.currency,
                    ),
                )
                store_policy(tx, event_type.id, event_type.policy)
        return LoadResult(mentors=len(catalog.mentors), event_types=len(catalog.event_types))

    def event_type(self, event_type_id: int) -> EventType | None:
        with self._store.transaction(readonly=True) as tx:
            row = tx.execute(
                "SELECT * FROM catalog_event_types WHERE id = %s", (event_type_id,)
            ).fetchone()
        return _event_type(row) if row else None

    def event_types(self) -> list[EventType]:
        with self._store.transaction(readonly=True) as tx:
            rows = tx.execute("SELECT * FROM catalog_event_types ORDER BY id").fetchall()
        return [_event_type(row) for row in rows]

    def mentor(self, mentor_id: str) -> Mentor | None:
        with self._store.transaction(readonly=True) as tx:
            row = tx.execute("SELECT * FROM catalog_mentors WHERE id = %s", (mentor_id,)).fetchone()
        return Mentor(row["id"], row["name"], row["stripe_account_id"]) if row else None


def _event_type(row: Row) -> EventType:
    return EventType(
        id=int(row["id"]),
        mentor_id=row["mentor_id"],
        title=row["title"],
        duration_minutes=int(row["duration_minutes"]),
        price=Money(int(row["price_amount"]), row["currency"]),
    )


def create_catalog_tables(tx: Transaction) -> None:
    for statement in SCHEMA:
        tx.execute(statement)
    create_policy_table(tx)


# -- read queries ---------------------------------------------------------------------------


def event_types_with_mentors(tx: Transaction) -> list[dict[str, Any]]:
    """Every event type with its mentor's name, by id (what a booking page offers)."""
    return tx.execute(
        "SELECT e.id, e.title, e.duration_minutes, e.price_amount, e.currency, "
        "m.id AS mentor_id, m.name AS mentor_name "
        "FROM catalog_event_types e JOIN catalog_mentors m ON m.id = e.mentor_id ORDER BY e.id"
    ).fetchall()
