"""Follow one eventsourcing Application's notification log, in order, and feed one consumer.

A ``Projection`` gets each batch in ONE transaction together with its tracking position
(exactly-once effect). A ``Process`` (side effect over HTTP) gets one event at a time outside
any transaction, and its position is recorded after it returns (at-least-once: be idempotent).
The product's process managers do not run this way but through the work queue
(``projections.dispatch`` and ``projections.work_pool``); this mode stays for simple consumers.

Failures are classified (``projections.failures``). A projection that fails for good on an
event halts (recorded in ``follower_halts``, logged loudly) at the last event it applied: it
never skips one, and other followers go on. Transient failures are retried with backoff. A
process that fails for good, or runs out of attempts, has that event parked in ``work_items``
and goes on to the next.

The loop wakes on PostgreSQL NOTIFY and also every ``poll_interval`` (a NOTIFY can be lost;
SQLite has none). One instance per name is active (see ``leadership``); others are standbys
that keep their ``position`` fresh from the database, so ``wait_for`` works in any process.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from eventsourcing.application import Application
from eventsourcing.persistence import Notification

from ledger.events import DomainEvent
from projections import halts, tracking, work_queue
from projections.event_log import head_position
from projections.failures import Failure, classify, describe
from projections.leadership import Leadership, leadership_for
from projections.listener import NotificationListener
from projections.query_indexes import drop_query_indexes
from projections.shared_log import PerApplication, shared_log
from projections.store import ReadModelStore, Transaction

logger = logging.getLogger(__name__)

# ``progress(done, total)`` in notification ids: done = position reached, total = the max id.
ProgressCallback = Callable[[int, int], None]


@runtime_checkable
class Projection(Protocol):
    """A read model. Optional attribute ``topics: Sequence[str]`` limits what it is given."""

    name: str

    def create_tables(self, tx: Transaction) -> None:
        """Idempotent (``CREATE TABLE IF NOT EXISTS``): called whenever a follower starts."""

    def drop_tables(self, tx: Transaction) -> None: ...

    def apply(self, tx: Transaction, events: list[tuple[int, DomainEvent]]) -> None:
        """Write the effect of these (position, event) pairs, in order, inside ``tx``."""


@runtime_checkable
class Process(Protocol):
    """A process manager. Optional attribute ``topics: Sequence[str]``."""

    name: str

    def handle(self, position: int, event: DomainEvent) -> None:
        """Do the side effect; must be idempotent (it may run again after a crash)."""


class FollowerBusy(RuntimeError):
    """Another instance of this follower is active, so this one may not process."""


class ReadModelHalted(RuntimeError):
    """The read model cannot apply an event; it stays halted until an operator clears it."""

    def __init__(self, halt: halts.Halt) -> None:
        super().__init__(
            f"read model {halt.name!r} is halted at position {halt.position}: event"
            f" {halt.failed_position} cannot be applied ({halt.error})"
        )
        self.halt = halt


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: ``initial_delay`` doubling up to ``max_delay``."""

    attempts: int = 5
    initial_delay: float = 0.1
    max_delay: float = 5.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.initial_delay < 0 or self.max_delay < self.initial_delay:
            raise ValueError(f"invalid retry policy {self}")

    def delay(self, attempt: int) -> float:
        """The pause after failed attempt number ``attempt`` (1-based)."""
        return min(self.max_delay, self.initial_delay * 2.0 ** (attempt - 1))


class _SharedHead:
    """The log's head as a process's followers of one application last read it.

    They all wake on the same NOTIFY, and each would read the head again: a read that began
    after a follower heard of the latest commit it knows of shows that commit, so that
    follower may use it. Briefly only, so polling still finds a commit whose NOTIFY was lost.
    """

    MAX_AGE_SECONDS = 0.25

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._head = 0
        self._read_at = float("-inf")

    def read(self, app: Application[Any], heard_at: float | None) -> int:
        """The head; from the shared read if it began after ``heard_at`` (None: read now)."""
        if heard_at is not None:
            with self._lock:
                head, read_at = self._head, self._read_at
            if read_at > heard_at and time.monotonic() - read_at < self.MAX_AGE_SECONDS:
                return head
        started = time.monotonic()
        head = head_position(app)
        with self._lock:
            if started > self._read_at:
                self._head, self._read_at = head, started
        return head


# The log's head as the process's followers of one application last read it.
_shared_head = PerApplication(lambda _app: _SharedHead())


class Follower:
    def __init__(
        self,
        app: Application[Any],
        store: ReadModelStore,
        consumer: Projection | Process,
        *,
        batch_size: int = 1000,
        poll_interval: float = 1.0,
        retry: RetryPolicy | None = None,
        leadership: Leadership | None = None,
    ) -> None:
        if not isinstance(consumer, Projection | Process):
            raise TypeError(f"{consumer!r} is neither a Projection nor a Process")
        if not consumer.name:
            raise ValueError("a follower's consumer needs a non-empty name")
        if batch_size < 1 or poll_interval <= 0:
            raise ValueError("batch_size must be >= 1 and poll_interval > 0")
        self.name: str = consumer.name
        self._app = app
        self._store = store
        self._consumer = consumer
        self._topics: Sequence[str] = list(getattr(consumer, "topics", ()) or ())
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._retry = retry or RetryPolicy()
        self._leadership = leadership or leadership_for(store, self.name)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._changed = threading.Condition()
        self._position: int | None = None
        self._is_set_up = False
        self._active = False
        self._last_error: str | None = None
        self._halt: halts.Halt | None = None
        # No halt was recorded when this instance last looked, and it has led ever since.
        self._unhalted_while_leading = False
        self._listeners: list[Callable[[int], None]] = []
        self._thread: threading.Thread | None = None
        self._listener: NotificationListener | None = None
        self._shared_head = _shared_head(app)
        self._shared_log = shared_log(app)
        # When this follower last heard (NOTIFY, or the listener reconnecting) of new events.
        self._heard_at = float("-inf")

    # -- state others read ---------------------------------------------------------------

    @property
    def position(self) -> int:
        """The last notification id this follower's consumer has fully applied."""
        if self._position is None:
            self._set_up()
        assert self._position is not None
        return self._position

    def wait_for(self, position: int, timeout: float) -> bool:
        """Block until ``position`` has been applied (read-your-writes); False on timeout.

        Woken by this follower's loop (active or standby). If it is not running here, the
        stored position is re-read every ``poll_interval`` instead.
        """
        deadline = time.monotonic() + timeout
        # A read model's tables exist once it is set up: before its own loop has set it up (a
        # fresh database, the first request), nothing applied is no answer to query.
        self._set_up()
        while True:
            running = self.is_running
            if not running:
                self._refresh_position()
            if self._halt is not None and (self._position or 0) < position:
                return False  # halted: waiting would not bring it any further
            remaining = max(0.0, deadline - time.monotonic())
            with self._changed:
                if self._changed.wait_for(
                    lambda: (self._position or 0) >= position,
                    remaining if running else min(remaining, self._poll_interval),
                ):
                    return True
            if time.monotonic() >= deadline:
                return False

    def lag(self) -> int:
        """How many notification ids the log is ahead of this follower."""
        if not self.is_running:
            self._refresh_position()
        return max(0, self._max_notification_id() - self.position)

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def is_active(self) -> bool:
        """True while this instance is the one processing (not a standby)."""
        return self._active

    @property
    def listening(self) -> bool:
        """True while the PostgreSQL LISTEN connection is up."""
        return self._listener is not None and self._listener.listening

    @property
    def last_error(self) -> str | None:
        """The error of the last failed cycle, cleared by the next successful one."""
        return self._last_error

    @property
    def halt(self) -> halts.Halt | None:
        """Why this read model stopped, as last seen by this instance (None: not halted)."""
        return self._halt

    def read_halt(self) -> halts.Halt | None:
        """The halt as recorded now (any instance may have recorded or cleared it)."""
        self._set_up()
        with self._store.transaction(readonly=True) as tx:
            self._halt = halts.get(tx, self.name)
        return self._halt

    def on_position(self, callback: Callable[[int], None]) -> None:
        """Call ``callback(position)`` whenever this instance moves its position."""
        self._listeners.append(callback)

    # -- running ---------------------------------------------------------------------------

    def start(self) -> None:
        if self.is_running:
            return
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self.run_forever, name=f"follower-{self.name}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Wake the loop and wait for it; a handler stuck in a call may outlast ``timeout``."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning("follower %s did not stop within %ss", self.name, timeout)
            else:
                self._thread = None

    def __enter__(self) -> Follower:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def run_forever(self) -> None:
        """Process until ``stop()``; never dies of an error (logs it, backs off, retries)."""
        self._start_listener()
        failures = 0
        try:
            while not self._stopping.is_set():
                try:
                    self._cycle()
                except ReadModelHalted as halted:
                    self._last_error = str(halted)
                    self._wake.wait(self._poll_interval)
                    self._wake.clear()
                    continue
                except Exception as error:
                    failures += 1
                    self._last_error = f"{type(error).__name__}: {error}"
                    logger.exception("follower %s failed (attempt %d)", self.name, failures)
                    # Back off without listening to NOTIFY, so a burst of writes is no hot loop.
                    self._stopping.wait(self._retry.delay(failures))
                    continue
                failures = 0
                self._last_error = None
                self._wake.wait(self._poll_interval)
                self._wake.clear()
        finally:
            self._active = False
            self._leadership.release()
            if self._listener is not None:
                self._listener.stop()
                self._listener = None

    def run_until_caught_up(self) -> int:
        """Process everything up to the current max notification id, then return the position.

        For the CLI and tests; errors propagate. Raises ``FollowerBusy`` if another instance is
        active, ``RuntimeError`` if this one is running on its thread (use ``wait_for``).
        """
        self._refuse_if_running()
        with self._leading():
            # From the stored position: another instance may have led since this one last
            # looked (its compare-and-set would refuse a stale start, after a wasted batch).
            self._refresh_position()
            self._raise_if_halted()
            self._catch_up(self._batch_size)
        return self.position

    def replay(self, *, batch_size: int = 5000, progress: ProgressCallback | None = None) -> int:
        """Drop and rebuild a projection's tables from position 0; return the final position."""
        if not isinstance(self._consumer, Projection):
            raise TypeError(f"{self.name} is a process manager: replaying it would repeat effects")
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self._refuse_if_running()
        with self._leading():
            self.reset_for_replay()
            self._catch_up(batch_size, progress=progress)
            self._set_up()  # builds the query indexes the load went without
        return self.position

    # -- for ``projections.replay`` (several read models rebuilt in one pass over the log) --

    @property
    def consumer(self) -> Projection | Process:
        return self._consumer

    @property
    def app(self) -> Application[Any]:
        return self._app

    @property
    def store(self) -> ReadModelStore:
        return self._store

    def leading(self) -> contextlib.AbstractContextManager[None]:
        """Hold this name's lock (``FollowerBusy`` if another instance holds it)."""
        return self._leading()

    def still_leading(self) -> bool:
        return self._leadership.try_acquire()

    def refuse_if_running(self) -> None:
        self._refuse_if_running()

    def reset_for_replay(self) -> None:
        """Drop and recreate the projection's tables and put its position back to 0, in one
        DDL transaction; the caller holds the lock (``leading``). On PostgreSQL the tables come
        without their query-only indexes (``projections.query_indexes``), and the follower is
        then not set up: ``set_up`` at the end of the load builds them, as would any later
        set-up (in this process or another) if the replay is cut short."""
        if not isinstance(self._consumer, Projection):
            raise TypeError(f"{self.name} is a process manager: replaying it would repeat effects")
        with self._store.ddl_transaction() as tx:
            tracking.create_table(tx)
            halts.create_table(tx)
            halts.clear(tx, self.name)  # a rebuild is the way out of a halt, after a fix
            tracking.reset(tx, self.name)
            self._consumer.drop_tables(tx)
            self._consumer.create_tables(tx)
            deferred = drop_query_indexes(tx, self._consumer)
        self._is_set_up = not deferred
        self._set_position(0)

    def set_up(self) -> None:
        """Create whatever of the read model's tables and indexes is missing (idempotent; a
        no-op once set up)."""
        self._set_up()

    def refresh(self) -> None:
        """Re-read the stored position (and halt)."""
        self._refresh_position()

    def moved_to(self, position: int) -> None:
        """Another writer on this instance's behalf committed ``position`` (with its batch)."""
        self._set_position(position)

    # -- internals -------------------------------------------------------------------------

    def _refuse_if_running(self) -> None:
        if self.is_running:
            raise RuntimeError(f"follower {self.name} is running on its thread")
        self._stopping.clear()

    @contextlib.contextmanager
    def _leading(self) -> Iterator[None]:
        if not self._leadership.try_acquire():
            raise FollowerBusy(f"another instance of follower {self.name!r} is active")
        self._unhalted_while_leading = False
        try:
            yield
        finally:
            self._unhalted_while_leading = False
            self._leadership.release()

    def _set_up(self) -> None:
        if not self._is_set_up:
            self._create_tables()
            # Apart from the DDL: a DDL transaction holds table locks that a running follower's
            # batch (position row first, then its tables) may wait for, so touching the
            # position row in it as well could deadlock with that batch.
            with self._store.transaction() as tx:
                position = tracking.ensure(tx, self.name)
            self._is_set_up = True
            if self._position is None:  # else the loop, set up first, may have moved on since
                self._set_position(position)

    def _create_tables(self) -> None:
        with self._store.ddl_transaction() as tx:
            tracking.create_table(tx)
            halts.create_table(tx)
            if isinstance(self._consumer, Projection):
                self._consumer.create_tables(tx)
            else:
                work_queue.create_tables(tx)  # where its failures are parked

    def _refresh_position(self) -> None:
        self._set_up()
        with self._store.transaction(readonly=True) as tx:
            position = tracking.read_position(tx, self.name)
            self._halt = halts.get(tx, self.name)
        self._set_position(position)

    def _set_position(self, position: int) -> None:
        with self._changed:
            self._position = position
            self._changed.notify_all()
        for callback in self._listeners:
            callback(position)

    def _raise_if_halted(self) -> None:
        if not isinstance(self._consumer, Projection):
            return
        # While this instance leads, only it records a halt (``_record_halt`` sets ``_halt``);
        # others only clear one. So the table is read again only when newly leading or halted.
        if self._halt is None and self._unhalted_while_leading:
            return
        halt = self.read_halt()
        if halt is not None:
            raise ReadModelHalted(halt)
        self._unhalted_while_leading = True

    def _max_notification_id(self) -> int:
        return head_position(self._app)

    def _start_listener(self) -> None:
        channel = getattr(self._app.recorder, "channel_name", None)
        if self._store.kind != "postgres" or not channel:
            return
        self._listener = NotificationListener(
            self._store.dedicated_connection,
            [channel, tracking.POSITIONS_CHANNEL],
            self._on_notify,
        )
        self._listener.start()

    def _on_notify(self, channel: str, payload: str) -> None:
        # New events wake everyone; a position moved by the active instance wakes standbys.
        if channel != tracking.POSITIONS_CHANNEL:
            self._heard_at = time.monotonic()  # before waking: the cycle reads a newer head
            self._wake.set()
        elif payload == self.name and not self._active:
            self._wake.set()

    def _cycle(self) -> None:
        set_up_before = self._is_set_up
        self._set_up()
        if self._leadership.try_acquire():
            if not self._active:
                logger.info("follower %s is active", self.name)
                if set_up_before and isinstance(self._consumer, Projection):
                    # Set up before another instance led (a replay there may have been cut
                    # short before building its query indexes): create whatever is missing.
                    self._create_tables()
                self._active = True
                self._unhalted_while_leading = False
                self._refresh_position()  # where the instance that led before left it
            self._raise_if_halted()
            self._catch_up(self._batch_size)
        else:
            self._active = False
            self._unhalted_while_leading = False
            self._refresh_position()

    def _catch_up(self, batch_size: int, progress: ProgressCallback | None = None) -> None:
        stop = self._shared_head.read(self._app, self._heard_at if self.listening else None)
        if progress:
            progress(min(self.position, stop), stop)
        # After a batch fails for good, go one event at a time up to where that batch would
        # have ended: everything before the bad event is applied, and the halt names it.
        careful_until = 0
        first = True  # every caller has just checked its lock: check again from the second batch
        while self.position < stop and not self._stopping.is_set():
            if not first and not self._leadership.try_acquire():
                self._active = False
                self._unhalted_while_leading = False
                raise FollowerBusy(f"follower {self.name!r} lost its lock to another instance")
            first = False
            start = self.position
            try:
                if isinstance(self._consumer, Projection):
                    limit = 1 if start < careful_until else batch_size
                    try:
                        self._project_batch(self._consumer, start, stop, limit)
                    except Exception as error:
                        if classify(error) is Failure.TRANSIENT:
                            raise
                        if limit > 1:
                            careful_until = self._select(start, stop, limit)[1]
                            logger.warning(
                                "%s: a batch after %d failed (%s); applying it event by event",
                                self.name,
                                start,
                                describe(error),
                            )
                            continue
                        self._record_halt(start, stop, error)
                else:
                    self._process_batch(self._consumer, start, stop, batch_size)
            except tracking.PositionConflict as conflict:
                # A stale writer: skip nothing, apply nothing twice, go on from the truth.
                logger.warning("%s; resuming from the stored position", conflict)
                self._refresh_position()
            if progress:
                progress(min(self.position, stop), stop)

    def _select(self, start: int, stop: int, limit: int) -> tuple[Sequence[Notification], int]:
        """The next notifications after ``start`` and the position the batch reaches.

        With a topic filter, a short batch still covers every id up to ``stop``: ids are in
        commit order (the library's table lock), so none <= ``stop`` can appear later. Read
        through the process's one reader of this log (``projections.shared_log``).
        """
        return self._shared_log.select(start, stop, limit, self._topics)

    def _project_batch(self, projection: Projection, start: int, stop: int, limit: int) -> None:
        notifications, end = self._select(start, stop, limit)
        events = [(n.id, self._app.mapper.to_domain_event(n)) for n in notifications]
        with self._store.transaction() as tx:
            tracking.advance(tx, self.name, expected=start, new=end)
            if events:
                projection.apply(tx, events)
        self._set_position(end)

    def _record_halt(self, start: int, stop: int, error: Exception) -> None:
        notifications, _ = self._select(start, stop, 1)
        failed = notifications[0].id if notifications else start + 1
        with self._store.transaction() as tx:
            halts.record(
                tx, self.name, position=start, failed_position=failed, error=describe(error)
            )
            halt = halts.get(tx, self.name)
        assert halt is not None
        self._halt = halt
        logger.critical(
            "READ MODEL HALTED: %s cannot apply event %d and stops at %d (nothing is skipped;"
            " fix the cause, then `mentorpay attention retry halt:%s`): %s",
            self.name,
            failed,
            start,
            self.name,
            halt.error,
        )
        raise ReadModelHalted(halt) from error

    def _process_batch(self, process: Process, start: int, stop: int, limit: int) -> None:
        notifications, end = self._select(start, stop, limit)
        position = start
        for notification in notifications:
            if self._stopping.is_set():
                return
            event = self._app.mapper.to_domain_event(notification)
            self._handle_with_retries(process, notification.id, event)
            self._advance(position, notification.id)
            position = notification.id
        if end > position:
            self._advance(position, end)

    def _handle_with_retries(self, process: Process, position: int, event: DomainEvent) -> None:
        attempt = 1
        while True:
            try:
                process.handle(position, event)
                return
            except Exception as error:
                if self._stopping.is_set():
                    raise
                if classify(error) is Failure.PERMANENT or attempt >= self._retry.attempts:
                    self._park(position, event, attempt, error)
                    return
                delay = self._retry.delay(attempt)
                logger.warning(
                    "%s failed on notification %d (attempt %d: %s); retrying in %.2fs",
                    self.name,
                    position,
                    attempt,
                    error,
                    delay,
                )
                if self._stopping.wait(delay):
                    raise
                attempt += 1

    def _park(self, position: int, event: DomainEvent, attempts: int, error: Exception) -> None:
        """Set the event aside, where the attention queue shows it, and go on."""
        booking_id = getattr(event, "booking_id", None) or event.originator_id
        with self._store.transaction() as tx:
            work_queue.park_new(
                tx,
                process=self.name,
                position=position,
                lane=str(booking_id),
                topic=getattr(type(event), "TOPIC", type(event).__qualname__),
                attempts=attempts,
                error=describe(error),
            )
        logger.error(
            "%s parked notification %d after %d attempt(s): %s",
            self.name,
            position,
            attempts,
            describe(error),
        )

    def _advance(self, expected: int, new: int) -> None:
        with self._store.transaction() as tx:
            tracking.advance(tx, self.name, expected=expected, new=new)
        self._set_position(new)
