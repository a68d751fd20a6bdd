"""A toy event-sourced application and consumers shared by the follower tests (no tests here)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from ledger.errors import LedgerValidationError
from mentorpay.persistence import eventsourcing_env
from projections.store import ReadModelStore, Transaction

CREATED = "tests.toy.Counter.Created"
INCREMENTED = "tests.toy.Counter.Incremented"


class Counter(Aggregate):
    TOPIC = "tests.toy.Counter"

    @event("Created", topic=CREATED)
    def __init__(self, label: str) -> None:
        self.label = label
        self.total = 0

    @event("Incremented", topic=INCREMENTED)
    def increment(self, by: int) -> None:
        self.total += by


class ToyApp(Application[Any]):
    name = "toy"


@dataclass
class Toy:
    app: ToyApp
    store: ReadModelStore

    def append(self, counters: int = 1, increments: int = 0, start: int = 1) -> int:
        """Save ``counters`` new counters with ``increments`` each; the last notification id."""
        for n in range(start, start + counters):
            counter = Counter(f"counter-{n}")
            self.app.save(counter)
            for i in range(increments):
                counter.increment(by=n * 10 + i)
            self.app.save(counter)  # all increments in one transaction
        return self.app.recorder.max_notification_id() or 0

    def notification_ids(self, topics: Sequence[str] = ()) -> list[int]:
        notifications = self.app.recorder.select_notifications(0, 10**6, topics=topics)
        return [n.id for n in notifications]

    def fold(self, up_to: int | None = None) -> dict[str, tuple[str, int, int]]:
        """The view computed straight from the log: id -> (label, total, increments)."""
        view: dict[str, tuple[str, int, int]] = {}
        for n in self.app.recorder.select_notifications(0, 10**6, stop=up_to):
            domain_event = self.app.mapper.to_domain_event(n)
            key = str(domain_event.originator_id)
            if isinstance(domain_event, Counter.Created):
                view[key] = (domain_event.label, 0, 0)
            elif isinstance(domain_event, Counter.Incremented):
                label, total, count = view[key]
                view[key] = (label, total + domain_event.by, count + 1)
        return view

    def view(self) -> dict[str, tuple[str, int, int]]:
        with self.store.transaction(readonly=True) as tx:
            rows = tx.execute("SELECT id, label, total, increments FROM toy_counters").fetchall()
        return {row["id"]: (row["label"], row["total"], row["increments"]) for row in rows}

    def applied_positions(self) -> list[int]:
        """Every position the view has applied, one row per application (duplicates show)."""
        with self.store.transaction(readonly=True) as tx:
            rows = tx.execute("SELECT position FROM toy_applied ORDER BY position").fetchall()
        return [row["position"] for row in rows]

    def stored_position(self, name: str) -> int:
        with self.store.transaction(readonly=True) as tx:
            row = tx.execute(
                "SELECT position FROM follower_positions WHERE name = %s", (name,)
            ).fetchone()
        return row["position"] if row else 0


@contextmanager
def toy_world(database_url: str) -> Iterator[Toy]:
    app = ToyApp(env=eventsourcing_env(database_url))
    store = ReadModelStore(database_url)
    try:
        yield Toy(app=app, store=store)
    finally:
        store.close()
        app.close()


class CrashingBatch(RuntimeError):
    """The toy projection's simulated crash."""


@dataclass
class CounterView:
    """Counters per aggregate, plus a row per applied position to expose double application."""

    name: str = "toy_counters"
    topics: Sequence[str] = ()
    crash_on_call: int | None = None
    poison: set[int] = field(default_factory=set)  # positions it can never apply
    calls: int = 0
    batch_sizes: list[int] = field(default_factory=list)

    def create_tables(self, tx: Transaction) -> None:
        tx.execute(
            "CREATE TABLE IF NOT EXISTS toy_counters (id TEXT PRIMARY KEY, label TEXT NOT NULL,"
            " total BIGINT NOT NULL, increments BIGINT NOT NULL, updated_at TIMESTAMPTZ NOT NULL)"
        )
        tx.execute("CREATE TABLE IF NOT EXISTS toy_applied (position BIGINT NOT NULL)")

    def drop_tables(self, tx: Transaction) -> None:
        tx.execute("DROP TABLE IF EXISTS toy_counters")
        tx.execute("DROP TABLE IF EXISTS toy_applied")

    def apply(self, tx: Transaction, events: list[tuple[int, Any]]) -> None:
        self.calls += 1
        self.batch_sizes.append(len(events))
        for index, (position, domain_event) in enumerate(events):
            if self.calls == self.crash_on_call and index == len(events) // 2:
                raise CrashingBatch(f"crash half-way through batch {self.calls}")
            if position in self.poison:
                raise LedgerValidationError(f"cannot apply event {position}")
            if isinstance(domain_event, Counter.Created):
                tx.execute(
                    "INSERT INTO toy_counters (id, label, total, increments, updated_at)"
                    " VALUES (%s, %s, 0, 0, %s)",
                    (domain_event.originator_id, domain_event.label, domain_event.timestamp),
                )
            elif isinstance(domain_event, Counter.Incremented):
                tx.execute(
                    "UPDATE toy_counters SET total = total + %s, increments = increments + 1,"
                    " updated_at = %s WHERE id = %s",
                    (domain_event.by, domain_event.timestamp, domain_event.originator_id),
                )
            tx.execute("INSERT INTO toy_applied (position) VALUES (%s)", (position,))


@dataclass
class RecordingProcess:
    """Records each call; fails transiently ``failures[position]`` times for that position."""

    store: ReadModelStore
    name: str = "toy_process"
    topics: Sequence[str] = ()
    failures: dict[int, int] = field(default_factory=dict)
    permanent: set[int] = field(default_factory=set)  # positions that always fail for good
    # (position handled, the stored position at the time of the call)
    calls: list[tuple[int, int]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, position: int, domain_event: Any) -> None:
        with self.store.transaction(readonly=True) as tx:
            row = tx.execute(
                "SELECT position FROM follower_positions WHERE name = %s", (self.name,)
            ).fetchone()
        with self._lock:
            self.calls.append((position, row["position"] if row else 0))
            if self.failures.get(position, 0) > 0:
                self.failures[position] -= 1
                raise ConnectionError(f"transient failure handling {position}")
            if position in self.permanent:
                raise LedgerValidationError(f"event {position} can never be handled")

    def handled(self) -> list[int]:
        with self._lock:
            return [position for position, _ in self.calls]
