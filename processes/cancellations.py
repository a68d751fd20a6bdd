"""Cancellations by the attendee or the mentor (stub: being built)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

from ledger import Booking, Ledger
from processes.gateways.calcom_gateway import CalcomGateway
from projections.follower import DomainEvent


class CancellationService:
    def __init__(
        self,
        ledger: Ledger,
        *,
        free_cancel_hours: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._ledger = ledger
        self._free_cancel_hours = free_cancel_hours
        self._clock = clock

    def cancel(self, *, booking_id: UUID, user_id: str, role: str, reason: str) -> Booking:
        raise NotImplementedError


class CalendarCancellation:
    """Cancels the Cal.com booking of a cancelled booking (idempotent)."""

    name = "calendar-cancel"
    topics = (Booking.Cancelled.TOPIC,)

    def __init__(self, ledger: Ledger, calcom: CalcomGateway) -> None:
        self._ledger = ledger
        self._calcom = calcom

    def handle(self, position: int, event: DomainEvent) -> None:
        pass
