"""A ledger and its read models in one store, projected on demand (no workers, no threads)."""

from __future__ import annotations

from dataclasses import dataclass

from ledger import Ledger
from mentorpay.bootstrap import read_models as bootstrap_read_models
from projections.follower import Follower, Projection
from projections.store import ReadModelStore


def read_models() -> list[Projection]:
    return bootstrap_read_models()  # the same read models ``ledger verify`` rebuilds


@dataclass
class Books:
    """A ledger and its read models in one store, projected on demand."""

    ledger: Ledger
    store: ReadModelStore
    projections: list[Projection]
    batch_size: int = 1000

    def project(self) -> None:
        for projection in self.projections:
            Follower(
                self.ledger, self.store, projection, batch_size=self.batch_size
            ).run_until_caught_up()
