"""Release the Cal.com slot hold of a checkout that ended unpaid, so others can book the slot."""

from __future__ import annotations

from ledger import Booking, CheckoutIntent, Ledger
from ledger.events import DomainEvent
from processes.gateways.calcom_gateway import CalcomGateway


class ReservationRelease:
    name = "reservation-release"
    topics = (Booking.Expired.TOPIC, Booking.Cancelled.TOPIC, CheckoutIntent.Abandoned.TOPIC)

    def __init__(self, ledger: Ledger, calcom: CalcomGateway) -> None:
        self._ledger = ledger
        self._calcom = calcom

    def handle(self, position: int, event: DomainEvent) -> None:
        if isinstance(event, CheckoutIntent.Abandoned):
            # A checkout given up before its booking existed; its hold, if it got one.
            intent = self._ledger.checkout_intent_of(event.originator_id)
            if intent is not None and intent.reservation_uid:
                self._calcom.release_reservation(intent.reservation_uid)
            return
        booking = self._ledger.get_booking(event.originator_id)
        if booking.request.reservation_uid and booking.calcom_booking_uid is None:
            # Idempotent: releasing a hold that is gone already is fine.
            self._calcom.release_reservation(booking.request.reservation_uid)
