"""A restarting follower's set-up never waits for the active follower's batch (PostgreSQL):
with the read models already there it takes no table lock and no tracking-row lock, so it
can neither queue behind that batch nor deadlock with it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from projections import tracking
from projections.bookings import BookingsProjection
from projections.payments import PaymentsProjection
from projections.store import ReadModelStore

pytestmark = pytest.mark.postgres


def _set_up(store: ReadModelStore, name: str) -> int:
    """What a follower does when it (re)starts."""
    with store.ddl_transaction() as tx:
        tracking.create_table(tx)
        BookingsProjection().create_tables(tx)
        PaymentsProjection().create_tables(tx)
        return tracking.ensure(tx, name)


def test_set_up_does_not_wait_for_an_open_batch(postgres_url: str) -> None:
    with ReadModelStore(postgres_url, pool_size=2) as store:
        assert _set_up(store, "bookings") == 0
        with psycopg.connect(postgres_url) as batch:
            # The active follower, mid-batch: its tracking row and its tables are locked.
            batch.execute("UPDATE follower_positions SET position = 7 WHERE name = 'bookings'")
            batch.execute("LOCK TABLE bookings, payments IN ROW EXCLUSIVE MODE")
            with ThreadPoolExecutor(max_workers=1) as pool:
                restarted = pool.submit(_set_up, store, "bookings")
                assert restarted.result(timeout=10) == 0  # the committed position, not waiting
            batch.rollback()
