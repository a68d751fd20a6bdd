"""Bookings and reservations rendered as Cal.com's v2 API returns them."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sandbox.calcom.records import Booking, Reservation
from sandbox.calcom.times import iso_in_zone, iso_utc


def booking_view(booking: Booking) -> dict[str, Any]:
    """A booking as cal-api-version 2024-08-13 returns it."""
    attendee: dict[str, Any] = {
        "name": booking.attendee.name,
        "email": booking.attendee.email,
        "displayEmail": booking.attendee.email,
        "timeZone": booking.attendee.time_zone,
        "language": booking.attendee.language,
        "absent": False,
    }
    responses: dict[str, Any] = {
        "name": booking.attendee.name,
        "email": booking.attendee.email,
        "guests": list(booking.guests),
    }
    if booking.attendee.phone_number:
        attendee["phoneNumber"] = booking.attendee.phone_number
        responses["attendeePhoneNumber"] = booking.attendee.phone_number
    view: dict[str, Any] = {
        "id": booking.id,
        "uid": booking.uid,
        "title": booking.title,
        "description": "",
        "hosts": [
            {
                "id": booking.host.id,
                "name": booking.host.name,
                "email": booking.host.email,
                "username": booking.host.username,
                "timeZone": booking.event_type.time_zone,
            }
        ],
        "status": booking.status,
        "start": iso_utc(booking.start),
        "end": iso_utc(booking.end),
        "duration": booking.duration_minutes,
        "eventTypeId": booking.event_type.id,
        "eventType": {"id": booking.event_type.id, "slug": booking.event_type.slug},
        "meetingUrl": f"https://app.cal.com/video/{booking.uid}",
        "location": f"https://app.cal.com/video/{booking.uid}",
        "absentHost": False,
        "createdAt": iso_utc(booking.created_at),
        "updatedAt": iso_utc(booking.updated_at),
        "metadata": dict(booking.metadata),
        "rating": None,
        "icsUid": f"{booking.uid}@Cal.com",
        "attendees": [attendee],
        "guests": list(booking.guests),
        "bookingFieldsResponses": responses,
    }
    if booking.status == "cancelled":
        view["cancellationReason"] = booking.cancellation_reason or ""
    if booking.rescheduled_from_uid is not None:
        view["rescheduledFromUid"] = booking.rescheduled_from_uid
        view["reschedulingReason"] = booking.rescheduling_reason or ""
        if booking.rescheduled_by is not None:
            view["rescheduledByEmail"] = booking.rescheduled_by
    if booking.rescheduled_to_uid is not None:
        view["rescheduled"] = True
        view["rescheduledToUid"] = booking.rescheduled_to_uid
    return view


def reservation_view(reservation: Reservation, *, with_hold: bool = True) -> dict[str, Any]:
    """A slot reservation; GET omits ``reservationDuration`` as Cal.com does."""
    view: dict[str, Any] = {
        "eventTypeId": reservation.event_type_id,
        "slotStart": iso_utc(reservation.start),
        "slotEnd": iso_utc(reservation.end),
        "slotDuration": int((reservation.end - reservation.start).total_seconds() // 60),
        "reservationUid": reservation.uid,
    }
    if with_hold:
        view["reservationDuration"] = reservation.hold_minutes
    view["reservationUntil"] = iso_utc(reservation.until)
    return view


def slots_view(
    starts: list[datetime], zone: tzinfo, length: timedelta, with_end: bool
) -> dict[str, list[dict[str, str]]]:
    """Slots grouped by their date in ``zone``, each rendered with that zone's offset."""
    by_date: dict[str, list[dict[str, str]]] = defaultdict(list)
    for start in starts:
        slot = {"start": iso_in_zone(start, zone)}
        if with_end:
            slot["end"] = iso_in_zone(start + length, zone)
        by_date[start.astimezone(zone).date().isoformat()].append(slot)
    return dict(by_date)
