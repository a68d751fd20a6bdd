"""The filters, sorting and paging of GET /v2/bookings (cal-api-version 2024-08-13)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sandbox.calcom.envelopes import bad_request
from sandbox.calcom.records import Booking
from sandbox.calcom.times import parse_instant

STATUSES = ("upcoming", "recurring", "past", "cancelled", "unconfirmed")
SORT_KEYS: dict[str, Callable[[Booking], datetime]] = {
    "sortStart": lambda booking: booking.start,
    "sortEnd": lambda booking: booking.end,
    "sortCreated": lambda booking: booking.created_at,
    "sortUpdatedAt": lambda booking: booking.updated_at,
}
DEFAULT_TAKE = 100
MAX_TAKE = 250


def _integer(params: Mapping[str, str], name: str, low: int, high: int | None) -> int | None:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise bad_request(f"{name} must be an integer {bound}")
    return value


def _moment(params: Mapping[str, str], name: str) -> datetime | None:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        return datetime.combine(date.fromisoformat(raw), time(), tzinfo=UTC)
    except ValueError:
        pass
    try:
        return parse_instant(raw)
    except ValueError:
        raise bad_request(f"{name} must be a valid ISO 8601 date.") from None


def _status_matches(status: str, booking: Booking, now: datetime) -> bool:
    # Every emulated booking is accepted or cancelled: nothing is pending or recurring.
    active = booking.status == "accepted"
    if status == "upcoming":
        return active and booking.end >= now
    if status == "past":
        return active and booking.end <= now
    if status == "cancelled":
        return booking.status == "cancelled"
    return False


@dataclass(frozen=True)
class BookingQuery:
    statuses: tuple[str, ...] = ()
    attendee_email: str | None = None
    attendee_name: str | None = None
    booking_uid: str | None = None
    event_type_ids: frozenset[int] | None = None
    after_start: datetime | None = None
    before_end: datetime | None = None
    after_created: datetime | None = None
    before_created: datetime | None = None
    sort_key: str = "sortStart"
    descending: bool = False
    take: int = DEFAULT_TAKE
    skip: int = 0

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> BookingQuery:
        """Read the query string; a bad value is a 400 naming the parameter."""
        statuses: tuple[str, ...] = ()
        if "status" in params:
            statuses = tuple(part.strip() for part in params["status"].split(","))
            if not all(statuses) or any(status not in STATUSES for status in statuses):
                raise bad_request(f"Invalid status. Allowed are {', '.join(STATUSES)}")
        ids: set[int] = set()
        for name in ("eventTypeId", "eventTypeIds"):
            if name in params:
                try:
                    ids.update(int(part) for part in params[name].split(","))
                except ValueError:
                    raise bad_request(f"{name} must be integers separated by commas") from None
        sort_key, descending = "sortStart", False
        for key in SORT_KEYS:
            if key in params:
                if params[key] not in ("asc", "desc"):
                    raise bad_request(f'{key} must be either "asc" or "desc".')
                sort_key, descending = key, params[key] == "desc"
                break
        email = params.get("attendeeEmail")
        return cls(
            statuses=statuses,
            # A "+" in an unencoded email arrives as a space; Cal.com puts it back.
            attendee_email="+".join(email.split()).lower() if email is not None else None,
            attendee_name=params.get("attendeeName"),
            booking_uid=params.get("bookingUid"),
            event_type_ids=frozenset(ids) if ids else None,
            after_start=_moment(params, "afterStart"),
            before_end=_moment(params, "beforeEnd"),
            after_created=_moment(params, "afterCreatedAt"),
            before_created=_moment(params, "beforeCreatedAt"),
            sort_key=sort_key,
            descending=descending,
            take=_integer(params, "take", 1, MAX_TAKE) or DEFAULT_TAKE,
            skip=_integer(params, "skip", 0, None) or 0,
        )

    def matches(self, booking: Booking, now: datetime) -> bool:
        checks = (
            not self.statuses or any(_status_matches(s, booking, now) for s in self.statuses),
            self.attendee_email is None or booking.attendee.email.lower() == self.attendee_email,
            self.attendee_name is None or booking.attendee.name == self.attendee_name,
            self.booking_uid is None or booking.uid == self.booking_uid,
            self.event_type_ids is None or booking.event_type.id in self.event_type_ids,
            self.after_start is None or booking.start >= self.after_start,
            self.before_end is None or booking.end <= self.before_end,
            self.after_created is None or booking.created_at >= self.after_created,
            self.before_created is None or booking.created_at <= self.before_created,
        )
        return all(checks)

    def select(self, bookings: list[Booking], now: datetime) -> tuple[list[Booking], int]:
        """The requested page of matching bookings, and how many match in all."""
        key = SORT_KEYS[self.sort_key]
        matching = sorted(
            (booking for booking in bookings if self.matches(booking, now)),
            key=lambda booking: (key(booking), booking.id),
            reverse=self.descending,
        )
        return matching[self.skip : self.skip + self.take], len(matching)

    def pagination(self, returned: int, total: int) -> dict[str, Any]:
        return {
            "totalItems": total,
            "remainingItems": max(total - self.skip - returned, 0),
            "returnedItems": returned,
            "itemsPerPage": self.take,
            "currentPage": self.skip // self.take + 1,
            "totalPages": math.ceil(total / self.take),
            "hasNextPage": self.skip + returned < total,
            "hasPreviousPage": self.skip > 0,
        }
