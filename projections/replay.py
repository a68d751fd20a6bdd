"""Rebuild several read models in ONE pass over the ledger's log.

Each batch of the log is read and decoded once and given to every read model being rebuilt;
each read model writes its share of the batch in a transaction of its own together with its
tracking position, exactly as ``Follower.replay`` does for one. So a crash between (or in) a
batch leaves every read model consistent with its own position, and any later run, a worker's
follower or ``catch_up_together``, goes on from each one's position without applying an
event twice or skipping one. On PostgreSQL the log is read ahead on a thread and each read
model writes on a thread and connection of its own (``_Pipeline``); on SQLite, in turn.

A read model whose batch fails for good leaves the pass; once the others are done it is
finished by its own follower, which goes event by event over that batch and halts at the bad
event as it would alone (the others are not held back by it).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from eventsourcing.persistence import Notification

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
        for member in members:
            # The query indexes the load went without (``projections.query_indexes``), unless
            # a writer built them already; a pass cut short leaves them to the next set-up.
            member.follower.set_up()
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
Fetch = Callable[[int], tuple[Sequence[Notification], int]]
Decode = Callable[[Sequence[Notification]], Decoded]
# A batch and the position it ends at, or the end of the log (no further batch).
_Batch = tuple[Decoded, int] | None
_END_OF_LOG: _Batch = None
# Batches read ahead for each read model: enough to keep a writer busy while the next is read,
# few enough that memory stays flat (a batch is held once, whatever the number of models).
_BATCHES_AHEAD = 2
_POLL_SECONDS = 0.1


def _catch_up(
    members: list[_Member], batch_size: int, progress: ProgressCallback | None
) -> list[_Member]:
    """The pass; returns the members whose batch failed for good (to be finished alone)."""
    if not members:
        return []
    app, store = members[0].follower.app, members[0].follower.store
    stop = head_position(app)
    wanted = [member.topics for member in members]
    # The log is read whole, in the id index's order, and filtered here before decoding. With
    # ``topic = ANY(...)`` in the query the server may instead fetch every remaining row of the
    # range and sort them, for each batch: on a table without statistics it did, and a pass
    # over 1,000,000 events was slower than replaying its read models one after another.
    needed = None if any(ts is None for ts in wanted) else {t for ts in wanted if ts for t in ts}
    start = min(member.follower.position for member in members)
    pending = [member for member in members if member.follower.position < stop]
    if progress:
        progress(min(start, stop), stop)
    if not pending or start >= stop:
        return []

    def fetch(after: int) -> tuple[Sequence[Notification], int]:
        notifications = app.recorder.select_notifications(
            after, batch_size, stop=stop, inclusive_of_start=False
        )
        end = notifications[-1].id if len(notifications) == batch_size else stop
        return notifications, end

    def decode(notifications: Sequence[Notification]) -> Decoded:
        to_domain_event = app.mapper.to_domain_event
        return [
            (n.id, n.topic, to_domain_event(n))
            for n in notifications
            if needed is None or n.topic in needed
        ]

    if store.kind == "postgres":
        return _Pipeline(pending, store, fetch, decode, start, stop).run(progress)
    return _in_turn(pending, store, fetch, decode, start, stop, progress)


def _in_turn(
    pending: list[_Member],
    store: ReadModelStore,
    fetch: Fetch,
    decode: Decode,
    start: int,
    stop: int,
    progress: ProgressCallback | None,
) -> list[_Member]:
    """SQLite (one writer at a time): each batch read, then written by each read model."""
    left_behind: list[_Member] = []
    while pending and start < stop:
        notifications, end = fetch(start)
        decoded = decode(notifications)
        for member in list(pending):
            if not _write_share(store, member, decoded, end):
                pending.remove(member)
                left_behind.append(member)
        start = end
        if progress:
            progress(min(start, stop), stop)
    return left_behind


class _Pipeline:
    """PostgreSQL: one thread reads and decodes the log batch by batch, and each read model
    writes its share on a thread and a connection of its own, at its own pace, up to
    ``_BATCHES_AHEAD`` batches behind the reader. The server's work for one overlaps Python's
    for another (reading, decoding, folding), and no read model waits for a slower one's
    batch. Each batch of each read model is still one transaction with its position."""

    def __init__(
        self,
        members: list[_Member],
        store: ReadModelStore,
        fetch: Fetch,
        decode: Decode,
        start: int,
        stop: int,
    ) -> None:
        self.members = members
        self.store = store
        self.fetch = fetch
        self.decode = decode
        self.start = start
        self.stop = stop
        self.queues: dict[str, queue.Queue[_Batch]] = {
            m.follower.name: queue.Queue(maxsize=_BATCHES_AHEAD) for m in members
        }
        self.writing = {m.follower.name for m in members}
        # No more transactions than the store's pool holds: a writer waiting here waits for
        # another's commit, not for a pool timeout.
        self.connections = threading.BoundedSemaphore(max(1, store.max_connections))
        self.failed = threading.Event()
        self.errors: list[BaseException] = []
        self.left_behind: list[_Member] = []

    def run(self, progress: ProgressCallback | None) -> list[_Member]:
        threads = [threading.Thread(target=self._reader, name="replay-read", daemon=True)]
        threads += [
            threading.Thread(
                target=self._writer, args=(m,), name=f"replay-{m.follower.name}", daemon=True
            )
            for m in self.members
        ]
        for thread in threads:
            thread.start()
        reported = -1
        try:
            for thread in threads:
                while thread.is_alive():
                    thread.join(_POLL_SECONDS)
                    if progress:
                        reached = min(m.follower.position for m in self.members)
                        if reached != reported:
                            reported = reached
                            progress(min(reached, self.stop), self.stop)
        except BaseException:  # interrupted (Ctrl-C): no transaction may outlive the pass
            self.failed.set()
            for thread in threads:
                thread.join()
            raise
        if self.errors:
            raise self.errors[0]
        if progress:
            progress(self.stop, self.stop)
        return self.left_behind

    def _fail(self, error: BaseException) -> None:
        self.errors.append(error)
        self.failed.set()

    def _reader(self) -> None:
        # The next batch is fetched on a thread of its own while this one is decoded: the
        # query's wait for the server (and for the GIL the writers keep busy) overlaps with
        # decoding, instead of coming before it.
        try:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="replay-fetch") as ahead:
                fetched = ahead.submit(self.fetch, self.start)
                while self.writing and not self.failed.is_set():
                    notifications, end = fetched.result()
                    if end < self.stop:
                        fetched = ahead.submit(self.fetch, end)
                    batch = (self.decode(notifications), end)
                    del notifications
                    for member in self.members:
                        self._hand_over(member, batch)
                    if end >= self.stop:
                        break
            # Told at once, each writer goes on to its indexes (polling, it would wait a tick).
            for member in self.members:
                self._hand_over(member, _END_OF_LOG)
        except BaseException as error:
            self._fail(error)

    def _hand_over(self, member: _Member, batch: _Batch) -> None:
        name = member.follower.name
        while name in self.writing and not self.failed.is_set():
            try:
                self.queues[name].put(batch, timeout=_POLL_SECONDS)
                return
            except queue.Full:
                continue

    def _next(self, member: _Member) -> tuple[Decoded, int] | None:
        """The member's next batch; None at the end of the log or once the pass failed."""
        batches = self.queues[member.follower.name]
        while not self.failed.is_set():
            try:
                batch = batches.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                continue
            return None if batch is _END_OF_LOG else batch
        return None

    def _writer(self, member: _Member) -> None:
        try:
            while (batch := self._next(member)) is not None:
                decoded, end = batch
                if not _write_share(self.store, member, decoded, end, self.connections):
                    self.left_behind.append(member)
                    return
            if not self.failed.is_set():
                # Its query indexes, while the others may still be writing (``set_up``).
                with self.connections:
                    member.follower.set_up()
        except BaseException as error:
            self._fail(error)
        finally:
            self.writing.discard(member.follower.name)


def _write_share(
    store: ReadModelStore,
    member: _Member,
    decoded: Decoded,
    end: int,
    connection: contextlib.AbstractContextManager[object] | None = None,
) -> bool:
    """Write ``member``'s share of a batch (held in ``connection``, a slot of the pool) unless
    it has resumed ahead of it; False if the batch failed for good: it leaves the pass."""
    _check_leading(member)
    if member.follower.position >= end:
        return True  # resumed ahead of this batch
    try:
        with connection or contextlib.nullcontext():
            _write(store, member, decoded, end)
    except Exception as error:
        if classify(error) is Failure.TRANSIENT:
            raise
        _leaves(member, error)
        return False
    member.follower.moved_to(end)
    return True


def _check_leading(member: _Member) -> None:
    if not member.follower.still_leading():
        raise FollowerBusy(f"follower {member.follower.name!r} lost its lock to another instance")


def _leaves(member: _Member, error: Exception) -> None:
    logger.warning(
        "%s: a batch after %d failed (%s); it leaves the one-pass replay",
        member.follower.name,
        member.follower.position,
        describe(error),
    )


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


def _finish_alone(left_behind: list[_Member]) -> None:
    for member in left_behind:
        # Event by event from its own position: everything before the bad event is applied,
        # then it halts there (``ReadModelHalted``), as a replay of it alone would.
        member.follower.run_until_caught_up()
