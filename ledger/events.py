"""The type every consumer of the ledger's log receives: one of the aggregates' events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from operator import attrgetter
from typing import Any

from eventsourcing.domain import DomainEventProtocol

DomainEvent = DomainEventProtocol[Any]


# When the event happened. Every ledger event is one of the library's ``DomainEvent``
# dataclasses, which carry a ``timestamp``; the protocol type the log hands out does not. One
# C-level attribute read: read models call it for nearly every event they fold (a replay, for
# every event of the log), and a function with a ``cast`` costs several times as much.
event_time: Callable[[DomainEvent], datetime] = attrgetter("timestamp")


def event_topic(event: DomainEvent) -> str:
    """The event's stable topic, as recorded in the log."""
    return str(type(event).TOPIC)  # type: ignore[attr-defined]  # each ledger event class sets it
