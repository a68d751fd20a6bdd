"""The type every consumer of the ledger's log receives: one of the aggregates' events."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from eventsourcing.domain import DomainEvent as _LibraryDomainEvent
from eventsourcing.domain import DomainEventProtocol

DomainEvent = DomainEventProtocol[Any]


def event_time(event: DomainEvent) -> datetime:
    """When the event happened. Every ledger event is one of the library's ``DomainEvent``
    dataclasses, which carry a ``timestamp``; the protocol type the log hands out does not."""
    return cast(_LibraryDomainEvent, event).timestamp


def event_topic(event: DomainEvent) -> str:
    """The event's stable topic, as recorded in the log."""
    return str(type(event).TOPIC)  # type: ignore[attr-defined]  # each ledger event class sets it
