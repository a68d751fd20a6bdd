"""Cal.com failures as typed outcomes, classified from status code and Cal.com's error envelope."""

from __future__ import annotations

from typing import Any

import httpx


class CalcomGatewayError(Exception):
    """Base of every Cal.com outcome that is not a result."""

    retryable: bool = False

    def __init__(
        self, message: str, *, http_status: int | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.code = code


class CalcomTransientError(CalcomGatewayError):
    """Network error, timeout, 5xx or 429. A create may still have happened: look the booking up
    (``find_booking``) before trying again, since Cal.com has no idempotency key."""

    retryable = True


class SlotUnavailable(CalcomGatewayError):
    """The slot is booked, reserved by someone else, in the past or outside the booking window:
    final for this slot."""


class CalcomRequestError(CalcomGatewayError):
    """Any other refusal (4xx): a bug or bad data, final."""


class CalcomNotFound(CalcomRequestError):
    """404: the booking or reservation does not exist (for this API key)."""


class CalcomUnexpectedResponse(CalcomRequestError):
    """A success status with a body this code cannot read (API drift or a bug)."""


# How Cal.com words "that time is not bookable" (bookings 2024-08-13 and slots 2024-09-04);
# the status alone cannot tell it from a malformed request, so match the message too.
_SLOT_GONE_PHRASES = (
    "already has booking",  # "User either already has booking at this time or is not available"
    "is not available",
    "reserved",  # "Someone else reserved this booking time slot" / "already reserved by another"
    "already booked",  # "Can't reserve a slot if the event is already booked."
    "no more seats",
    "booking_time_out_of_bounds",
    "can't be booked at the",  # out of the booking window / minimum notice
    "in the past",
    "no_available_users_found",
)
_SLOT_GONE_STATUSES = (400, 409, 422)
_TRANSIENT_STATUSES = (408, 425, 429)


def _envelope(response: httpx.Response) -> tuple[str | None, str]:
    """Cal.com's ``{"status": "error", "error": {"code", "message"}}``, or the raw text."""
    try:
        body: Any = response.json()
    except ValueError:
        return None, response.text[:500] or response.reason_phrase
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        message = error.get("message")
        return error.get("code"), str(message) if message is not None else response.reason_phrase
    if isinstance(body, dict) and body.get("message"):
        return None, str(body["message"])
    return None, response.reason_phrase


def error_for_status(response: httpx.Response, *, reserving: bool = False) -> CalcomGatewayError:
    """The typed outcome for a non-2xx Cal.com response.

    ``reserving``: the call was ``POST /v2/slots/reservations``, where Cal.com answers 422
    only when the slot cannot be held (booked, held by someone else, no seats left).
    """
    status = response.status_code
    code, message = _envelope(response)
    context: dict[str, Any] = {"http_status": status, "code": code}
    if status >= 500 or status in _TRANSIENT_STATUSES:
        return CalcomTransientError(message, **context)
    lowered = message.lower()
    if status in _SLOT_GONE_STATUSES and any(p in lowered for p in _SLOT_GONE_PHRASES):
        return SlotUnavailable(message, **context)
    if reserving and status == 422:
        return SlotUnavailable(message, **context)
    if status == 404:
        return CalcomNotFound(message, **context)
    return CalcomRequestError(message, **context)
