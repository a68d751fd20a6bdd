"""The one reader of the ledger's notification log (batched, in log order), and the events as
plain JSON-ready records for finance (API, export, history).

A record is ``{position, time, aggregateId, aggregateVersion, type, data, postings}``: ``type``
is the event's stable topic, ``data`` its own fields (UUIDs and datetimes as strings, money as
integer minor units with a currency, exactly as recorded), ``postings`` the journal lines it
posts. CSV has one row per journal line with ``account``, ``debit``, ``credit`` and
``currency`` columns finance can sum.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, TextIO
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Notification

from ledger.accounts import postings_for
from ledger.events import DomainEvent, event_time, event_topic
from projections.store import ReadModelStore

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
    postings = [
        {"account": p.account, "side": p.side, "amount": p.amount, "currency": p.currency}
        for p in postings_for(event)
    ]
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
        "postings": postings,  # the journal lines it posts (chart of accounts); [] for none
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
    batch so memory stays flat on a long log; ``topics`` limits which ones.

    The log is read whole, in the id index's order, and ``topics`` filtered here, as the one-pass
    replay and the shared log do: with ``topic = ANY(...)`` in the query the server may plan each
    batch as a fetch and sort of every matching row up to ``stop`` (it did on a table without
    statistics), and each batch would then cost as much as the rest of the log."""
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    head = head_position(app) if stop is None else stop
    wanted = frozenset(topics)
    position = after
    while position < head:
        notifications = app.recorder.select_notifications(
            position, batch_size, stop=head, inclusive_of_start=False
        )
        if not notifications:
            return
        yield from (n for n in notifications if not wanted or n.topic in wanted)
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


def aggregate_history(
    app: Application[Any], aggregate_ids: list[UUID], store: ReadModelStore | None = None
) -> list[EventRecord]:
    """Every event of these aggregates, in log order (oldest first).

    The library reads an aggregate's events without their log positions; with ``store`` (the
    same database as the events) each record gets its ``position`` from the event table.
    """
    events = [
        event
        for aggregate_id in aggregate_ids
        for event in app.repository.event_store.get(aggregate_id)
    ]
    positions = _positions(app, store, aggregate_ids) if store is not None else {}
    events.sort(
        key=lambda e: (
            positions.get((str(e.originator_id), e.originator_version), 0),
            event_time(e),
            e.originator_version,
        )
    )
    return [
        event_record(positions.get((str(e.originator_id), e.originator_version)), event_topic(e), e)
        for e in events
    ]


def _positions(
    app: Application[Any], store: ReadModelStore, aggregate_ids: list[UUID]
) -> dict[tuple[str, int], int]:
    """(aggregate id, version) -> log position, read from the library's event table."""
    table = getattr(app.recorder, "events_table_name", None)
    if not aggregate_ids or store.kind not in ("sqlite", "postgres") or not table:
        return {}
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", table):
        return {}
    marks = ", ".join(["%s"] * len(aggregate_ids))
    if store.kind == "postgres":
        sql = (
            f"SELECT originator_id::text AS id, originator_version AS version,"
            f" notification_id AS position FROM {table} WHERE originator_id::text IN ({marks})"
        )
    else:
        sql = (
            f"SELECT originator_id AS id, originator_version AS version, rowid AS position"
            f" FROM {table} WHERE originator_id IN ({marks})"
        )
    # PostgreSQL keeps a uuid column; the library's SQLite table keeps the 32-digit hex.
    ids = [str(each) if store.kind == "postgres" else each.hex for each in aggregate_ids]
    with store.transaction(readonly=True) as tx:
        rows = tx.execute(sql, ids).fetchall()
    return {(str(UUID(str(row["id"]))), int(row["version"])): int(row["position"]) for row in rows}


# --- export formats -----------------------------------------------------------------------

EXPORT_FORMATS = ("jsonl", "csv")
# One row per journal line, so the money columns can be summed (by account, by currency);
# an event that moves no money is one row with them empty.
CSV_COLUMNS = (
    "position",
    "time",
    "aggregate_id",
    "aggregate_version",
    "type",
    "account",
    "debit",
    "credit",
    "currency",
    "data",
)


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
        envelope = (
            record["position"],
            record["time"],
            record["aggregateId"],
            record["aggregateVersion"],
            record["type"],
        )
        data = json.dumps(record["data"], separators=(",", ":"), sort_keys=True)
        lines = [
            (
                p["account"],
                p["amount"] if p["side"] == "debit" else "",
                p["amount"] if p["side"] == "credit" else "",
                p["currency"],
            )
            for p in record.get("postings", [])
        ] or [("", "", "", "")]
        for line in lines:
            writer.writerow((*envelope, *line, data))
        count += 1
    return count
