"""Fulfilment: a confirmed payment becomes a Cal.com booking, or a failed booking.

At-least-once: before creating, look up a booking an earlier attempt may have made (our booking
id is in its metadata), because Cal.com has no idempotency key.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from ledger import Booking, BookingStatus, Ledger
from ledger.events import DomainEvent
from processes.gateways.calcom_errors import CalcomTransientError, SlotUnavailable
from processes.gateways.calcom_gateway import CalcomGateway

log = logging.getLogger(__name__)

BOOKING_METADATA_KEY = "mentorpay_booking_id"
LIVE_CALCOM_STATUSES = frozenset({"accepted", "pending"})


@dataclass(frozen=True)
class FulfilmentRetry:
    """Transient Cal.com failures are retried this many times before the booking fails."""

    attempts: int = 6
    initial_delay: float = 0.5
    max_delay: float = 30.0

    def delay(self, attempt: int) -> float:
        return min(self.max_delay, self.initial_delay * 2.0 ** (attempt - 1))


class Fulfilment:
    name = "fulfilment"
    topics = (Booking.PaymentConfirmed.TOPIC,)

    def __init__(
        self,
        ledger: Ledger,
        calcom: CalcomGateway,
        retry: FulfilmentRetry | None = None,
        stopping: threading.Event | None = None,
    ) -> None:
        self._ledger = ledger
        self._calcom = calcom
        self._retry = retry or FulfilmentRetry()
        self._stopping = stopping or threading.Event()

    def handle(self, position: int, event: DomainEvent) -> None:
        booking = self._ledger.get_booking(event.originator_id)
        if booking.status != BookingStatus.PENDING:
            return  # decided by an earlier run
        for attempt in range(1, self._retry.attempts + 1):
            try:
                self._book(booking)
                return
            except SlotUnavailable as refusal:
                self._ledger.record_booking_failed(
                    booking_id=booking.id, reason=f"slot unavailable: {refusal}", final=True
                )
                return
            except CalcomTransientError as error:
                log.warning(
                    "Cal.com attempt %d for booking %s failed: %s", attempt, booking.id, error
                )
                if attempt < self._retry.attempts and self._stopping.wait(
                    self._retry.delay(attempt)
                ):
                    raise  # shutting down: the follower resumes this event on restart
        self._ledger.record_booking_failed(
            booking_id=booking.id, reason="Cal.com unavailable; gave up retrying", final=False
        )

    def _book(self, booking: Booking) -> None:
        request = booking.request
        existing = self._calcom.find_booking(
            event_type_id=request.event_type_id,
            attendee_email=request.attendee_email,
            metadata_key=BOOKING_METADATA_KEY,
            metadata_value=str(booking.id),
        )
        if existing is not None and existing.status in LIVE_CALCOM_STATUSES:
            self._ledger.record_booked(booking_id=booking.id, calcom_booking_uid=existing.uid)
            return
        created = self._calcom.create_booking(
            event_type_id=request.event_type_id,
            start=request.start,
            attendee_name=request.attendee_name,
            attendee_email=request.attendee_email,
            attendee_time_zone=request.attendee_time_zone,
            metadata={BOOKING_METADATA_KEY: str(booking.id)},
            reserved_slot_uid=request.reservation_uid,
        )
        self._ledger.record_booked(booking_id=booking.id, calcom_booking_uid=created.uid)
