"""Move a paid session to another time, without paying again.

Cal.com's reschedule makes a *new* Cal.com booking and cancels the old one, which then names the
new one. So every outcome can be found again: after a lost answer, a crash before the ledger
recorded the move, or a concurrent reschedule that got there first, the old Cal.com booking
leads to where the session is now, and that is what the ledger records (``Booking.Rescheduled``,
recorded from the Cal.com booking the ledger knows, so two racing moves cannot both be
recorded). One of two concurrent reschedules wins; the other gets 409.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID

from ledger import Booking, BookingNotFound, BookingStatus, Ledger
from ledger.session_policy import SessionPolicy
from processes.gateways.calcom_errors import (
    CalcomGatewayError,
    CalcomRequestError,
    CalcomTransientError,
    SlotUnavailable,
)
from processes.gateways.calcom_gateway import CalBooking, CalcomGateway
from processes.services.errors import (
    NotFound,
    ServiceError,
    SlotTaken,
    Unprocessable,
    UpstreamUnavailable,
)

log = logging.getLogger(__name__)

ACTOR_BY_ROLE = {"user": "user", "mentor": "mentor", "admin": "admin"}
_MAX_HOPS = 20  # a bound on following rescheduledToUid links


class CannotReschedule(ServiceError):
    status = 409
    title = "Booking cannot be rescheduled"


def actor_of(booking: Booking, user_id: str, role: str) -> str:
    """The attendee (role user), the booked mentor, or an admin; anyone else gets NotFound
    (a booking's existence is not revealed)."""
    actor = ACTOR_BY_ROLE.get(role)
    own = {"user": booking.user_id, "mentor": booking.mentor_id}
    if actor is None or (actor != "admin" and own[actor] != user_id):
        raise NotFound("no such booking")
    return actor


class RescheduleService:
    def __init__(
        self,
        ledger: Ledger,
        calcom: CalcomGateway,
        *,
        default_policy: SessionPolicy,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._ledger = ledger
        self._calcom = calcom
        self._default_policy = default_policy  # for bookings paid before policies were recorded
        self._clock = clock

    def reschedule(self, *, booking_id: UUID, user_id: str, role: str, start: datetime) -> Booking:
        try:
            booking = self._ledger.get_booking(booking_id)
        except BookingNotFound:
            raise NotFound("no such booking") from None
        by = actor_of(booking, user_id, role)
        start = start.astimezone(UTC)
        if booking.status == BookingStatus.ACCEPTED and booking.request.start == start:
            return booking  # already there (a retry after the move was recorded)
        if booking.status != BookingStatus.ACCEPTED or booking.calcom_booking_uid is None:
            raise CannotReschedule(f"booking {booking_id} is {booking.status}, not booked")
        if booking.no_show_party is not None:
            raise CannotReschedule(f"booking {booking_id} has a recorded no-show")
        self._check_policy(booking, start)
        old_uid = booking.calcom_booking_uid
        if not self._is_free(booking, start):
            # Taken, perhaps by this very booking: an earlier attempt moved it there and the
            # ledger never heard (a crash, a lost answer). Then record that move.
            found = self._where_it_went(old_uid)
            if found is None:
                raise SlotTaken("that time is not a free slot of this event type")
            return self._record(booking_id, old_uid, found, by, start)
        try:
            moved = self._calcom.reschedule_booking(
                old_uid, start=start, reason=f"rescheduled by the {_WHO[by]}"
            )
        except SlotUnavailable as error:
            raise SlotTaken(f"that time is not free: {error}") from error
        except CalcomTransientError as error:
            # The move may have happened all the same: the old booking says where it went.
            found = self._where_it_went(old_uid)
            if found is None:
                raise UpstreamUnavailable(f"Cal.com could not move the booking: {error}") from error
            moved = found
        except CalcomRequestError as error:
            # Already moved (an earlier attempt whose outcome we never recorded, or a
            # concurrent reschedule): record where it is, then answer.
            found = self._where_it_went(old_uid)
            if found is None:
                raise CannotReschedule(f"Cal.com refused to move the booking: {error}") from error
            moved = found
        return self._record(booking_id, old_uid, moved, by, start)

    def _record(
        self, booking_id: UUID, old_uid: str, moved: CalBooking, by: str, wanted: datetime
    ) -> Booking:
        """Record where Cal.com has the session now; 409 if that is not where it was asked."""
        booking: Booking = self._ledger.reschedule_booking(
            booking_id=booking_id,
            from_calcom_booking_uid=old_uid,
            calcom_booking_uid=moved.uid,
            start=moved.start,
            end=moved.end,
            by=by,
        )
        if moved.start != wanted:
            raise CannotReschedule(
                f"booking {booking_id} was moved to {moved.start.isoformat()} meanwhile"
            )
        return booking

    def _check_policy(self, booking: Booking, start: datetime) -> None:
        now = self._clock()
        policy = booking.policy or self._default_policy
        if start <= now:
            raise Unprocessable("the new start is in the past")
        if booking.reschedules >= policy.max_reschedules:
            raise Unprocessable(
                f"this session may be rescheduled at most {policy.max_reschedules} time(s)"
            )
        if booking.request.start - now < timedelta(hours=policy.reschedule_cutoff_hours):
            raise Unprocessable(
                f"a session may be rescheduled up to {policy.reschedule_cutoff_hours} h "
                "before its start"
            )

    def _is_free(self, booking: Booking, start: datetime) -> bool:
        length = booking.request.end - booking.request.start
        try:
            slots = self._calcom.get_slots(
                booking.request.event_type_id, start, start + length, "UTC"
            )
        except CalcomGatewayError as error:
            raise UpstreamUnavailable(f"Cal.com could not list slots: {error}") from error
        return any(slot.start == start for slot in slots)

    def _where_it_went(self, uid: str) -> CalBooking | None:
        """The booking ``uid`` was rescheduled to (following every later move), or None when
        it was not moved."""
        try:
            current = self._calcom.get_booking(uid)
            hops = 0
            while current.rescheduled_to_uid is not None and hops < _MAX_HOPS:
                current = self._calcom.get_booking(current.rescheduled_to_uid)
                hops += 1
        except CalcomGatewayError as error:
            raise UpstreamUnavailable(f"Cal.com could not be read: {error}") from error
        return current if current.uid != uid and current.status in ("accepted", "pending") else None


_WHO = {"user": "attendee", "mentor": "mentor", "admin": "administrator"}
