"""The journal: double-entry postings of every ledger event, and account balances (stub)."""

from __future__ import annotations

from projections.follower import DomainEvent
from projections.store import Transaction


class JournalProjection:
    name = "journal"

    def create_tables(self, tx: Transaction) -> None:
        pass

    def drop_tables(self, tx: Transaction) -> None:
        pass

    def apply(self, tx: Transaction, events: list[tuple[int, DomainEvent]]) -> None:
        pass
