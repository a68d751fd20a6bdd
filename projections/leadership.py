"""Only one active instance per follower name; the others wait as standbys.

PostgreSQL: a session advisory lock, all of a process's on one dedicated connection
(released by the server when the process or its connection dies). SQLite (one host): an OS
file lock next to the database file, released by the kernel when the process dies.
``memory://``: a process-local lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import re
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import IO, Any, Protocol

import psycopg

from projections.store import ReadModelStore, advisory_lock_key

logger = logging.getLogger(__name__)

# How long a lock session that answered stays presumed alive (a lost one is noticed after).
ALIVE_CHECK_SECONDS = 0.5


class Leadership(Protocol):
    @property
    def held(self) -> bool: ...

    def try_acquire(self) -> bool:
        """True if this instance holds the lock now (checks that a held lock is still alive)."""
        ...

    def acquire(self) -> None:
        """Wait until this instance holds the lock."""
        ...

    def release(self) -> None: ...


class _AdvisorySession:
    """One dedicated connection per store holding every follower lock this process holds.

    Session advisory locks are re-entrant within a session, so the session also keeps which
    instance holds each key: two followers of one name in one process still exclude each
    other. When the connection dies every lock on it is gone, and each holder finds out on
    its next ``alive`` check.
    """

    def __init__(self, store: ReadModelStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._connection: psycopg.Connection[Any] | None = None
        self._holders: dict[int, object] = {}
        self._alive_at = float("-inf")  # when the session last answered ``alive``'s check

    def try_lock(self, key: int, holder: object) -> bool:
        with self._lock:
            current = self._holders.get(key)
            if current is holder:
                return True
            if current is not None and self._session_alive():
                return False  # another instance of this process holds it
            try:
                if self._connection is None or self._connection.closed:
                    self._connection = self._store.dedicated_connection()
                row = self._connection.execute(
                    "SELECT pg_try_advisory_lock(%s) AS acquired", (key,)
                ).fetchone()
            except psycopg.Error:
                self._reset()
                raise
            acquired = bool(row and row["acquired"])
            if acquired:
                self._holders[key] = holder
            return acquired

    def alive(self, key: int, holder: object) -> bool:
        """Whether ``holder`` still holds ``key``: the session is still there."""
        with self._lock:
            if self._holders.get(key) is not holder:
                return False
            return self._session_alive()

    def _session_alive(self) -> bool:
        if self._connection is None:
            return False
        # Every follower of the process asks before each cycle, and they wake together: one
        # round trip answers them all for a moment. A follower that still thinks it leads
        # then cannot apply anything twice: its position write expects the stored position.
        if time.monotonic() - self._alive_at < ALIVE_CHECK_SECONDS:
            return True
        try:
            self._connection.execute("SELECT 1")
            self._alive_at = time.monotonic()
            return True
        except psycopg.Error as error:
            logger.warning("lost the session holding the follower locks: %s", error)
            self._reset()
            return False

    def unlock(self, key: int, holder: object) -> None:
        with self._lock:
            if self._holders.get(key) is holder:
                del self._holders[key]
                if self._connection is not None:
                    try:
                        self._connection.execute("SELECT pg_advisory_unlock(%s)", (key,))
                    except psycopg.Error:
                        self._reset()
            if not self._holders:
                self._reset()  # nothing held: no connection kept for nothing

    def _reset(self) -> None:
        self._alive_at = float("-inf")
        self._holders.clear()
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(psycopg.Error):
                connection.close()


_SESSIONS: weakref.WeakKeyDictionary[ReadModelStore, _AdvisorySession] = weakref.WeakKeyDictionary()
_SESSIONS_LOCK = threading.Lock()


def _session_of(store: ReadModelStore) -> _AdvisorySession:
    with _SESSIONS_LOCK:
        session = _SESSIONS.get(store)
        if session is None:
            session = _SESSIONS[store] = _AdvisorySession(store)
        return session


class AdvisoryLockLeadership:
    """``pg_try_advisory_lock`` on a stable 64-bit key, held on the store's one lock session
    (one connection per process for all its followers, not one each)."""

    def __init__(self, store: ReadModelStore, name: str) -> None:
        self._session = _session_of(store)
        self.key = self.key_of(name)
        self._store = store
        # A blocking ``acquire`` waits on a session of its own, never on the shared one.
        self._own_session: psycopg.Connection[Any] | None = None
        self._own_alive_at = 0.0  # when its own session last answered
        self._held = False

    @staticmethod
    def key_of(name: str) -> int:
        """The lock's key, visible in ``pg_locks`` (classid = high 32 bits, objid = low 32
        bits, objsubid = 1)."""
        return advisory_lock_key(f"mentorpay.lock:{name}")

    @property
    def held(self) -> bool:
        return self._held

    def try_acquire(self) -> bool:
        if self._held:
            own = self._own_session
            if own is not None:
                self._held = self._own_alive(own)
            else:
                self._held = self._session.alive(self.key, self)
            return self._held
        try:
            self._held = self._session.try_lock(self.key, self)
        except psycopg.Error:
            self._held = False
            raise
        return self._held

    def _own_alive(self, own: psycopg.Connection[Any]) -> bool:
        # As the shared session: asked before each payout of a run, answered by one round trip
        # for a moment.
        if time.monotonic() - self._own_alive_at < ALIVE_CHECK_SECONDS:
            return True
        alive = _answers(own)
        if alive:
            self._own_alive_at = time.monotonic()
        return alive

    def acquire(self) -> None:
        connection = self._store.dedicated_connection()
        try:
            connection.execute("SELECT pg_advisory_lock(%s)", (self.key,))
        except psycopg.Error:
            connection.close()
            raise
        self._own_session = connection
        self._held = True

    def release(self) -> None:
        self._held = False
        own, self._own_session = self._own_session, None
        if own is not None:
            with contextlib.suppress(psycopg.Error):
                own.close()  # closing the session releases its lock
            return
        self._session.unlock(self.key, self)


def _answers(connection: psycopg.Connection[Any]) -> bool:
    """Whether a lock's own session is still there (its locks die with it)."""
    try:
        connection.execute("SELECT 1")
    except psycopg.Error as error:
        logger.warning("lost the session holding a lock: %s", error)
        return False
    return True


class FileLockLeadership:
    """``flock`` on a lock file: exclusive across processes and across open files in one."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._file: IO[bytes] | None = None

    @property
    def held(self) -> bool:
        return self._file is not None

    def try_acquire(self) -> bool:
        if self._file is not None:
            return True
        lock_file = open(self.path, "ab")  # noqa: SIM115 - held open for the follower's life
        try:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock_file.close()
            return False
        self._file = lock_file
        return True

    def acquire(self) -> None:
        if self._file is None:
            lock_file = open(self.path, "ab")  # noqa: SIM115 - held open until release()
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX)
            self._file = lock_file

    def release(self) -> None:
        lock_file, self._file = self._file, None
        if lock_file is not None:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)
            lock_file.close()


_LOCAL_LOCKS: weakref.WeakKeyDictionary[ReadModelStore, dict[str, threading.Lock]] = (
    weakref.WeakKeyDictionary()
)
_LOCAL_REGISTRY_LOCK = threading.Lock()


class LocalLeadership:
    """A process-local lock, for ``memory://`` stores (nothing outside the process sees them)."""

    def __init__(self, store: ReadModelStore, name: str) -> None:
        with _LOCAL_REGISTRY_LOCK:
            self._lock = _LOCAL_LOCKS.setdefault(store, {}).setdefault(name, threading.Lock())
        self._held = False

    @property
    def held(self) -> bool:
        return self._held

    def try_acquire(self) -> bool:
        if not self._held:
            self._held = self._lock.acquire(blocking=False)
        return self._held

    def acquire(self) -> None:
        if not self._held:
            self._lock.acquire()
            self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._lock.release()


def lock_file_path(database_path: str, name: str) -> str:
    """``<db file>.<name>.lock``, the name made safe for a file name."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    if safe != name:
        safe += "-" + hashlib.blake2b(name.encode(), digest_size=4).hexdigest()
    return f"{os.path.abspath(database_path)}.{safe}.lock"


def leadership_for(store: ReadModelStore, name: str) -> Leadership:
    if store.kind == "postgres":
        return AdvisoryLockLeadership(store, name)
    if store.sqlite_path is not None:
        return FileLockLeadership(lock_file_path(store.sqlite_path, name))
    return LocalLeadership(store, name)


# How often a wait that ``stop`` can end tries the lock again (``stop`` itself ends it at once).
LOCK_RETRY_SECONDS = 0.2


class StoppedWaiting(Exception):
    """The wait for a lock ended because ``stop`` was set; the lock is not held."""


@contextlib.contextmanager
def exclusive(
    store: ReadModelStore,
    name: str,
    *,
    stop: threading.Event | None = None,
    on_wait: Callable[[], None] | None = None,
) -> Iterator[Callable[[], bool]]:
    """Hold the lock ``name`` for the block, waiting for it: the same lock a follower of that
    name leads with, so one mechanism serialises followers and one-off runs alike. The block
    gets a check that the lock is still held: on PostgreSQL it dies with its session (a lost
    connection, a terminated backend), and another process may then take it.

    With ``stop``, the wait is a try-lock every ``LOCK_RETRY_SECONDS`` that ends with
    ``StoppedWaiting`` as soon as ``stop`` is set (a blocking ``pg_advisory_lock`` could not be
    told to give up); ``on_wait`` is called once if the lock is busy at first.
    """
    lock = leadership_for(store, name)
    if stop is None:
        lock.acquire()
    else:
        _acquire_unless_stopped(lock, name, stop, on_wait)
    try:
        # Once lost, never held again by this block: it may not take the lock back unseen.
        yield lambda: lock.held and lock.try_acquire()
    finally:
        lock.release()


def _acquire_unless_stopped(
    lock: Leadership, name: str, stop: threading.Event, on_wait: Callable[[], None] | None
) -> None:
    waiting = False
    while not stop.is_set():
        if lock.try_acquire():
            return
        if not waiting and on_wait is not None:
            on_wait()
        waiting = True
        stop.wait(LOCK_RETRY_SECONDS)
    raise StoppedWaiting(f"stopped while waiting for the lock {name!r}")
