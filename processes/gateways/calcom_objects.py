"""Small typed values read from Cal.com v2 responses (the ``data`` of its envelopes)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from processes.gateways.calcom_errors import CalcomUnexpectedResponse
from processes.gateways.timestamps import parse_iso


@dataclass(frozen=True)
class Slot:
    start: datetime  # aware UTC
    end: datetime


@dataclass(frozen=True)
class Reservation:
    uid: str
    slot_start: datetime
    slot_end: datetime
    until: datetime  # the hold lapses then unless a booking uses it


@dataclass(frozen=True)
class CalBooking:
    id: int
    uid: str
    status: str  # accepted | pending | cancelled | rejected
    start: datetime
    end: datetime
    metadata: dict[str, str]
    event_type_id: int | None
    attendee_emails: tuple[str, ...]
    # A reschedule makes a new booking: the old one names it, the new one names the old.
    rescheduled_to_uid: str | None = None
    rescheduled_from_uid: str | None = None


def _field(data: Mapping[str, Any], key: str) -> Any:
    value = data.get(key)
    if value is None:
        raise CalcomUnexpectedResponse(f"Cal.com response lacks {key!r}")
    return value


def _time(data: Mapping[str, Any], key: str) -> datetime:
    try:
        return parse_iso(str(_field(data, key)))
    except ValueError as error:
        raise CalcomUnexpectedResponse(f"Cal.com {key!r} is not a timestamp: {error}") from error


def _mapping(data: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise CalcomUnexpectedResponse(f"Cal.com {what} is not an object")
    return data


def slots(data: Any) -> list[Slot]:
    """``{"2050-09-05": [{"start", "end"}, ...], ...}`` (``format=range``), flattened in order."""
    days = _mapping(data, "slots")
    found: list[Slot] = []
    for day_slots in days.values():
        if not isinstance(day_slots, list):
            raise CalcomUnexpectedResponse("Cal.com slots of a day are not a list")
        for item in day_slots:
            item = _mapping(item, "slot")
            found.append(Slot(start=_time(item, "start"), end=_time(item, "end")))
    return sorted(found, key=lambda slot: slot.start)


def reservation(data: Any) -> Reservation:
    data = _mapping(data, "reservation")
    return Reservation(
        uid=str(_field(data, "reservationUid")),
        slot_start=_time(data, "slotStart"),
        slot_end=_time(data, "slotEnd"),
        until=_time(data, "reservationUntil"),
    )


def booking(data: Any) -> CalBooking:
    data = _mapping(data, "booking")
    event_type_id = data.get("eventTypeId")
    if event_type_id is None and isinstance(data.get("eventType"), Mapping):
        event_type_id = data["eventType"].get("id")
    attendees = data.get("attendees") or []
    return CalBooking(
        id=int(_field(data, "id")),
        uid=str(_field(data, "uid")),
        status=str(_field(data, "status")),
        start=_time(data, "start"),
        end=_time(data, "end"),
        metadata={str(k): str(v) for k, v in (data.get("metadata") or {}).items()},
        event_type_id=int(event_type_id) if event_type_id is not None else None,
        attendee_emails=tuple(
            str(a["email"]) for a in attendees if isinstance(a, Mapping) and a.get("email")
        ),
        rescheduled_to_uid=_optional_text(data, "rescheduledToUid"),
        rescheduled_from_uid=_optional_text(data, "rescheduledFromUid"),
    )


def _optional_text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return str(value) if value else None
