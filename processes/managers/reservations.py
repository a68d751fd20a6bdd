"""Release the Cal.com slot hold of a checkout that ended unpaid, so others can book the slot."""

from __future__ import annotations

from ledger import Booking, Ledger
from ledger.events import DomainEvent
from processes.gateways.calcom_gateway import CalcomGateway


class ReservationRelease:
    name = "reservation-release"
    topics = (Booking.Expired.TOPIC, Booking.Cancelled.TOPIC)

    def __init__(self, ledger: Ledger, calcom: CalcomGateway) -> None:
        self._ledger = ledger
        self._calcom = calcom

    def handle(self, position: int, event: DomainEvent) -> None:
        booking = self._ledger.get_booking(event.originator_id)
        if booking.request.reservation_uid and booking.calcom_booking_uid is None:
            # Idempotent: releasing a hold that is gone already is fine.
            self._calcom.release_reservation(booking.request.reservation_uid)
