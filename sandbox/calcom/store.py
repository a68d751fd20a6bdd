"""The emulator's state and every rule that changes it, decided under one lock.

FastAPI runs the sync endpoints on a thread pool, so concurrent calls for one slot meet here:
each check-then-write happens inside ``self._lock``, which is what makes exactly one of many
simultaneous bookings of a slot win.
"""

from __future__ import annotations

import math
import secrets
import string
import threading
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sandbox.calcom.availability import is_scheduled_start, slot_starts
from sandbox.calcom.envelopes import bad_request, not_found, unprocessable
from sandbox.calcom.event_types import EventType, demo_event_types
from sandbox.calcom.records import Attendee, Booking, Host, MetadataValue, Reservation
from sandbox.calcom.times import iso_utc
from sandbox.clock import SandboxClock

BOOKING_WINDOW = timedelta(days=90)
DEFAULT_HOLD_MINUTES = 5

ALREADY_BOOKED = "User either already has booking at this time or is not available"
OUT_OF_BOUNDS = (
    "The event type can't be booked at the \"start\" time provided. This could be because it's "
    "too soon (violating the minimum booking notice) or too far in the future (outside the "
    "event's scheduling window). Try fetching available slots first using the GET /v2/slots "
    'endpoint and then make a booking with "start" time equal to one of the available slots: '
    "https://cal.com/docs/api-reference/v2/slots"
)
_UID_ALPHABET = string.ascii_letters + string.digits


def _booking_uid() -> str:
    # Cal.com booking uids are 22-character alphanumeric strings.
    return "".join(secrets.choice(_UID_ALPHABET) for _ in range(22))


@dataclass(frozen=True)
class NewBooking:
    event_type_id: int
    start: datetime
    attendee: Attendee
    guests: tuple[str, ...] = ()
    metadata: dict[str, MetadataValue] | None = None
    reserved_slot_uid: str | None = None
    length_minutes: int | None = None


def _checked_length(event_type: EventType, requested: int | None, field: str) -> timedelta:
    if requested is not None and requested != event_type.length_minutes:
        raise bad_request(
            f"Provided '{field}' is not one of the possible lengths for the event type. The "
            f"possible lengths for this event type are: {event_type.length_minutes}"
        )
    return timedelta(minutes=event_type.length_minutes)


class CalcomStore:
    def __init__(self, clock: SandboxClock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._event_types: dict[int, EventType] = {}
        self._hosts: dict[str, Host] = {}
        self._reservations: dict[str, Reservation] = {}
        self._bookings: dict[str, Booking] = {}
        self._next_booking_id = 1
        self.reset()

    def reset(self) -> None:
        """Forget every booking, reservation and added event type; the demo seeds come back."""
        with self._lock:
            self._event_types = {}
            self._hosts = {}
            self._reservations = {}
            self._bookings = {}
            self._next_booking_id = 1
            for event_type in demo_event_types():
                self._store_event_type(event_type)

    # --- event types -------------------------------------------------------------------------

    def put_event_type(self, event_type: EventType) -> bool:
        """Add or replace an event type; True when it is new. Existing bookings keep theirs."""
        with self._lock:
            created = event_type.id not in self._event_types
            self._store_event_type(event_type)
            return created

    def event_types(self) -> list[EventType]:
        with self._lock:
            return sorted(self._event_types.values(), key=lambda event_type: event_type.id)

    def _store_event_type(self, event_type: EventType) -> None:
        self._event_types[event_type.id] = event_type
        self._host(event_type.host_name)

    def _host(self, name: str) -> Host:
        # A host is known by name: two event types with one host share the host's calendar.
        if name not in self._hosts:
            self._hosts[name] = Host(id=len(self._hosts) + 1, name=name)
        return self._hosts[name]

    def _require_event_type(self, event_type_id: int, message: str) -> EventType:
        event_type = self._event_types.get(event_type_id)
        if event_type is None:
            raise not_found(message)
        return event_type

    # --- availability ------------------------------------------------------------------------

    def free_slots(
        self, event_type_id: int, earliest: datetime, latest: datetime, duration: int | None
    ) -> tuple[EventType, list[datetime]]:
        """Offered starts in [earliest, latest] that no booking or live reservation covers."""
        with self._lock:
            now = self._now()
            event_type = self._require_event_type(event_type_id, "Event Type not found")
            length = _checked_length(event_type, duration, "duration")
            candidates = slot_starts(
                event_type, max(earliest, now), min(latest, now + BOOKING_WINDOW)
            )
            free = [
                start
                for start in candidates
                if start > now
                and not self._booked(event_type, start, start + length)
                and self._holder(event_type, start, start + length, own_uid=None) is None
            ]
            return event_type, free

    def _now(self) -> datetime:
        """The sandbox's now, forgetting reservations that lapsed by it (caller holds the lock)."""
        now = self._clock.now()
        self._reservations = {
            uid: held for uid, held in self._reservations.items() if held.live(now)
        }
        return now

    def _offered(self, event_type: EventType, start: datetime, now: datetime) -> bool:
        return now < start <= now + BOOKING_WINDOW and is_scheduled_start(event_type, start)

    def _booked(self, event_type: EventType, start: datetime, end: datetime) -> bool:
        return any(
            booking.blocks(event_type.host_name, start, end) for booking in self._bookings.values()
        )

    def _holder(
        self, event_type: EventType, start: datetime, end: datetime, own_uid: str | None
    ) -> Reservation | None:
        """A live reservation of someone else (any uid but ``own_uid``) on this slot."""
        for held in self._reservations.values():
            if (
                held.uid != own_uid
                and held.event_type_id == event_type.id
                and held.overlaps(start, end)
            ):
                return held
        return None

    # --- reservations ------------------------------------------------------------------------

    def reserve(
        self,
        event_type_id: int,
        start: datetime,
        slot_minutes: int | None,
        hold_minutes: int | None,
    ) -> Reservation:
        with self._lock:
            now = self._now()
            event_type = self._require_event_type(
                event_type_id, f"Event Type with ID={event_type_id} not found"
            )
            end = start + _checked_length(event_type, slot_minutes, "slotDuration")
            self._check_reservable(event_type, start, end, now, own_uid=None)
            hold = hold_minutes or DEFAULT_HOLD_MINUTES
            reservation = Reservation(
                uid=str(uuid.uuid4()),
                event_type_id=event_type.id,
                start=start,
                end=end,
                hold_minutes=hold,
                until=now + timedelta(minutes=hold),
            )
            self._reservations[reservation.uid] = reservation
            return replace(reservation)

    def update_reservation(
        self,
        uid: str,
        event_type_id: int,
        start: datetime,
        slot_minutes: int | None,
        hold_minutes: int | None,
    ) -> Reservation:
        """Move a live reservation and restart its hold (PATCH)."""
        with self._lock:
            now = self._now()
            reservation = self._reservations.get(uid)
            if reservation is None:
                raise not_found(f"Slot with uid={uid} not found")
            event_type = self._require_event_type(
                event_type_id, f"Event Type with ID={event_type_id} not found"
            )
            end = start + _checked_length(event_type, slot_minutes, "slotDuration")
            self._check_reservable(event_type, start, end, now, own_uid=uid)
            hold = hold_minutes or DEFAULT_HOLD_MINUTES
            updated = Reservation(
                uid=uid,
                event_type_id=event_type.id,
                start=start,
                end=end,
                hold_minutes=hold,
                until=now + timedelta(minutes=hold),
            )
            self._reservations[uid] = updated
            return replace(updated)

    def _check_reservable(
        self,
        event_type: EventType,
        start: datetime,
        end: datetime,
        now: datetime,
        own_uid: str | None,
    ) -> None:
        if not self._offered(event_type, start, now):
            raise unprocessable(
                f"The slot starting at {iso_utc(start)} is not offered by event type "
                f"{event_type.id}: reserve one of the slots GET /v2/slots returns."
            )
        if self._booked(event_type, start, end):
            raise unprocessable("Can't reserve a slot if the event is already booked.")
        if self._holder(event_type, start, end, own_uid) is not None:
            raise unprocessable(
                "This time slot is already reserved by another user. "
                "Please choose a different time."
            )

    def reservation(self, uid: str) -> Reservation | None:
        """A live reservation; lapsed ones are forgotten."""
        with self._lock:
            self._now()
            reservation = self._reservations.get(uid)
            return replace(reservation) if reservation else None

    def release(self, uid: str) -> None:
        with self._lock:
            self._now()
            if self._reservations.pop(uid, None) is None:
                raise not_found(f"Slot with uid={uid} not found")

    def reservations(self) -> list[Reservation]:
        with self._lock:
            self._now()
            return [replace(held) for held in self._reservations.values()]

    # --- bookings ----------------------------------------------------------------------------

    def book(self, request: NewBooking) -> Booking:
        with self._lock:
            now = self._now()
            event_type = self._require_event_type(
                request.event_type_id, f"Event type with id {request.event_type_id} not found."
            )
            start = request.start
            end = start + _checked_length(event_type, request.length_minutes, "lengthInMinutes")
            if start <= now:
                raise bad_request("Attempting to book a meeting in the past.")
            if not self._offered(event_type, start, now):
                raise bad_request(OUT_OF_BOUNDS)
            if self._booked(event_type, start, end):
                raise bad_request(ALREADY_BOOKED)
            holder = self._holder(event_type, start, end, own_uid=request.reserved_slot_uid)
            if holder is not None:
                seconds = math.ceil((holder.until - now).total_seconds())
                raise bad_request(
                    "Someone else reserved this booking time slot before you. This time slot "
                    f"will be freed up in {seconds} seconds."
                )
            booking = Booking(
                id=self._next_booking_id,
                uid=_booking_uid(),
                event_type=event_type,
                host=self._host(event_type.host_name),
                start=start,
                end=end,
                attendee=request.attendee,
                guests=request.guests,
                metadata=dict(request.metadata or {}),
                created_at=now,
                updated_at=now,
            )
            self._next_booking_id += 1
            self._bookings[booking.uid] = booking
            # The caller's own hold on this slot has done its job.
            own = self._reservations.get(request.reserved_slot_uid or "")
            if own is not None and own.event_type_id == event_type.id and own.overlaps(start, end):
                del self._reservations[own.uid]
            return replace(booking)

    def reschedule(
        self, uid: str, start: datetime, reason: str | None, rescheduled_by: str | None
    ) -> Booking:
        """Move a booking as Cal.com does: a new booking (new uid) at ``start`` pointing back
        to the old one, which is cancelled and points to it. Its own slot does not block it."""
        with self._lock:
            now = self._now()
            old = self._bookings.get(uid)
            if old is None:
                raise not_found(f"Booking with uid={uid} not found")
            if old.status == "cancelled":
                moved = (
                    f" It was rescheduled to booking with uid={old.rescheduled_to_uid}."
                    if old.rescheduled_to_uid
                    else ""
                )
                raise bad_request(
                    f"Can't reschedule booking with uid={uid} because it has been cancelled."
                    + moved
                )
            event_type = old.event_type
            end = start + (old.end - old.start)
            if start <= now:
                raise bad_request("Attempting to book a meeting in the past.")
            if not self._offered(event_type, start, now):
                raise bad_request(OUT_OF_BOUNDS)
            others = [b for b in self._bookings.values() if b.uid != uid]
            if any(b.blocks(event_type.host_name, start, end) for b in others):
                raise bad_request(ALREADY_BOOKED)
            holder = self._holder(event_type, start, end, own_uid=None)
            if holder is not None:
                seconds = math.ceil((holder.until - now).total_seconds())
                raise bad_request(
                    "Someone else reserved this booking time slot before you. This time slot "
                    f"will be freed up in {seconds} seconds."
                )
            new = replace(
                old,
                id=self._next_booking_id,
                uid=_booking_uid(),
                start=start,
                end=end,
                metadata=dict(old.metadata),
                created_at=now,
                updated_at=now,
                status="accepted",
                rescheduled_from_uid=uid,
                rescheduled_to_uid=None,
                rescheduling_reason=reason,
                rescheduled_by=rescheduled_by,
            )
            self._next_booking_id += 1
            self._bookings[new.uid] = new
            old.status = "cancelled"
            old.rescheduled_to_uid = new.uid
            old.updated_at = now
            return replace(new)

    def booking(self, uid: str) -> Booking:
        with self._lock:
            booking = self._bookings.get(uid)
            if booking is None:
                raise not_found(f"Booking with uid={uid} not found")
            return replace(booking)

    def cancel(self, uid: str, reason: str | None) -> Booking:
        """Cancel a booking; its slot is free again."""
        with self._lock:
            now = self._now()
            booking = self._bookings.get(uid)
            if booking is None:
                raise not_found(f"Booking with uid={uid} not found")
            if booking.status == "cancelled":
                raise bad_request("This booking has already been cancelled.")
            booking.status = "cancelled"
            booking.cancellation_reason = reason
            booking.updated_at = now
            return replace(booking)

    def bookings(self) -> list[Booking]:
        """Every booking, cancelled ones too, oldest first."""
        with self._lock:
            return [replace(booking) for booking in self._bookings.values()]

    def now(self) -> datetime:
        return self._clock.now()
