"""The one reader of the ledger's notification log (batched, in log order), and the events as
plain JSON-ready records for finance (API, export, history).

A record is ``{position, time, aggregateId, aggregateVersion, type, data}``: ``type`` is the
event's stable topic, ``data`` its own fields (UUIDs and datetimes as strings, money as
integer minor units with a currency, exactly as recorded).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, TextIO
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Notification

from ledger.events import DomainEvent, event_time, event_topic

EventRecord = dict[str, Any]

# Carried at the top level of a record, or the aggregate's own topic: not repeated in ``data``.
_ENVELOPE_FIELDS = frozenset(
    {"originator_id", "originator_version", "timestamp", "originator_topic"}
)


def json_value(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def event_record(position: int | None, topic: str, event: DomainEvent) -> EventRecord:
    fields = vars(event)
    return {
        "position": position,
        "time": event_time(event).isoformat(),
        "aggregateId": str(event.originator_id),
        "aggregateVersion": event.originator_version,
        "type": topic,
        "data": {
            name: json_value(value)
            for name, value in fields.items()
            if name not in _ENVELOPE_FIELDS
        },
    }


def read_events(app: Application[Any], *, after: int, limit: int) -> list[EventRecord]:
    """Up to ``limit`` events after log position ``after``, in log order."""
    notifications = app.recorder.select_notifications(after, limit, inclusive_of_start=False)
    return [event_record(n.id, n.topic, app.mapper.to_domain_event(n)) for n in notifications]


def iter_notifications(
    app: Application[Any],
    *,
    after: int = 0,
    stop: int | None = None,
    topics: Sequence[str] = (),
    batch_size: int = 1000,
) -> Iterator[Notification]:
    """Every notification after ``after`` up to ``stop`` (default: the head now), read batch by
    batch so memory stays flat on a long log; ``topics`` limits which ones."""
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    head = head_position(app) if stop is None else stop
    position = after
    while position < head:
        notifications = app.recorder.select_notifications(
            position, batch_size, stop=head, topics=topics, inclusive_of_start=False
        )
        if not notifications:
            return
        yield from notifications
        position = notifications[-1].id


def iter_domain_events(
    app: Application[Any],
    *,
    after: int = 0,
    stop: int | None = None,
    topics: Sequence[str] = (),
    batch_size: int = 1000,
) -> Iterator[tuple[int, DomainEvent]]:
    """``iter_notifications``, decoded: (position, event) pairs in log order."""
    for n in iter_notifications(app, after=after, stop=stop, topics=topics, batch_size=batch_size):
        yield n.id, app.mapper.to_domain_event(n)


def iter_events(
    app: Application[Any], *, after: int = 0, stop: int | None = None, batch_size: int = 1000
) -> Iterator[EventRecord]:
    """Every event after ``after`` (up to ``stop``, default: the head now), as records."""
    for n in iter_notifications(app, after=after, stop=stop, batch_size=batch_size):
        yield event_record(n.id, n.topic, app.mapper.to_domain_event(n))


def head_position(app: Application[Any]) -> int:
    """The log's last notification id; 0 for an empty log."""
    return app.recorder.max_notification_id() or 0


def aggregate_history(app: Application[Any], aggregate_ids: list[UUID]) -> list[EventRecord]:
    """Every event of these aggregates, oldest first (by time, then version).

    The library reads an aggregate's events without their log positions, so ``position`` is
    None here; the order within one aggregate is its version order.
    """
    events = [
        event
        for aggregate_id in aggregate_ids
        for event in app.repository.event_store.get(aggregate_id)
    ]
    events.sort(key=lambda event: (event_time(event), event.originator_version))
    return [event_record(None, event_topic(event), event) for event in events]


# --- export formats -----------------------------------------------------------------------

EXPORT_FORMATS = ("jsonl", "csv")
CSV_COLUMNS = ("position", "time", "aggregate_id", "aggregate_version", "type", "data")


def write_events(records: Iterable[EventRecord], out: TextIO, fmt: str) -> int:
    """Write records as JSON lines or CSV (``data`` as a JSON column); return how many."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; one of {', '.join(EXPORT_FORMATS)}")
    count = 0
    if fmt == "jsonl":
        for record in records:
            out.write(json.dumps(record, separators=(",", ":"), sort_keys=True) + "\n")
            count += 1
        return count
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for record in records:
        writer.writerow(
            (
                record["position"],
                record["time"],
                record["aggregateId"],
                record["aggregateVersion"],
                record["type"],
                json.dumps(record["data"], separators=(",", ":"), sort_keys=True),
            )
        )
        count += 1
    return count
