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


def own_copy(error: BaseException) -> BaseException:
    """Each caller raises its own exception object (raising one in many threads is unsafe)."""
    try:
        duplicate = copy.copy(error)
    except Exception:
        return error
    duplicate.__cause__ = error
    return duplicate
