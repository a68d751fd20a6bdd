"""Request bodies of the emulated Cal.com v2 endpoints, validated as strictly as Cal.com does."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
)

from sandbox.calcom.times import load_zone, parse_instant

# Cal.com's BookingLanguage enum (cal-api-version 2024-08-13).
_LANGUAGE_CODES = (
    "ar ca de es eu he id ja lv pl ro sr th vi az cs el es-419 fi hr it km nl pt ru sv tr "
    "zh-CN bg da en et fr hu iw ko no pt-BR sk ta uk zh-TW bn"
)
LANGUAGES = frozenset(_LANGUAGE_CODES.split(" "))

METADATA_MAX_KEYS = 50
METADATA_MAX_KEY_LENGTH = 40
METADATA_MAX_VALUE_LENGTH = 500
METADATA_MESSAGE = (
    "metadata must be an object with up to 50 keys, each key name up to 40 characters, "
    "and values with a maximum length of 500 characters."
)

MetadataValue = StrictStr | StrictBool | StrictInt | StrictFloat
EventTypeId = Annotated[StrictInt, Field(ge=1)]
Minutes = Annotated[StrictInt, Field(ge=1, le=24 * 60)]


def _instant(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date-time string in UTC")
    return parse_instant(value)


def _zone_name(value: str) -> str:
    load_zone(value)
    return value


class ReservationIn(BaseModel):
    """Body of POST and PATCH /v2/slots/reservations (cal-api-version 2024-09-04)."""

    model_config = ConfigDict(extra="ignore")

    eventTypeId: EventTypeId
    slotStart: datetime
    slotDuration: Minutes | None = None
    # Minutes held; only the event type's owner may set it (see sandbox/README.md).
    reservationDuration: Minutes | None = None

    _slot_start = field_validator("slotStart", mode="before")(_instant)


class AttendeeIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    email: EmailStr
    timeZone: StrictStr
    phoneNumber: Annotated[StrictStr, Field(pattern=r"^\+[1-9]\d{6,14}$")] | None = None
    language: StrictStr | None = None

    _zone = field_validator("timeZone")(_zone_name)

    @field_validator("name")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str | None) -> str | None:
        if value is not None and value not in LANGUAGES:
            raise ValueError(f"must be one of: {', '.join(sorted(LANGUAGES))}")
        return value


class BookingIn(BaseModel):
    """Body of POST /v2/bookings (cal-api-version 2024-08-13)."""

    model_config = ConfigDict(extra="ignore")

    start: datetime
    eventTypeId: EventTypeId
    attendee: AttendeeIn
    guests: Annotated[list[EmailStr], Field(max_length=30)] | None = None
    metadata: dict[str, MetadataValue] | None = None
    reservedSlotUid: Annotated[StrictStr, Field(min_length=1, max_length=200)] | None = None
    lengthInMinutes: Minutes | None = None

    _start = field_validator("start", mode="before")(_instant)

    @field_validator("metadata", mode="before")
    @classmethod
    def _metadata_limits(cls, value: Any) -> Any:
        if value is None:
            return value
        if not isinstance(value, dict) or len(value) > METADATA_MAX_KEYS:
            raise ValueError(METADATA_MESSAGE)
        for key, item in value.items():
            if len(key) > METADATA_MAX_KEY_LENGTH:
                raise ValueError(METADATA_MESSAGE)
            if isinstance(item, str) and len(item) > METADATA_MAX_VALUE_LENGTH:
                raise ValueError(METADATA_MESSAGE)
            if not isinstance(item, str | int | float | bool):
                raise ValueError(METADATA_MESSAGE)
        return value


class CancelIn(BaseModel):
    """Body of POST /v2/bookings/{uid}/cancel; the body itself may be left out."""

    model_config = ConfigDict(extra="ignore")

    cancellationReason: Annotated[StrictStr, Field(max_length=1000)] | None = None


class RescheduleIn(BaseModel):
    """Body of POST /v2/bookings/{uid}/reschedule (cal-api-version 2024-08-13)."""

    model_config = ConfigDict(extra="ignore")

    start: datetime
    reschedulingReason: Annotated[StrictStr, Field(max_length=1000)] | None = None
    rescheduledBy: EmailStr | None = None

    _start = field_validator("start", mode="before")(_instant)
