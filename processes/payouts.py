"""Payouts after the hold (stub: being built)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ledger import Ledger
from processes.gateways.stripe_gateway import StripeGateway
from projections.catalog import Catalog
from projections.store import ReadModelStore


@dataclass(frozen=True)
class PayoutRunResult:
    eligible: int
    paid_out: int
    failed: int


class PayoutService:
    def __init__(
        self,
        ledger: Ledger,
        store: ReadModelStore,
        catalog: Catalog,
        stripe: StripeGateway,
        *,
        hold: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._ledger = ledger
        self._store = store
        self._catalog = catalog
        self._stripe = stripe
        self._hold = hold
        self._clock = clock

    def run(self) -> PayoutRunResult:
        return PayoutRunResult(0, 0, 0)


class PayoutSchedule:
    """Runs the payouts every ``interval`` seconds on a thread of its own."""

    def __init__(self, service: PayoutService, interval: float, stopping: threading.Event) -> None:
        self._service = service
        self._interval = interval
        self._stopping = stopping

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass
