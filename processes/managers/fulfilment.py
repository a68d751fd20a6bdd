"""Fulfilment: a confirmed payment becomes a Cal.com booking, or a failed booking.

At-least-once: before creating, look up a booking an earlier attempt may have made (our booking
id is in its metadata), because Cal.com has no idempotency key.
"""

from __future__ import annotations

import contextlib
import logging

from ledger import Booking, BookingStatus, Ledger
from ledger.events import DomainEvent
from processes.gateways.calcom_errors import (
    CalcomGatewayError,
    CalcomTransientError,
    SlotUnavailable,
)
from processes.gateways.calcom_gateway import CalcomGateway
from processes.gateways.calcom_objects import CalBooking

log = logging.getLogger(__name__)

BOOKING_METADATA_KEY = "mentorpay_booking_id"
LIVE_CALCOM_STATUSES = frozenset({"accepted", "pending"})


class Fulfilment:
    """Books at Cal.com. A transient Cal.com failure propagates: the work queue retries it
    later (scheduled, not slept) and, out of attempts, calls ``give_up``, which fails the
    booking so that it is refunded. A slot refusal fails the booking at once; any other
    refusal propagates as permanent and the work is parked for operations."""

    name = "fulfilment"
    topics = (Booking.PaymentConfirmed.TOPIC,)

    def __init__(self, ledger: Ledger, calcom: CalcomGateway) -> None:
        self._ledger = ledger
        self._calcom = calcom

    def handle(self, position: int, event: DomainEvent) -> None:
        booking = self._ledger.get_booking(event.originator_id)
        if booking.status != BookingStatus.PENDING:
            return  # decided by an earlier run
        try:
            self._book(booking)
        except SlotUnavailable as refusal:
            self._ledger.record_booking_failed(
                booking_id=booking.id, reason=f"slot unavailable: {refusal}", final=True
            )

    def give_up(self, position: int, event: DomainEvent, error: Exception) -> None:
        """Out of attempts on a transient failure: fail the booking (refunded), unless an
        attempt did book it after all."""
        booking = self._ledger.get_booking(event.originator_id)
        if booking.status != BookingStatus.PENDING:
            return
        if isinstance(error, CalcomTransientError):
            # One last look: a create whose answer was lost may have booked it.
            with contextlib.suppress(CalcomGatewayError):
                if self._existing(booking) is not None:
                    return self.handle(position, event)
        log.warning("giving up booking %s at Cal.com: %s", booking.id, error)
        self._ledger.record_booking_failed(
            booking_id=booking.id, reason="Cal.com unavailable; gave up retrying", final=False
        )

    def _existing(self, booking: Booking) -> CalBooking | None:
        request = booking.request
        existing = self._calcom.find_booking(
            event_type_id=request.event_type_id,
            attendee_email=request.attendee_email,
            metadata_key=BOOKING_METADATA_KEY,
            metadata_value=str(booking.id),
        )
        return (
            existing if existing is not None and existing.status in LIVE_CALCOM_STATUSES else None
        )

    def _book(self, booking: Booking) -> None:
        request = booking.request
        existing = self._existing(booking)
        if existing is not None:
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
