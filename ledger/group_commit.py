"""Group commit: the commands that arrive while a save is in flight are saved together next.

On PostgreSQL the library locks the events table for every save (notification ids commit in
order), so concurrent saves queue one by one, each paying its own round trips and commit.
Here the first caller to arrive leads: it saves every command queued by then in one
transaction, wakes their callers, and hands the lead to the next one waiting. Only the leader
writes, so a process holds at most one connection for ledger writes.

A leader about to take its batch first waits, up to ``max_wait`` (2 ms), for the commands still
being decided (``deciding``: the ledger's commands mark themselves), so that they share its
transaction rather than queue behind it; a lone command never waits.

Each command's events are decided (validated, aggregates loaded and mutated) and encoded
before they are queued (the ledger queues ``StoredEvent``), so the batch's save, which all its
callers wait for, only writes; and every caller learns its own outcome:

- a batch never holds two commands on the same aggregate: both were decided from the same
  stored state, so at most one can be right; the later waits for the next batch, and fails at
  once with ``IntegrityError`` if the earlier was stored (its command then reloads and decides
  again, like any lost race);
- a batch the store refuses (a version already taken by another process, a bad event) wrote
  nothing; its commands are then saved one by one, so only those at fault fail;
- a lost connection (the library has already retried it) fails the whole batch: saving its
  commands one by one would only wait for the same outage once per command.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError

from ledger.handoff import LeaderQueue, Waiter, fail_all

# A ``StoredEvent``'s originator id may be text (the library allows text ids).
AggregateId = UUID | str


class Event(Protocol):
    """What the committer needs of an event: whose it is and which version (the ledger
    queues its events already encoded, as ``StoredEvent``)."""

    @property
    def originator_id(self) -> AggregateId: ...

    @property
    def originator_version(self) -> int: ...


SaveEvents = Callable[[Sequence[Any]], Any]

# Errors of the connection, not of one command's events.
_CONNECTION_ERRORS = (OperationalError, InterfaceError)
DEFAULT_MAX_BATCH = 64
# How long a leader waits at most for commands still being decided (see ``deciding``).
DEFAULT_MAX_WAIT = 0.002


@dataclass(frozen=True)
class CommitStats:
    """What a group committer has saved since it was made (every figure only grows): how
    many commands each transaction carries, and how long its saves take, which is what
    bounds how many commands a process records per second."""

    transactions: int  # batches saved (or refused: then also counted in ``split``)
    commands: int
    events: int
    save_seconds: float  # spent in the batches' saves, one at a time
    split: int  # batches the store refused, then saved one command at a time


class GroupCommitInterrupted(RuntimeError):
    """The leader was interrupted while saving this command's batch: it may or may not be
    stored (look it up before trying again)."""


class _Entry(Waiter):
    __slots__ = ("events", "first_versions")

    def __init__(self, events: Sequence[Event]) -> None:
        super().__init__()
        self.events = list(events)
        # The first version each aggregate gets from this command: taken already, it conflicts.
        self.first_versions: dict[AggregateId, int] = {}
        for event in self.events:
            self.first_versions.setdefault(event.originator_id, event.originator_version)


class GroupCommitter(LeaderQueue[_Entry]):
    """Saves concurrent commands' events in shared transactions through ``save``."""

    def __init__(
        self,
        save: SaveEvents,
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        max_wait: float = DEFAULT_MAX_WAIT,
    ) -> None:
        if max_batch < 1 or max_wait < 0:
            raise ValueError("max_batch must be at least 1, max_wait not negative")
        super().__init__()
        self._save = save
        self._max_batch = max_batch
        self._max_wait = max_wait
        # Commands being decided (``deciding``), and the leader waiting for them to queue.
        self._deciding = 0
        self._leader_waits = False
        self._decided = threading.Condition(self._lock)
        self._local = threading.local()
        self._last_batch = 0  # commands in the last batch taken (``others_under_way``)
        # Written by the leader only (one at a time), read by anyone: no lock needed.
        self._stats = CommitStats(0, 0, 0, 0.0, 0)

    @property
    def stats(self) -> CommitStats:
        return self._stats

    @contextmanager
    def deciding(self) -> Iterator[None]:
        """Around a command that may commit: while it decides (reads, validates), a leader
        about to save waits for it, up to ``max_wait``, so that it joins this transaction.

        Without this, the callers of a batch, released together, all miss the very next
        batch (it is taken the moment theirs is stored): with n threads a batch holds about
        n/2 commands, and the table lock allows one transaction at a time. Like
        PostgreSQL's ``commit_delay``, it waits only while other commands are under way, so a
        lone caller never waits. Nested commands on one thread count once."""
        local = self._local
        depth: int = getattr(local, "depth", 0)
        local.depth = depth + 1
        if depth == 0:
            with self._lock:
                self._deciding += 1
            local.counted = True
        try:
            yield
        finally:
            local.depth = depth
            if depth == 0 and local.counted:
                local.counted = False
                with self._lock:
                    self._one_decided()

    def others_under_way(self) -> bool:
        """Whether other commands are likely under way: some being decided besides the
        caller's, or the last batch held several (its callers are about to run again). A
        hint, read without the lock."""
        own = 1 if getattr(self._local, "counted", False) else 0
        return self._deciding > own or self._last_batch > 1

    def _one_decided(self) -> None:
        self._deciding -= 1
        if self._leader_waits and self._deciding == 0:
            self._decided.notify()

    def commit(self, events: Sequence[Event]) -> None:
        """Store ``events`` (one command's, all or none); raise what the store raised for
        them (``IntegrityError``: an aggregate's version was taken; reload and decide again)."""
        if not events:
            return
        entry = _Entry(events)
        counted = getattr(self._local, "counted", False)
        if counted:
            self._local.counted = False  # decided: queued from now on
        if self._join(entry, self._one_decided if counted else None):
            self._lead(entry)
        entry.outcome()

    def _lead(self, own: _Entry) -> None:
        """Save one batch (which holds this caller's own entry, the queue's first), then pass
        the lead to the next waiting caller, or give it up."""
        try:
            with self._lock:
                if self._deciding and self._max_wait:
                    self._leader_waits = True
                    self._decided.wait_for(self._all_queued, timeout=self._max_wait)
                    self._leader_waits = False
                batch = self._take_batch()
            self._save_batch(batch)
        finally:
            self._pass_lead(own)

    def _all_queued(self) -> bool:
        return self._deciding == 0 or len(self._queue) >= self._max_batch

    def _take_batch(self) -> list[_Entry]:
        batch: list[_Entry] = []
        in_batch: set[AggregateId] = set()
        deferred: deque[_Entry] = deque()
        for entry in self._queue:
            if len(batch) < self._max_batch and in_batch.isdisjoint(entry.first_versions):
                batch.append(entry)
                in_batch.update(entry.first_versions)
            else:
                deferred.append(entry)
        self._queue = deferred
        self._last_batch = len(batch)
        return batch

    def _save_batch(self, batch: list[_Entry]) -> None:
        started = time.perf_counter()
        split = False
        try:
            split = self._store(batch)
        except BaseException as interruption:
            for entry in batch:
                if not entry.resolved:
                    failure = GroupCommitInterrupted("the save of this command was interrupted")
                    failure.__cause__ = interruption
                    entry.resolve(failure)
            raise
        finally:
            self._count(batch, time.perf_counter() - started, split)
        stored: dict[AggregateId, int] = {}
        for entry in batch:
            if entry.error is None:
                for event in entry.events:
                    version = stored.get(event.originator_id, event.originator_version)
                    stored[event.originator_id] = max(version, event.originator_version)
        if stored:
            with self._lock:
                self._fail_stale(stored)

    def _count(self, batch: list[_Entry], seconds: float, split: bool) -> None:
        stats = self._stats
        self._stats = CommitStats(
            transactions=stats.transactions + 1,
            commands=stats.commands + len(batch),
            events=stats.events + sum(len(entry.events) for entry in batch),
            save_seconds=stats.save_seconds + seconds,
            split=stats.split + split,
        )

    def _store(self, batch: list[_Entry]) -> bool:
        """Save the batch and resolve its entries; True if the store refused it whole and its
        commands were then saved one by one."""
        try:
            self._save([event for entry in batch for event in entry.events])
        except _CONNECTION_ERRORS as error:
            fail_all(batch, error)
            return False
        except Exception as error:
            if len(batch) == 1:
                batch[0].resolve(error)
                return False
            # Nothing of the batch was written: find the commands at fault one by one.
            for entry in batch:
                try:
                    self._save(entry.events)
                except Exception as own_error:
                    entry.resolve(own_error)
                else:
                    entry.resolve(None)
            return True
        for entry in batch:
            entry.resolve(None)
        return False

    def _fail_stale(self, stored: dict[AggregateId, int]) -> None:
        """Fail the waiting commands decided before a version they write was just stored."""
        waiting: deque[_Entry] = deque()
        for entry in self._queue:
            taken = [
                aggregate_id
                for aggregate_id, version in entry.first_versions.items()
                if stored.get(aggregate_id, 0) >= version
            ]
            if taken:
                entry.resolve(IntegrityError(f"aggregate {taken[0]} changed since it was loaded"))
            else:
                waiting.append(entry)
        self._queue = waiting
