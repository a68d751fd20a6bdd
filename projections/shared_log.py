"""One reader of an application's notification log for all of a process's followers of it.

Every commit wakes each follower of the log, and each would read the same new notifications
from the database. Here the first follower to ask reads them (without its topic filter) and
keeps them; the others are answered from that copy, each filtered by its own topics. Each
follower still applies its batch and moves its own position in its own transaction.

A kept range ``(after, upto]`` holds EVERY notification with an id in it: a read is only ever
up to a head read earlier, and ids are in commit order (the library's table lock), so no id in
the range can be committed later. Notifications never change, so a kept one is never stale.
"""

from __future__ import annotations

import bisect
import threading
import weakref
from collections.abc import Callable, Collection, Sequence
from typing import Any, Generic, TypeVar

from eventsourcing.application import Application
from eventsourcing.persistence import Notification

# A window a little larger than a batch: followers move in step, so they ask for the same
# few new notifications; one far behind (a replay) reads for itself.
MAX_KEPT = 2000


class SharedLog:
    def __init__(self, app: Application[Any]) -> None:
        self._app = app
        # Held while reading, so followers woken by the same NOTIFY wait for one read.
        self._lock = threading.Lock()
        self._after = 0
        self._upto = 0
        self._kept: list[Notification] = []
        self._ids: list[int] = []

    def select(
        self, start: int, stop: int, limit: int, topics: Collection[str] = ()
    ) -> tuple[Sequence[Notification], int]:
        """Up to ``limit`` notifications after ``start`` up to ``stop`` (of ``topics``, if
        any), and the position the batch reaches (every id up to it has been looked at)."""
        if start >= stop:
            return [], stop
        with self._lock:
            if not self._after <= start < stop <= self._upto:
                self._read(start, stop, limit)
            reach = min(stop, self._upto)
            first = bisect.bisect_right(self._ids, start)
            last = bisect.bisect_right(self._ids, reach)
            wanted = frozenset(topics)
            batch: list[Notification] = []
            for notification in self._kept[first:last]:
                if not wanted or notification.topic in wanted:
                    batch.append(notification)
                    if len(batch) == limit:
                        return batch, notification.id
            return batch, reach

    def _read(self, start: int, stop: int, limit: int) -> None:
        if self._after <= start <= self._upto:
            # Continues the kept range: read only what follows it, then drop the oldest
            # beyond the window (never one this caller still needs).
            read = self._app.recorder.select_notifications(
                self._upto, limit, stop=stop, inclusive_of_start=False
            )
            self._kept.extend(read)
            self._ids.extend(n.id for n in read)
            self._upto = read[-1].id if len(read) == limit else stop
            excess = min(len(self._kept) - MAX_KEPT, bisect.bisect_right(self._ids, start))
            if excess > 0:
                self._after = self._ids[excess - 1]
                del self._kept[:excess], self._ids[:excess]
        else:
            read = self._app.recorder.select_notifications(
                start, limit, stop=stop, inclusive_of_start=False
            )
            self._after, self._upto = start, read[-1].id if len(read) == limit else stop
            self._kept = list(read)
            self._ids = [n.id for n in read]


T = TypeVar("T")


class PerApplication(Generic[T]):
    """One ``T`` per application in this process, made by ``make(app)`` on first use: what a
    process's followers of one application share (this log, the log's head)."""

    def __init__(self, make: Callable[[Application[Any]], T]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._made: weakref.WeakKeyDictionary[Application[Any], T] = weakref.WeakKeyDictionary()

    def __call__(self, app: Application[Any]) -> T:
        with self._lock:
            made = self._made.get(app)
            if made is None:
                made = self._made[app] = self._make(app)
            return made


# The one ``SharedLog`` of an application in this process.
shared_log = PerApplication(SharedLog)
