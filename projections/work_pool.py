"""A pool of worker threads running the process managers' queued work (``work_queue``).

Each thread claims one due row whose lane is free, runs the manager's handler outside any
database transaction, then, in a short transaction: marks it done; or, for a transient failure
with attempts left, schedules a retry ``RetryPolicy.delay(attempt)`` later (no thread sleeps
through a retry, so a slow or failing booking holds up no other); or parks it (a permanent
failure, or out of attempts, unless the manager's ``give_up`` records an outcome instead).

Crash safety: a claim is a lease renewed by a heartbeat thread while the handler runs. A
process killed at any point leaves at worst a ``running`` row whose lease lapses, and another
worker runs it again; handlers are idempotent (idempotency keys, look-ups before retry), so a
repeat never repeats a side effect. Any number of processes may run a pool on PostgreSQL.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from eventsourcing.application import Application

from ledger.events import DomainEvent
from projections import work_queue
from projections.failures import Failure, classify, describe
from projections.follower import Follower, Process, RetryPolicy
from projections.listener import NotificationListener
from projections.store import ReadModelStore
from projections.work_queue import Claim

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkSettings:
    threads: int = 8
    lease_seconds: float = 30.0
    poll_interval: float = 1.0
    keep_done: timedelta = timedelta(days=7)  # done rows are forgotten after this
    retry: RetryPolicy = field(
        default_factory=lambda: RetryPolicy(attempts=6, initial_delay=0.5, max_delay=30.0)
    )

    def __post_init__(self) -> None:
        if self.threads < 1 or self.lease_seconds <= 0 or self.poll_interval <= 0:
            raise ValueError(f"invalid work settings {self}")


class WorkPool:
    def __init__(
        self,
        app: Application[Any],
        store: ReadModelStore,
        processes: Sequence[Process],
        dispatcher: Follower,
        settings: WorkSettings | None = None,
    ) -> None:
        self._app = app
        self._store = store
        self._processes = {p.name: p for p in processes}
        self._dispatcher = dispatcher
        self.settings = settings or WorkSettings()
        self._lease = timedelta(seconds=self.settings.lease_seconds)
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._paused: set[str] = set()
        self._inflight: dict[str, Claim] = {}
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        # Only idle work threads wait on this one, so a single notify reaches one of them.
        self._idle_threads = threading.Condition(self._lock)
        self._generation = 0
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._listener: NotificationListener | None = None
        self._tables_ready = False
        # The dispatcher's NOTIFY says the same on PostgreSQL, and reaches other processes.
        if store.kind != "postgres":
            dispatcher.on_position(lambda _position: self.signal())
        self._poller: threading.Thread | None = None  # the one idle thread that polls

    # -- state -------------------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        return list(self._processes)

    @property
    def is_running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def worker(self, name: str) -> ProcessWorker:
        if name not in self._processes:
            raise KeyError(name)
        return ProcessWorker(self, name)

    def wake(self) -> None:
        """Every thread looks for work again (stop, resume, pause)."""
        with self._wake:
            self._generation += 1
            self._wake.notify_all()
            self._idle_threads.notify_all()

    def signal(self) -> None:
        """There may be new work: one idle thread looks, and wakes another if it found some.

        Waking all of them for every NOTIFY had each run a claim and an idle query, when
        one item usually needs one thread."""
        with self._wake:
            self._generation += 1
            self._idle_threads.notify()

    # -- running -------------------------------------------------------------------------------

    def start(self) -> None:
        if self.is_running:
            return
        self._ensure_tables()
        self._stopping.clear()
        if self._store.kind == "postgres":
            self._listener = NotificationListener(
                self._store.dedicated_connection, [work_queue.CHANNEL], lambda *_: self.signal()
            )
            self._listener.start()
        self._threads = [
            threading.Thread(target=self._work_loop, name=f"work-{n}", daemon=True)
            for n in range(self.settings.threads)
        ]
        self._threads.append(
            threading.Thread(target=self._heartbeat_loop, name="work-heartbeat", daemon=True)
        )
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self.wake()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if any(t.is_alive() for t in self._threads):
            logger.warning("work pool: a handler is still running after %ss", timeout)
        self._threads = []
        if self._listener is not None:
            self._listener.stop()
            self._listener = None

    def pause(self, name: str, timeout: float = 30.0) -> None:
        """Claim no more work of ``name`` here, and wait for what is in flight to finish."""
        with self._wake:
            self._paused.add(name)
            self._wake.wait_for(
                lambda: all(c.process != name for c in self._inflight.values()), timeout
            )

    def resume(self, name: str) -> None:
        with self._wake:
            self._paused.discard(name)
        self.wake()

    def is_paused(self, name: str) -> bool:
        return name in self._paused

    def run_until_idle(self, names: Sequence[str] | None = None) -> int:
        """Run, on this thread, every row that is due now until none is (CLI and tests);
        retries scheduled for later are left for later. Returns how many rows were run."""
        self._ensure_tables()
        count = 0
        while (claim := self._claim(names or self.names)) is not None:
            self._run(claim, self._processes[claim.process])
            count += 1
        return count

    def run_one(self, name: str, process: Process) -> bool:
        """Claim one due row of ``name`` and run ``process`` on it; an exception propagates and
        the row is left as a crash would leave it, except that its lease lapses at once (tests
        of crash recovery). False if nothing was due."""
        self._ensure_tables()
        claim = self._claim([name])
        if claim is None:
            return False
        try:
            process.handle(claim.position, self._event(claim.position))
        except BaseException:
            with self._store.transaction() as tx:
                tx.execute(
                    f"UPDATE {work_queue.TABLE} SET lease_until = %s"
                    " WHERE process = %s AND position = %s AND lease_owner = %s",
                    (datetime.now(UTC), claim.process, claim.position, claim.token),
                )
            raise
        finally:
            with self._wake:
                self._inflight.pop(claim.token, None)
        with self._store.transaction() as tx:
            work_queue.mark_done(tx, claim)
        return True

    def wait_for(self, name: str, position: int, timeout: float) -> bool:
        """True once the dispatcher has passed ``position`` and no row of ``name`` at or
        before it is queued or running (done or parked); False on timeout."""
        deadline = time.monotonic() + timeout
        if not self._dispatcher.wait_for(position, timeout):
            return False
        while True:
            with self._store.transaction(readonly=True) as tx:
                if work_queue.unfinished_up_to(tx, name, position) == 0:
                    return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with self._wake:
                self._wake.wait(min(remaining, 0.05))

    # -- internals ---------------------------------------------------------------------------

    def _ensure_tables(self) -> None:
        if not self._tables_ready:
            self._dispatcher.position  # noqa: B018 - sets up the dispatcher's tables
            self._tables_ready = True

    def _work_loop(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                with self._wake:
                    generation = self._generation
                    names = [n for n in self._processes if n not in self._paused]
                claim = self._claim(names)
                if claim is None:
                    self._idle(generation)
                    continue
                self.signal()  # there may be more: another thread looks while this one runs
                self._run(claim, self._processes[claim.process])
                failures = 0
            except Exception:
                # The store is away: the lease of anything claimed lapses, nothing is lost.
                failures += 1
                logger.exception("work pool: cycle failed (%d in a row)", failures)
                self._stopping.wait(self.settings.retry.delay(failures))

    def _idle(self, generation: int) -> None:
        """Wait for a signal. One idle thread (the poller) also wakes when the next retry is
        due or after ``poll_interval`` (a NOTIFY can be lost); the others wait for a signal,
        so an idle pool makes one claim and one query per interval, not one per thread."""
        me = threading.current_thread()
        with self._wake:
            polling = self._poller is None or self._poller is me or not self._poller.is_alive()
            if polling:
                self._poller = me
        timeout: float | None = None
        if polling:
            timeout = self.settings.poll_interval
            with self._store.transaction(readonly=True) as tx:
                due = work_queue.next_due(tx)
            if due is not None:
                timeout = max(0.0, min(timeout, (due - datetime.now(UTC)).total_seconds()))
        with self._wake:
            try:
                if self._generation == generation and not self._stopping.is_set():
                    self._idle_threads.wait(timeout)
            finally:
                if self._poller is me:
                    self._poller = None

    def _claim(self, names: Sequence[str]) -> Claim | None:
        with self._store.transaction() as tx:
            claim = work_queue.claim(tx, names, worker=self.worker_id, lease=self._lease)
        if claim is not None:
            with self._wake:
                self._inflight[claim.token] = claim
        return claim

    def _event(self, position: int) -> DomainEvent:
        [notification] = self._app.recorder.select_notifications(
            position, 1, inclusive_of_start=True
        )
        if notification.id != position:
            raise LookupError(f"no notification {position} in the ledger's log")
        return self._app.mapper.to_domain_event(notification)

    def _run(self, claim: Claim, process: Process) -> None:
        try:
            outcome = self._attempt(claim, process)
        finally:
            with self._wake:
                self._inflight.pop(claim.token, None)
                self._wake.notify_all()
        with self._store.transaction() as tx:
            outcome(tx)
        # This thread looks for more work next; another one only if it finds some.
        self.signal()

    def _attempt(self, claim: Claim, process: Process) -> Any:
        """Run the handler; return what to write about it."""
        event: DomainEvent | None = None
        try:
            event = self._event(claim.position)
            process.handle(claim.position, event)
        except Exception as error:
            text = describe(error)
            if (
                classify(error) is Failure.TRANSIENT
                and claim.attempts < self.settings.retry.attempts
            ):
                delay = self.settings.retry.delay(claim.attempts)
                logger.warning(
                    "%s: notification %d (booking %s) attempt %d failed, retry in %.2fs: %s",
                    claim.process,
                    claim.position,
                    claim.lane,
                    claim.attempts,
                    delay,
                    text,
                )
                return lambda tx: work_queue.schedule_retry(tx, claim, delay=delay, error=text)
            give_up = getattr(process, "give_up", None)
            if classify(error) is Failure.TRANSIENT and give_up is not None and event is not None:
                try:
                    give_up(claim.position, event, error)
                except Exception as second:
                    text = f"{text}; then giving up failed: {describe(second)}"
                else:
                    logger.warning(
                        "%s: gave up on notification %d after %d attempts: %s",
                        claim.process,
                        claim.position,
                        claim.attempts,
                        text,
                    )
                    return lambda tx: work_queue.mark_done(tx, claim)
            logger.error(
                "%s PARKED notification %d (booking %s) after %d attempt(s): %s",
                claim.process,
                claim.position,
                claim.lane,
                claim.attempts,
                text,
            )
            return lambda tx: work_queue.park(tx, claim, error=text)
        return lambda tx: work_queue.mark_done(tx, claim)

    def _heartbeat_loop(self) -> None:
        interval = self.settings.lease_seconds / 3
        next_prune = time.monotonic()
        while not self._stopping.wait(interval):
            if time.monotonic() >= next_prune:
                next_prune = time.monotonic() + 3600
                self._prune()
            with self._wake:
                claims = list(self._inflight.values())
            if not claims:
                continue
            try:
                with self._store.transaction() as tx:
                    work_queue.renew(tx, claims, self._lease)
            except Exception:
                logger.exception("work pool: could not renew %d lease(s)", len(claims))

    def _prune(self) -> None:
        try:
            with self._store.transaction() as tx:
                pruned = work_queue.prune_done(tx, self.settings.keep_done)
        except Exception:
            logger.exception("work pool: could not prune done work")
            return
        if pruned:
            logger.info("work pool: forgot %d done work items", pruned)


class ProcessWorker:
    """One process manager's share of a pool, with the controls a follower has."""

    def __init__(self, pool: WorkPool, name: str) -> None:
        self._pool = pool
        self.name = name

    @property
    def is_running(self) -> bool:
        return self._pool.is_running and not self._pool.is_paused(self.name)

    def start(self) -> None:
        self._pool.resume(self.name)

    def stop(self, timeout: float = 30.0) -> None:
        self._pool.pause(self.name, timeout)

    def wait_for(self, position: int, timeout: float) -> bool:
        return self._pool.wait_for(self.name, position, timeout)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        self.stop()
        try:
            yield
        finally:
            self.start()
