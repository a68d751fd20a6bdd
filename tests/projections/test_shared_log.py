"""One reader of the log per process: followers of the same log read new notifications from
the database once between them, and each still gets exactly its own batches."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from projections.follower import Follower
from projections.shared_log import SharedLog
from projections.store import Transaction
from tests.support.follower_toy import CREATED, INCREMENTED, Toy, toy_world


@dataclass
class AppliedPositions:
    """A projection that records each position it applies, under its own name."""

    name: str
    topics: Sequence[str] = ()

    def create_tables(self, tx: Transaction) -> None:
        tx.execute(
            "CREATE TABLE IF NOT EXISTS toy_shared_applied (view TEXT NOT NULL, position BIGINT)"
        )

    def drop_tables(self, tx: Transaction) -> None:
        tx.execute("DROP TABLE IF EXISTS toy_shared_applied")

    def apply(self, tx: Transaction, events: list[tuple[int, Any]]) -> None:
        for position, _ in events:
            tx.execute(
                "INSERT INTO toy_shared_applied (view, position) VALUES (%s, %s)",
                (self.name, position),
            )


def _applied(toy: Toy, name: str) -> list[int]:
    with toy.store.transaction(readonly=True) as tx:
        rows = tx.execute(
            "SELECT position FROM toy_shared_applied WHERE view = %s ORDER BY position", (name,)
        ).fetchall()
    return [row["position"] for row in rows]


@pytest.fixture
def toy(database_url: str) -> Iterator[Toy]:
    with toy_world(database_url) as world:
        yield world


def _counting_reads(toy: Toy, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The recorder's real reads, each one's start noted (a spy, not a stand-in)."""
    reads: list[int] = []
    select = toy.app.recorder.select_notifications

    def counted(start: int, limit: int, *args: Any, **kwargs: Any) -> Any:
        reads.append(start)
        return select(start, limit, *args, **kwargs)

    monkeypatch.setattr(toy.app.recorder, "select_notifications", counted)
    return reads


def test_followers_of_one_log_read_each_new_notification_once_and_apply_their_own_topics(
    toy: Toy, monkeypatch: pytest.MonkeyPatch
) -> None:
    toy.append(counters=3, increments=2)
    views = [AppliedPositions(f"toy_{n}") for n in range(3)]
    created_only = AppliedPositions("toy_created", topics=[CREATED])
    increments_only = AppliedPositions("toy_increments", topics=[INCREMENTED])
    followers = [Follower(toy.app, toy.store, v) for v in [*views, created_only, increments_only]]
    for follower in followers:
        follower.run_until_caught_up()
    reads = _counting_reads(toy, monkeypatch)

    last = toy.append(counters=2, increments=3, start=4)
    for follower in followers:
        assert follower.run_until_caught_up() == last

    assert len(reads) == 1  # five followers, one read of what the last commits added
    every = toy.notification_ids()
    for view in views:
        assert _applied(toy, view.name) == every  # each once, none skipped
    assert _applied(toy, "toy_created") == toy.notification_ids(topics=[CREATED])
    assert _applied(toy, "toy_increments") == toy.notification_ids(topics=[INCREMENTED])


def test_batches_hold_every_notification_of_their_topics_up_to_where_they_reach(
    toy: Toy,
) -> None:
    last = toy.append(counters=4, increments=3)  # 4 x (created, then 3 increments in one save)
    log = SharedLog(toy.app)
    for topics, limit in (([CREATED], 2), ([INCREMENTED], 2), ([], 3), ([CREATED], 100)):
        wanted = toy.notification_ids(topics=topics)
        seen: list[int] = []
        position = 0
        while position < last:
            batch, end = log.select(position, last, limit, topics)
            ids = [n.id for n in batch]
            assert len(ids) <= limit
            # Exactly the wanted ids after the position, up to where the batch reaches.
            assert ids == [i for i in wanted if position < i <= end][:limit]
            assert end > position
            seen += ids
            position = end
        assert seen == wanted
