"""Request and response bodies of the HTTP contract (README, "HTTP API")."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    model_validator,
)

# What the ledger and the databases can store: no NUL or other control characters (line
# breaks and tabs only in multi-line text) and no lone surrogates (not Unicode at all).
_MULTILINE_WHITESPACE = frozenset("\n\r\t")


def _storable(value: str, *, multiline: bool) -> str:
    for index, char in enumerate(value):
        category = unicodedata.category(char)
        if category == "Cs":
            raise ValueError(f"must be valid Unicode: lone surrogate at character {index}")
        if category == "Cc" and not (multiline and char in _MULTILINE_WHITESPACE):
            raise ValueError(f"must not contain control character U+{ord(char):04X} at {index}")
    return value


def single_line(value: str) -> str:
    return _storable(value, multiline=False)


def multi_line(value: str) -> str:
    return _storable(value, multiline=True)


Text = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, strip_whitespace=True),
    AfterValidator(single_line),
]
# Free text such as a cancellation reason: line breaks allowed, bounded.
LongText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=500, strip_whitespace=True),
    AfterValidator(multi_line),
]
StripeId = Annotated[
    str, StringConstraints(min_length=3, max_length=255, pattern=r"^[A-Za-z0-9_]+$")
]


def _iana_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {name!r}") from None
    return name


TimeZoneName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    AfterValidator(single_line),
    AfterValidator(_iana_zone),
]
# Cal.com ids are 32-bit; a bound also keeps an absurd number from reaching the database.
MAX_EVENT_TYPE_ID = 2**31 - 1
EventTypeId = Annotated[int, Field(gt=0, le=MAX_EVENT_TYPE_ID, strict=True)]


def _iso_text(value: object) -> object:
    # Lax mode would read a bare number as a Unix timestamp; the contract says ISO 8601 text.
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date-time string with a UTC offset")
    return value


IsoDatetime = Annotated[AwareDatetime, BeforeValidator(_iso_text)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


Email = Annotated[EmailStr, StringConstraints(max_length=254), AfterValidator(single_line)]


class Attendee(Strict):
    name: Text
    email: Email
    timeZone: TimeZoneName


class CheckoutSessionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    eventTypeId: EventTypeId
    start: IsoDatetime
    attendee: Attendee


class CheckoutSessionResponse(BaseModel):
    client_secret: str
    checkoutSessionId: str
    bookingId: str
    amount: int
    currency: str
    expiresAt: datetime


class ConfirmRequest(Strict):
    paymentIntentId: StripeId | None = None
    checkoutSessionId: StripeId | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ConfirmRequest:
        if (self.paymentIntentId is None) == (self.checkoutSessionId is None):
            raise ValueError("give exactly one of paymentIntentId and checkoutSessionId")
        return self


class ConfirmResponse(BaseModel):
    success: bool
    bookingId: str
    status: str
    error: str | None = None


class PaymentView(BaseModel):
    id: str
    paymentIntentId: str
    amount: int
    currency: str
    status: str
    amountRefunded: int
    paidAt: datetime


class NoShowState(BaseModel):
    party: str  # who did not show: attendee | mentor
    reportedBy: str  # user | mentor | admin
    outcome: str  # mentor_paid | claim_open (an admin decides) | refund | release


class BookingView(BaseModel):
    id: str
    status: str
    userId: str
    mentorId: str
    eventTypeId: int
    start: datetime
    end: datetime
    attendeeName: str
    attendeeEmail: str
    attendeeTimeZone: str
    amount: int
    currency: str
    checkoutSessionId: str
    calcomBookingUid: str | None
    failureReason: str | None
    createdAt: datetime
    payment: PaymentView | None = None
    noShow: NoShowState | None = None  # a recorded no-show and where its claim stands


class SlotView(BaseModel):
    start: datetime
    end: datetime
