"""Follower positions: read, advanced under a guard inside the caller's transaction, reset."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from projections import tracking
from projections.store import ReadModelStore


@pytest.fixture
def store(database_url: str) -> Iterator[ReadModelStore]:
    with ReadModelStore(database_url) as read_models:
        with read_models.ddl_transaction() as tx:
            tracking.create_table(tx)
            tracking.create_table(tx)  # idempotent
            tx.execute("CREATE TABLE effects (position BIGINT NOT NULL)")
        yield read_models


def _effects(store: ReadModelStore) -> list[int]:
    with store.transaction(readonly=True) as tx:
        rows = tx.execute("SELECT position FROM effects ORDER BY position").fetchall()
    return [row["position"] for row in rows]


def _apply(store: ReadModelStore, name: str, expected: int, new: int) -> None:
    """What a follower does: advance under the guard, then write the batch's effect."""
    with store.transaction() as tx:
        tracking.advance(tx, name, expected=expected, new=new)
        tx.execute("INSERT INTO effects (position) VALUES (%s)", (new,))


def test_positions_start_at_zero_advance_and_reset(store: ReadModelStore) -> None:
    with store.transaction() as tx:
        assert tracking.read_position(tx, "bookings") == 0
        assert tracking.ensure(tx, "bookings") == 0
        assert tracking.ensure(tx, "payments") == 0
    _apply(store, "bookings", 0, 10)
    _apply(store, "bookings", 10, 25)

    with store.transaction() as tx:
        assert [tracking.read_position(tx, n) for n in ("bookings", "payments")] == [25, 0]
        tracking.reset(tx, "bookings")
        tracking.reset(tx, "journal")  # also starts tracking a name never seen
        names = ("bookings", "journal", "payments")
        assert [tracking.read_position(tx, n) for n in names] == [0, 0, 0]
        assert tx.execute(f"SELECT count(*) AS n FROM {tracking.TABLE}").fetchone() == {"n": 3}


def test_a_stale_expected_position_is_refused_with_the_batch(store: ReadModelStore) -> None:
    with store.transaction() as tx:
        tracking.ensure(tx, "bookings")
    _apply(store, "bookings", 0, 10)

    with pytest.raises(tracking.PositionConflict) as conflict:
        _apply(store, "bookings", 0, 10)  # a replayed batch
    assert (conflict.value.expected, conflict.value.actual) == (0, 10)
    with pytest.raises(tracking.PositionConflict) as untracked:
        _apply(store, "never-ensured", 0, 5)
    assert untracked.value.actual is None
    with pytest.raises(ValueError), store.transaction() as tx:
        tracking.advance(tx, "bookings", expected=10, new=10)

    assert _effects(store) == [10]


def test_of_two_concurrent_writers_from_one_position_only_one_commits(
    store: ReadModelStore,
) -> None:
    with store.transaction() as tx:
        tracking.ensure(tx, "bookings")
    outcome: list[BaseException | None] = []

    def second_writer() -> None:
        try:
            _apply(store, "bookings", 0, 7)
            outcome.append(None)
        except BaseException as error:
            outcome.append(error)

    with store.transaction() as tx:
        tracking.advance(tx, "bookings", expected=0, new=7)
        tx.execute("INSERT INTO effects (position) VALUES (7)")
        # The second writer starts while the first holds its uncommitted advance: it waits
        # (row lock / SQLite write lock), then fails the guard once the first commits.
        writer = threading.Thread(target=second_writer)
        writer.start()
    writer.join(timeout=30)

    assert len(outcome) == 1 and isinstance(outcome[0], tracking.PositionConflict)
    assert _effects(store) == [7]
    with store.transaction(readonly=True) as tx:
        assert tracking.read_position(tx, "bookings") == 7
