"""Read-your-writes on a fresh database: a request that waits for a read model, arriving before
the read model's own loop has created its tables, finds them there (PostgreSQL, where the
set-up's DDL lock can be held from outside)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg
import pytest

from projections.follower import Follower
from projections.store import _DDL_LOCK_NAME, advisory_lock_key
from tests.support.follower_toy import CounterView, Toy, toy_world
from tests.support.waiting import wait_until

pytestmark = pytest.mark.postgres


@pytest.fixture
def toy(postgres_url: str) -> Iterator[Toy]:
    with toy_world(postgres_url) as world:
        yield world


def _sessions_waiting_for_the_ddl_lock(conn: psycopg.Connection) -> int:
    row = conn.execute(
        "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    ).fetchone()
    return int(row[0]) if row else 0


def test_waiting_for_a_read_model_that_is_not_set_up_yet_sets_it_up_first(
    toy: Toy, postgres_url: str
) -> None:
    key = advisory_lock_key(_DDL_LOCK_NAME)
    with psycopg.connect(postgres_url, autocommit=True) as other_ddl:
        other_ddl.execute("SELECT pg_advisory_lock(%s)", (key,))  # another process's DDL
        follower = Follower(toy.app, toy.store, CounterView())
        follower.start()  # its set-up now waits for that lock
        try:

            def release_once_both_wait() -> None:
                with psycopg.connect(postgres_url, autocommit=True) as watcher:
                    # The loop's set-up and the request's (a correct wait_for sets up first).
                    wait_until(lambda: _sessions_waiting_for_the_ddl_lock(watcher) >= 2)
                other_ddl.execute("SELECT pg_advisory_unlock(%s)", (key,))

            releaser = threading.Thread(target=release_once_both_wait, daemon=True)
            releaser.start()
            assert follower.wait_for(0, timeout=10)
            with toy.store.transaction(readonly=True) as tx:
                row = tx.execute("SELECT count(*) AS n FROM toy_counters").fetchone()
            assert row is not None and row["n"] == 0
            releaser.join(timeout=15)
        finally:
            follower.stop()
