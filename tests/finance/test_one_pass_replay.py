"""Several read models rebuilt in one pass over the log (``projections.replay``)."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.events import DomainEvent
from projections import tracking
from projections.follower import Follower, Projection, ReadModelHalted
from projections.replay import catch_up_together, replay_together
from projections.store import Transaction
from tests.support.books import Books
from tests.support.ledger_factories import accepted_booking, paid_booking, paid_out, position

TABLES = {
    "bookings": ("bookings",),
    "payments": ("payments",),
    "journal": ("journal_entries", "account_balances"),
    "no_shows": ("no_show_claims",),
}


def write_sessions(books: Books) -> None:
    for _ in range(3):
        paid_out(books.ledger)
        accepted_booking(books.ledger)
        paid_booking(books.ledger)


def snapshot(books: Books) -> dict[str, list[dict[str, Any]]]:
    """Every row of every read model, in a stable order."""
    with books.store.transaction(readonly=True) as tx:
        return {
            table: sorted(
                (dict(row) for row in tx.execute(f"SELECT * FROM {table}").fetchall()),
                key=repr,
            )
            for tables in TABLES.values()
            for table in tables
        }


def followers(books: Books, projections: list[Projection] | None = None) -> list[Follower]:
    return [Follower(books.ledger, books.store, p) for p in projections or books.projections]


def positions(books: Books) -> dict[str, int]:
    with books.store.transaction(readonly=True) as tx:
        return {p.name: tracking.read_position(tx, p.name) for p in books.projections}


def indexes(books: Books) -> set[str]:
    """Every index of the store's tables."""
    with books.store.transaction(readonly=True) as tx:
        if tx.kind == "postgres":
            query = "SELECT indexname AS name FROM pg_indexes WHERE schemaname = current_schema()"
        else:
            query = "SELECT name FROM sqlite_master WHERE type = 'index'"
        return {row["name"] for row in tx.execute(query).fetchall()}


def replayed_each_alone(books: Books) -> dict[str, list[dict[str, Any]]]:
    for follower in followers(books):
        follower.replay(batch_size=5)
    return snapshot(books)


class FailsOnCall:
    """A read model whose ``apply`` raises on its n-th call (and on every later one, if
    ``for_good``)."""

    def __init__(
        self, projection: Projection, call: int, error: Exception, *, for_good: bool = False
    ) -> None:
        self.inner = projection
        self.name = projection.name
        self.topics = getattr(projection, "topics", ())
        self.query_indexes = getattr(projection, "query_indexes", ())
        self.calls = 0
        self.call = call
        self.error = error
        self.for_good = for_good

    def create_tables(self, tx: Transaction) -> None:
        self.inner.create_tables(tx)

    def drop_tables(self, tx: Transaction) -> None:
        self.inner.drop_tables(tx)

    def apply(self, tx: Transaction, events: list[tuple[int, DomainEvent]]) -> None:
        self.calls += 1
        if self.calls == self.call or (self.for_good and self.calls > self.call):
            self.inner.apply(tx, events)  # its writes must roll back with the position
            raise self.error
        self.inner.apply(tx, events)


def test_one_pass_gives_every_read_model_what_replaying_it_alone_gives(books: Books) -> None:
    write_sessions(books)
    expected = replayed_each_alone(books)
    with books.store.transaction() as tx:
        tx.execute("UPDATE account_balances SET debits = 0")  # to be repaired by the rebuild

    every_index = indexes(books)

    reached = replay_together(followers(books), batch_size=4)

    head = position(books.ledger)
    assert reached == {p.name: head for p in books.projections}
    assert positions(books) == reached
    assert snapshot(books) == expected
    # PostgreSQL loads without the query-only indexes and builds them at the end
    assert indexes(books) == every_index


@pytest.mark.parametrize("resume", ["one pass", "each follower"])
def test_a_crash_between_batches_leaves_each_read_model_at_its_own_position_and_a_rerun_resumes(
    books: Books, resume: str
) -> None:
    write_sessions(books)
    expected = replayed_each_alone(books)
    projections = list(books.projections)
    index = next(i for i, p in enumerate(projections) if p.name == "payments")
    projections[index] = FailsOnCall(projections[index], 3, ConnectionError("server went away"))

    with pytest.raises(ConnectionError):
        replay_together(followers(books, projections), batch_size=4)

    stopped = positions(books)
    head = position(books.ledger)
    # payments failed on its third batch and the pass stopped there, every read model short of
    # the head, each at a position of its own
    assert 0 < stopped["payments"] < head
    assert all(stopped[name] < head for name in stopped)
    if books.store.kind != "postgres":
        # in turn: bookings wrote the batch payments failed on; the journal, after it, did not
        assert stopped["payments"] < stopped["bookings"]
        assert stopped["journal"] == stopped["payments"]

    if resume == "one pass":
        catch_up_together(followers(books), batch_size=4)
    else:
        books.project()
    assert positions(books) == {p.name: head for p in books.projections}
    assert snapshot(books) == expected  # nothing applied twice, nothing skipped


def test_a_read_model_that_fails_for_good_halts_alone_and_the_others_are_rebuilt(
    books: Books,
) -> None:
    write_sessions(books)
    expected = replayed_each_alone(books)
    projections = list(books.projections)
    index = next(i for i, p in enumerate(projections) if p.name == "journal")
    projections[index] = FailsOnCall(
        projections[index], 2, ValueError("cannot post this"), for_good=True
    )

    with pytest.raises(ReadModelHalted):
        replay_together(followers(books, projections), batch_size=4)

    head = position(books.ledger)
    reached = positions(books)
    assert reached["journal"] < head
    others = {name: at for name, at in reached.items() if name != "journal"}
    assert others == {name: head for name in others}
    rebuilt = snapshot(books)
    for name in others:
        for table in TABLES[name]:
            assert rebuilt[table] == expected[table]


@pytest.mark.parametrize("restart", ["mentorpay replay", "a worker", "a worker set up before"])
def test_a_pass_cut_short_before_building_its_query_indexes_leaves_them_to_the_next_start(
    books: Books, restart: str
) -> None:
    write_sessions(books)
    expected = replayed_each_alone(books)
    every_index = indexes(books)
    set_up_before = [Follower(books.ledger, books.store, p) for p in books.projections]
    for follower in set_up_before:
        follower.set_up()
    projections = list(books.projections)
    index = next(i for i, p in enumerate(projections) if p.name == "journal")
    projections[index] = FailsOnCall(projections[index], 3, ConnectionError("server went away"))

    with pytest.raises(ConnectionError):  # the process died mid-pass, say
        replay_together(followers(books, projections), batch_size=4)

    if books.store.kind == "postgres":
        missing = every_index - indexes(books)
        assert "journal_entries_account_idx" in missing  # the load went without it

    if restart == "mentorpay replay":
        replay_together(followers(books), batch_size=4)
    elif restart == "a worker":
        books.project()
    else:
        # a worker's followers, set up before the pass, then standbys (which keep their
        # position fresh) while it ran: now they lead
        for follower in set_up_before:
            follower.refresh()
            follower.start()
        try:
            head = position(books.ledger)
            assert all(follower.wait_for(head, timeout=30) for follower in set_up_before)
        finally:
            for follower in set_up_before:
                follower.stop()
    assert indexes(books) == every_index
    assert snapshot(books) == expected
