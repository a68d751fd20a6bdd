"""A stored ledger and its payments read model, without the sandbox (no Stripe call is made)."""

from __future__ import annotations

from dataclasses import dataclass

from ledger import Ledger
from projections.follower import Follower
from projections.store import ReadModelStore


@dataclass
class World:
    ledger: Ledger
    store: ReadModelStore
    payments: Follower

    def caught_up(self) -> ReadModelStore:
        self.payments.run_until_caught_up()
        return self.store
