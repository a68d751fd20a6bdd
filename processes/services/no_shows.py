"""No-shows, reported after the session's start.

- ``attendee`` (by the booked mentor or an admin): recorded; the mentor is paid as for a session
  that took place.
- ``mentor`` by the attendee, within ``claim_window`` of the session's end: the payout is held and
  an admin decides (``decide``: ``refund`` in full, reversing a transfer already made first, or
  ``release`` the payout). Open claims are listed by ``projections.no_shows.open_claims``.
- ``mentor`` by the mentor or an admin: refunded in full at once.

The refunds are made by ``processes.managers.no_show_refunds`` from what the ledger recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID

from ledger import Booking, BookingNotFound, BookingStatus, InvalidTransition, Ledger
from processes.services.errors import NotFound, ServiceError, Unprocessable
from processes.services.reschedule import actor_of

_REASONS = {
    ("attendee", "mentor"): "the attendee did not show (reported by the mentor)",
    ("attendee", "admin"): "the attendee did not show (recorded by an administrator)",
    ("mentor", "user"): "the mentor did not show (claimed by the attendee)",
    ("mentor", "mentor"): "the mentor did not show (reported by the mentor)",
    ("mentor", "admin"): "the mentor did not show (recorded by an administrator)",
}


class CannotRecordNoShow(ServiceError):
    status = 409
    title = "No-show cannot be recorded"


class NoShowForbidden(ServiceError):
    status = 403
    title = "Forbidden"


class NoShowService:
    def __init__(
        self,
        ledger: Ledger,
        *,
        claim_window: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._ledger = ledger
        self._claim_window = claim_window
        self._clock = clock

    def report(
        self, *, booking_id: UUID, user_id: str, role: str, party: str, reason: str | None = None
    ) -> Booking:
        booking = self._load(booking_id)
        by = actor_of(booking, user_id, role)
        if (party, by) not in _REASONS:
            raise NoShowForbidden(f"the {by} may not report a no-show of the {party}")
        if booking.status != BookingStatus.ACCEPTED:
            raise CannotRecordNoShow(f"booking {booking_id} is {booking.status}, not booked")
        now = self._clock()
        if now < booking.request.start:
            raise Unprocessable("the session has not started yet")
        if party == "attendee":
            outcome = "mentor_paid"
        elif by == "user":
            if now > booking.request.end + self._claim_window:
                raise Unprocessable(
                    f"a mentor's no-show may be claimed up to {self._claim_window} after the "
                    "session's end"
                )
            outcome = "claim_open"
        else:
            outcome = "refund"
        try:
            recorded: Booking = self._ledger.report_no_show(
                booking_id=booking_id,
                party=party,
                by=by,
                reason=reason or _REASONS[(party, by)],
                outcome=outcome,
            )
        except InvalidTransition as refused:
            raise CannotRecordNoShow(str(refused)) from None
        return recorded

    def decide(self, *, booking_id: UUID, decision: str, reason: str) -> Booking:
        """An admin's decision on an open claim (the route checks the role)."""
        self._load(booking_id)
        try:
            booking: Booking = self._ledger.decide_no_show(
                booking_id=booking_id, decision=decision, by="admin", reason=reason
            )
        except InvalidTransition as refused:
            raise CannotRecordNoShow(str(refused)) from None
        return booking

    def _load(self, booking_id: UUID) -> Booking:
        try:
            return self._ledger.get_booking(booking_id)
        except BookingNotFound:
            raise NotFound("no such booking") from None
