"""Rebuild several read models in ONE pass over the ledger's log.

Each batch of the log is read and decoded once and given to every read model being rebuilt;
each read model writes its share of the batch in a transaction of its own together with its
tracking position, exactly as ``Follower.replay`` does for one. So a crash between (or in) a
batch leaves every read model consistent with its own position, and any later run, a worker's
follower or ``catch_up_together``, goes on from each one's position without applying an
event twice or skipping one.

A read model whose batch fails for good leaves the pass; once the others are done it is
finished by its own follower, which goes event by event over that batch and halts at the bad
event as it would alone (the others are not held back by it).
"""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from ledger.events import DomainEvent
from projections import tracking
from projections.event_log import head_position
from projections.failures import Failure, classify, describe
from projections.follower import (
    Follower,
    FollowerBusy,
    ProgressCallback,
    Projection,
    ReadModelHalted,
)
from projections.store import ReadModelStore

logger = logging.getLogger(__name__)

# A pass's transactions do not wait for their commit to reach the disk: a crash of the server
# may then lose the last few of them (well under a second's), each as a whole, so each read
# model's rows and its tracking position are lost together and the next run (a follower or
# ``catch_up_together``) applies those batches again from the position that survived: still
# exactly once. What is lost is only rebuilding work, and a rebuild is what is under way.
_ASYNCHRONOUS_COMMIT = "SET LOCAL synchronous_commit = off"


@dataclass
class _Member:
    follower: Follower
    projection: Projection
    topics: frozenset[str] | None  # None: every event


def replay_together(
    followers: Sequence[Follower],
    *,
    batch_size: int = 10_000,
    progress: ProgressCallback | None = None,
) -> dict[str, int]:
    """Drop and rebuild these followers' read models from position 0 in one pass over the log;
    return each one's final position. Raises ``FollowerBusy`` if any is kept elsewhere."""
    members = _members(followers, batch_size)
    with contextlib.ExitStack() as leading:
        for member in members:
            leading.enter_context(member.follower.leading())
        for member in members:
            member.follower.reset_for_replay()
        with cyclic_gc_paused():
            left_behind = _catch_up(members, batch_size, progress)
    _finish_alone(left_behind)
    return {member.follower.name: member.follower.position for member in members}


def catch_up_together(
    followers: Sequence[Follower],
    *,
    batch_size: int = 10_000,
    progress: ProgressCallback | None = None,
) -> dict[str, int]:
    """Bring these read models up to the log's head in one pass, each from its own stored
    position (after an interrupted ``replay_together``, say); return the final positions."""
    members = _members(followers, batch_size)
    with contextlib.ExitStack() as leading:
        for member in members:
            leading.enter_context(member.follower.leading())
        for member in members:
            member.follower.refresh()
            if member.follower.halt is not None:
                raise ReadModelHalted(member.follower.halt)
        with cyclic_gc_paused():
            left_behind = _catch_up(members, batch_size, progress)
    _finish_alone(left_behind)
    return {member.follower.name: member.follower.position for member in members}


@contextlib.contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a pass over the log.

    A batch keeps tens of thousands of decoded events and rows alive at once, and every
    collection the allocations trigger walks them all again: about a third of a pass's time
    at 10,000 events a batch. They form no reference cycles, so reference counting still frees
    each batch as before. (It is process-wide: a pass runs in a command of its own.)
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _members(followers: Sequence[Follower], batch_size: int) -> list[_Member]:
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    if len({follower.name for follower in followers}) != len(followers):
        raise ValueError("each read model may appear once")
    members = []
    for follower in followers:
        projection = follower.consumer
        if not isinstance(projection, Projection):
            raise TypeError(f"{follower.name} is a process manager: replaying it repeats effects")
        if follower.app is not followers[0].app or follower.store is not followers[0].store:
            raise ValueError("a pass over the log needs one ledger and one read-model store")
        follower.refuse_if_running()
        topics = getattr(projection, "topics", ()) or ()
        members.append(_Member(follower, projection, frozenset(topics) if topics else None))
    return members


Decoded = list[tuple[int, str, DomainEvent]]


def _catch_up(
    members: list[_Member], batch_size: int, progress: ProgressCallback | None
) -> list[_Member]:
    """The pass; returns the members whose batch failed for good (to be finished alone).

    On PostgreSQL the next batch is read and decoded while this one is written, and the read
    models write their shares at the same time, each on a connection of its own (as many at
    once as the store's pool holds): the server's work on one overlaps Python's on another.
    """
    if not members:
        return []
    app, store = members[0].follower.app, members[0].follower.store
    stop = head_position(app)
    wanted = [member.topics for member in members]
    # Read only what some member wants; with a short batch, every id up to ``stop`` is covered
    # (ids are in commit order), as in ``Follower._select``.
    topics = sorted({t for ts in wanted if ts is not None for t in ts})
    if any(ts is None for ts in wanted):
        topics = []
    start = min(member.follower.position for member in members)
    pending = [member for member in members if member.follower.position < stop]
    left_behind: list[_Member] = []
    if progress:
        progress(min(start, stop), stop)

    def read(after: int) -> tuple[Decoded, int]:
        notifications = app.recorder.select_notifications(
            after, batch_size, stop=stop, topics=topics, inclusive_of_start=False
        )
        end = notifications[-1].id if len(notifications) == batch_size else stop
        return [(n.id, n.topic, app.mapper.to_domain_event(n)) for n in notifications], end

    concurrent = store.kind == "postgres"
    writers = max(1, min(len(pending), store.max_connections)) if concurrent else 1
    with ThreadPoolExecutor(max_workers=writers + 1, thread_name_prefix="replay") as pool:

        def read_ahead(after: int) -> Future[tuple[Decoded, int]]:
            return pool.submit(read, after) if concurrent else _done(read, after)

        reading = read_ahead(start) if pending and start < stop else None
        while reading is not None:
            decoded, end = reading.result()
            reading = read_ahead(end) if concurrent and end < stop else None
            due = []
            for member in pending:
                if not member.follower.still_leading():
                    raise FollowerBusy(
                        f"follower {member.follower.name!r} lost its lock to another instance"
                    )
                if member.follower.position < end:  # else resumed ahead of this batch
                    due.append(member)
            if concurrent:
                writes = [pool.submit(_write, store, m, decoded, end) for m in due]
                failures = [write.exception() for write in writes]
            else:
                failures = []
                for member in due:
                    failures.append(_error_of(_write, store, member, decoded, end))
                    if failures[-1] is not None and classify(failures[-1]) is Failure.TRANSIENT:
                        due = due[: len(failures)]  # the rest wait for the next run
                        break
            transient = [e for e in failures if e is not None and classify(e) is Failure.TRANSIENT]
            for member, error in zip(due, failures, strict=True):
                if error is None:
                    member.follower.moved_to(end)
                elif classify(error) is not Failure.TRANSIENT:
                    logger.warning(
                        "%s: a batch after %d failed (%s); it leaves the one-pass replay",
                        member.follower.name,
                        member.follower.position,
                        describe(error),
                    )
                    pending.remove(member)
                    left_behind.append(member)
            if transient:
                raise transient[0]
            if not pending:
                break
            if reading is None and end < stop:
                reading = read_ahead(end)
            if progress:
                progress(min(end, stop), stop)
    return left_behind


def _write(store: ReadModelStore, member: _Member, decoded: Decoded, end: int) -> None:
    """One read model's share of a batch and its new position, in one transaction."""
    follower = member.follower
    position = follower.position
    topics = member.topics
    events: list[tuple[int, DomainEvent]]
    if decoded and decoded[0][0] > position:  # the whole batch is after its position
        if topics is None:
            events = [(n_id, event) for n_id, _, event in decoded]
        else:
            events = [(n_id, event) for n_id, topic, event in decoded if topic in topics]
    else:
        events = [
            (n_id, event)
            for n_id, topic, event in decoded
            if n_id > position and (topics is None or topic in topics)
        ]
    with store.transaction() as tx:
        if tx.kind == "postgres":
            tx.execute(_ASYNCHRONOUS_COMMIT)
        tracking.advance(tx, follower.name, expected=position, new=end)
        if events:
            member.projection.apply(tx, events)


def _done(read: Callable[[int], tuple[Decoded, int]], after: int) -> Future[tuple[Decoded, int]]:
    """``read(after)`` run here and now (SQLite: on this thread), as a finished future."""
    future: Future[tuple[Decoded, int]] = Future()
    future.set_result(read(after))
    return future


def _error_of(
    write: Callable[[ReadModelStore, _Member, Decoded, int], None],
    store: ReadModelStore,
    member: _Member,
    decoded: Decoded,
    end: int,
) -> BaseException | None:
    try:
        write(store, member, decoded, end)
    except Exception as error:
        return error
    return None


def _finish_alone(left_behind: list[_Member]) -> None:
    for member in left_behind:
        # Event by event from its own position: everything before the bad event is applied,
        # then it halts there (``ReadModelHalted``), as a replay of it alone would.
        member.follower.run_until_caught_up()
