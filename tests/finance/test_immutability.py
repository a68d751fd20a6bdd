"""The events table refuses edits and deletions in the database itself."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest

from ledger import Ledger
from mentorpay.immutability import protect_event_table
from mentorpay.persistence import eventsourcing_env
from projections.database_url import parse_database_url
from tests.support.ledger_factories import accepted_booking, paid_out, position


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_events SET state = state || '\\x00'::bytea",
        "UPDATE ledger_events SET topic = 'mentorpay.Payment.Refunded' WHERE notification_id = 1",
        "DELETE FROM ledger_events WHERE notification_id = 1",
        "DELETE FROM ledger_events",
        "TRUNCATE ledger_events",
    ],
)
def test_postgres_refuses_to_change_recorded_events(postgres_url: str, statement: str) -> None:
    with Ledger(eventsourcing_env(postgres_url)) as ledger:
        protect_event_table(postgres_url)
        protect_event_table(postgres_url)  # idempotent: every process installs it at start
        accepted_booking(ledger)
        conninfo = parse_database_url(postgres_url).psycopg_conninfo
        with psycopg.connect(conninfo, autocommit=True) as conn:
            before = conn.execute(
                "SELECT notification_id, topic, state FROM ledger_events"
            ).fetchall()
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="immutable"):
                conn.execute(statement)
            after = conn.execute(
                "SELECT notification_id, topic, state FROM ledger_events"
            ).fetchall()
        assert after == before
        # Appending still works.
        paid_out(ledger)
        assert position(ledger) > len(before)


def test_sqlite_refuses_to_change_recorded_events(sqlite_url: str) -> None:
    with Ledger(eventsourcing_env(sqlite_url)) as ledger:
        protect_event_table(sqlite_url)
        protect_event_table(sqlite_url)
        accepted_booking(ledger)
        path = parse_database_url(sqlite_url).sqlite_path
        assert path is not None
        conn = sqlite3.connect(path)
        try:
            before = conn.execute("SELECT rowid, topic, state FROM stored_events").fetchall()
            for statement in (
                "UPDATE stored_events SET topic = 'mentorpay.Payment.Refunded'",
                "DELETE FROM stored_events WHERE rowid = 1",
            ):
                with pytest.raises(sqlite3.IntegrityError, match="immutable"):
                    conn.execute(statement)
            assert (
                conn.execute("SELECT rowid, topic, state FROM stored_events").fetchall() == before
            )
        finally:
            conn.close()
        paid_out(ledger)
        assert position(ledger) > len(before)


def test_in_memory_store_needs_no_guard() -> None:
    protect_event_table("memory://")  # nothing to protect, and no error
