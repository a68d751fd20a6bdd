"""The type every consumer of the ledger's log receives: one of the aggregates' events."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import DomainEventProtocol

DomainEvent = DomainEventProtocol[Any]
