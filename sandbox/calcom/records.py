"""What the Cal.com emulator remembers: hosts, slot reservations and bookings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sandbox.calcom.event_types import EventType, slugify

BookingStatus = Literal["accepted", "cancelled"]
MetadataValue = str | int | float | bool


@dataclass(frozen=True)
class Host:
    id: int
    name: str

    @property
    def username(self) -> str:
        return slugify(self.name)

    @property
    def email(self) -> str:
        return f"{self.username}@example.com"


@dataclass(frozen=True)
class Attendee:
    name: str
    email: str
    time_zone: str
    language: str
    phone_number: str | None = None


@dataclass
class Reservation:
    """A hold on a slot of one event type until ``until``; it lapses by the sandbox clock."""

    uid: str
    event_type_id: int
    start: datetime
    end: datetime
    hold_minutes: int
    until: datetime

    def live(self, now: datetime) -> bool:
        return now < self.until

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start < end and start < self.end


@dataclass
class Booking:
    id: int
    uid: str
    event_type: EventType
    host: Host
    start: datetime
    end: datetime
    attendee: Attendee
    guests: tuple[str, ...]
    metadata: dict[str, MetadataValue]
    created_at: datetime
    updated_at: datetime
    status: BookingStatus = "accepted"
    cancellation_reason: str | None = None
    # Rescheduling makes a new booking: the old one points to it, the new one back.
    rescheduled_from_uid: str | None = None
    rescheduled_to_uid: str | None = None
    rescheduling_reason: str | None = None
    rescheduled_by: str | None = None

    @property
    def title(self) -> str:
        # Cal.com's default event name: "{Event type title} between {host} and {attendee}".
        return f"{self.event_type.title} between {self.host.name} and {self.attendee.name}"

    @property
    def duration_minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)

    def blocks(self, host_name: str, start: datetime, end: datetime) -> bool:
        """Whether this booking keeps ``host_name`` busy for any part of [start, end)."""
        return (
            self.status == "accepted"
            and self.host.name == host_name
            and self.start < end
            and start < self.end
        )
