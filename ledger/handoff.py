"""A caller asleep until another thread hands it a result or the lead (leader-follower).

Both the group committer and the shared reads let one caller (the leader) do the work of all
that queued meanwhile; the others sleep until it is done. The wake-up is a bare lock, held
from the start and released once: the cheapest hand-off there is (an ``Event`` adds a
``Condition`` and its own lock to every one). Only the current leader wakes a waiter, so the
release needs no further guard.
"""

from __future__ import annotations

import copy
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar


class Waiter:
    __slots__ = ("_asleep", "error", "leads", "resolved")

    def __init__(self) -> None:
        self._asleep = threading.Lock()
        self._asleep.acquire()
        self.leads = False
        self.resolved = False
        self.error: BaseException | None = None

    def sleep(self) -> None:
        """Wait until resolved or handed the lead."""
        self._asleep.acquire()

    def wake(self) -> None:
        if self._asleep.locked():
            self._asleep.release()

    def hand_lead(self) -> None:
        self.leads = True
        self.wake()

    def resolve(self, error: BaseException | None) -> None:
        self.error = error
        self.resolved = True
        self.wake()

    def outcome(self) -> None:
        if self.error is not None:
            raise self.error


W = TypeVar("W", bound=Waiter)


class LeaderQueue(Generic[W]):
    """The queue of waiters and the lead: whoever joins while no one leads leads; the others
    sleep until a leader resolves them or hands them the lead."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[W] = deque()
        self._leader_active = False

    @property
    def waiting(self) -> int:
        """Waiters queued for a coming turn (not the one in progress)."""
        with self._lock:
            return len(self._queue)

    def _join(self, waiter: W, under_lock: Callable[[], None] | None = None) -> bool:
        """Queue ``waiter`` (``under_lock`` runs just before, holding the queue's lock); True
        when its caller must now lead, False once another leader has resolved it."""
        with self._lock:
            if under_lock is not None:
                under_lock()
            self._queue.append(waiter)
            leads = not self._leader_active
            self._leader_active = True
        if leads:
            return True
        waiter.sleep()
        return waiter.leads

    def _pass_lead(self, own: W) -> None:
        """After a turn: the lead to the first waiter still queued, or given up. A leader
        interrupted before it took its own waiter (an exception while it waited to take a
        batch) takes it out first: handed the lead, it would never be woken."""
        with self._lock:
            if not own.resolved and own in self._queue:
                self._queue.remove(own)
            if self._queue:
                self._queue[0].hand_lead()
            else:
                self._leader_active = False


def fail_all(waiters: Sequence[Waiter], error: BaseException) -> None:
    """Resolve every waiter of a turn with ``error``, each but the first with its own copy."""
    for index, waiter in enumerate(waiters):
        waiter.resolve(error if index == 0 else own_copy(error))


def own_copy(error: BaseException) -> BaseException:
    """Each caller raises its own exception object (raising one in many threads is unsafe)."""
    try:
        duplicate = copy.copy(error)
    except Exception:
        return error
    duplicate.__cause__ = error
    return duplicate
