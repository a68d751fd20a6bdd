"""The Cal.com gateway: every Cal.com API v2 call this project makes, over one httpx client.

Each endpoint is called with the ``cal-api-version`` it was written against, so a change of
Cal.com's default version cannot change the shapes we read. Nothing secret is logged: the
API key lives only in the client's default headers.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import suppress
from datetime import datetime
from typing import Any, Final
from urllib.parse import quote

import httpx

from processes.gateways import calcom_objects as objects
from processes.gateways.calcom_errors import (
    CalcomGatewayError,
    CalcomNotFound,
    CalcomRequestError,
    CalcomTransientError,
    CalcomUnexpectedResponse,
    SlotUnavailable,
    error_for_status,
)
from processes.gateways.calcom_objects import CalBooking, Reservation, Slot
from processes.gateways.timestamps import to_iso_utc
from processes.gateways.tls import shared_tls_context

__all__ = [
    "CalBooking",
    "CalcomGateway",
    "CalcomGatewayError",
    "CalcomNotFound",
    "CalcomRequestError",
    "CalcomTransientError",
    "CalcomUnexpectedResponse",
    "Reservation",
    "Slot",
    "SlotUnavailable",
]

log = logging.getLogger(__name__)

DEFAULT_API_BASE: Final = "https://api.cal.com"
SLOTS_API_VERSION: Final = "2024-09-04"  # GET /v2/slots and /v2/slots/reservations
BOOKINGS_API_VERSION: Final = "2024-08-13"  # /v2/bookings

# Cal.com's limits on booking metadata; checked here so a bad value fails before any call.
_METADATA_MAX_KEYS = 50
_METADATA_MAX_KEY = 40
_METADATA_MAX_VALUE = 500
_PAGE_SIZE = 100  # Cal.com allows take <= 250
_MAX_PAGES = 100  # a bound, so a server that never says "last page" cannot loop us forever
_ACTIVE_STATUSES = ("accepted", "pending")


def _check_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    if len(metadata) > _METADATA_MAX_KEYS:
        raise ValueError(f"Cal.com metadata takes at most {_METADATA_MAX_KEYS} keys")
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ValueError("Cal.com metadata keys and values must be strings")
        if len(key) > _METADATA_MAX_KEY or len(value) > _METADATA_MAX_VALUE:
            raise ValueError(
                f"Cal.com metadata key {key!r}: keys take at most {_METADATA_MAX_KEY} "
                f"characters, values at most {_METADATA_MAX_VALUE}"
            )
    return dict(metadata)


class CalcomGateway:
    def __init__(self, api_key: str, api_base: str | None = None, *, timeout: float = 10) -> None:
        base = (api_base or DEFAULT_API_BASE).rstrip("/")
        self._client = httpx.Client(
            base_url=f"{base}/v2",
            headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
            timeout=timeout,
            verify=shared_tls_context(),
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> CalcomGateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- slots ----------------------------------------------------------------------------

    def get_slots(
        self, event_type_id: int, start: datetime, end: datetime, time_zone: str
    ) -> list[Slot]:
        """Free slots of an event type between two instants, earliest first (times in UTC;
        ``time_zone`` only decides how Cal.com groups them into days)."""
        data = self._call(
            "GET",
            "/slots",
            version=SLOTS_API_VERSION,
            params={
                "eventTypeId": event_type_id,
                "start": to_iso_utc(start, "start"),
                "end": to_iso_utc(end, "end"),
                "timeZone": time_zone,
                "format": "range",
            },
        )
        return objects.slots(data)

    def reserve_slot(
        self,
        event_type_id: int,
        slot_start: datetime,
        duration_minutes: int | None = None,
        reservation_minutes: int | None = None,
    ) -> Reservation:
        """Hold a slot while the customer pays.

        ``duration_minutes`` is for variable-length event types only: Cal.com refuses
        ``slotDuration`` on a fixed-length one, whose own length it uses.
        ``reservation_minutes`` (Cal.com's default is 5) needs the event owner's API key.
        """
        body: dict[str, Any] = {
            "eventTypeId": event_type_id,
            "slotStart": to_iso_utc(slot_start, "slot_start"),
        }
        if duration_minutes is not None:
            body["slotDuration"] = duration_minutes
        if reservation_minutes is not None:
            body["reservationDuration"] = reservation_minutes
        data = self._call(
            "POST", "/slots/reservations", version=SLOTS_API_VERSION, json=body, reserving=True
        )
        return objects.reservation(data)

    def release_reservation(self, uid: str) -> None:
        """Let a held slot go; a reservation that is already gone is fine."""
        with suppress(CalcomNotFound):
            self._call(
                "DELETE", f"/slots/reservations/{quote(uid, safe='')}", version=SLOTS_API_VERSION
            )

    # --- bookings -------------------------------------------------------------------------

    def create_booking(
        self,
        *,
        event_type_id: int,
        start: datetime,
        attendee_name: str,
        attendee_email: str,
        attendee_time_zone: str,
        metadata: Mapping[str, str],
        reserved_slot_uid: str | None,
        length_minutes: int | None = None,
    ) -> CalBooking:
        """Book the slot. Cal.com has no idempotency key: after a transient error, call
        ``find_booking`` (our id is in ``metadata``) before creating again.

        ``length_minutes`` is for variable-length event types only: Cal.com refuses
        ``lengthInMinutes`` on a fixed-length one.
        """
        body: dict[str, Any] = {
            "start": to_iso_utc(start, "start"),
            "eventTypeId": event_type_id,
            "attendee": {
                "name": attendee_name,
                "email": attendee_email,
                "timeZone": attendee_time_zone,
            },
            "metadata": _check_metadata(metadata),
        }
        if reserved_slot_uid is not None:
            body["reservedSlotUid"] = reserved_slot_uid
        if length_minutes is not None:
            body["lengthInMinutes"] = length_minutes
        data = self._call("POST", "/bookings", version=BOOKINGS_API_VERSION, json=body)
        return objects.booking(data)

    def find_booking(
        self, *, event_type_id: int, attendee_email: str, metadata_key: str, metadata_value: str
    ) -> CalBooking | None:
        """The booking an earlier attempt made, found by our metadata; an active one
        (accepted or pending) is preferred to a cancelled or rejected one."""
        fallback: CalBooking | None = None
        for page in range(_MAX_PAGES):
            data, pagination = self._call_with_pagination(
                "/bookings",
                params={
                    "eventTypeId": event_type_id,
                    "attendeeEmail": attendee_email,
                    "take": _PAGE_SIZE,
                    "skip": page * _PAGE_SIZE,
                },
            )
            if not isinstance(data, list):
                raise CalcomUnexpectedResponse("Cal.com bookings list is not a list")
            for item in data:
                if not isinstance(item, Mapping):
                    continue
                if str((item.get("metadata") or {}).get(metadata_key)) != metadata_value:
                    continue
                found = objects.booking(item)
                if found.status in _ACTIVE_STATUSES:
                    return found
                fallback = fallback or found
            if not _has_next_page(pagination, len(data)):
                break
        return fallback

    def get_booking(self, uid: str) -> CalBooking:
        """One booking by uid; ``CalcomNotFound`` if there is none."""
        data = self._call("GET", f"/bookings/{quote(uid, safe='')}", version=BOOKINGS_API_VERSION)
        return objects.booking(data)

    def reschedule_booking(
        self, uid: str, *, start: datetime, reason: str, rescheduled_by: str | None = None
    ) -> CalBooking:
        """Move a booking (written against ``cal-api-version`` 2024-08-13; 2026-02-25 takes
        the same body). Cal.com makes a *new* booking with a new uid and cancels the old one,
        which then names the new one (``rescheduled_to_uid``): after a lost answer, read the
        old booking to find where it went. A cancelled booking is refused (400)."""
        body: dict[str, Any] = {"start": to_iso_utc(start, "start"), "reschedulingReason": reason}
        if rescheduled_by is not None:
            body["rescheduledBy"] = rescheduled_by
        data = self._call(
            "POST",
            f"/bookings/{quote(uid, safe='')}/reschedule",
            version=BOOKINGS_API_VERSION,
            json=body,
        )
        return objects.booking(data)

    def cancel_booking(self, uid: str, reason: str) -> CalBooking:
        """Cancel a booking; one that is already cancelled is returned as it is."""
        try:
            data = self._call(
                "POST",
                f"/bookings/{quote(uid, safe='')}/cancel",
                version=BOOKINGS_API_VERSION,
                json={"cancellationReason": reason},
            )
        except CalcomRequestError as refused:
            if isinstance(refused, CalcomNotFound):
                raise
            # Cal.com refuses to cancel twice; the booking's end state is the answer.
            current = self.get_booking(uid)
            if current.status != "cancelled":
                raise
            return current
        return objects.booking(data)

    # --- transport ------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        version: str,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        reserving: bool = False,
    ) -> Any:
        """The ``data`` of Cal.com's success envelope, or a typed error."""
        body = self._send(
            method, path, version=version, params=params, json=json, reserving=reserving
        )
        return body.get("data")

    def _call_with_pagination(
        self, path: str, *, params: Mapping[str, Any]
    ) -> tuple[Any, Mapping[str, Any] | None]:
        body = self._send("GET", path, version=BOOKINGS_API_VERSION, params=params)
        pagination = body.get("pagination")
        return body.get("data"), pagination if isinstance(pagination, Mapping) else None

    def _send(
        self,
        method: str,
        path: str,
        *,
        version: str,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        reserving: bool = False,
    ) -> Mapping[str, Any]:
        try:
            response = self._client.request(
                method, path, params=params, json=json, headers={"cal-api-version": version}
            )
        except httpx.TimeoutException as error:
            log.warning("Cal.com %s %s timed out", method, path)
            raise CalcomTransientError(f"Cal.com {method} {path} timed out") from error
        except httpx.TransportError as error:
            log.warning("Cal.com %s %s failed: %s", method, path, type(error).__name__)
            raise CalcomTransientError(
                f"Cal.com {method} {path} failed: {type(error).__name__}"
            ) from error
        if not response.is_success:
            failure = error_for_status(response, reserving=reserving)
            log.info("Cal.com %s %s -> %s %s", method, path, response.status_code, failure.message)
            raise failure
        if response.status_code == 204 or not response.content:
            return {}
        try:
            body = response.json()
        except ValueError as error:
            raise CalcomUnexpectedResponse(f"Cal.com {method} {path}: body is not JSON") from error
        if not isinstance(body, Mapping):
            raise CalcomUnexpectedResponse(f"Cal.com {method} {path}: body is not an object")
        return body


def _has_next_page(pagination: Mapping[str, Any] | None, returned: int) -> bool:
    if pagination is not None and "hasNextPage" in pagination:
        return bool(pagination["hasNextPage"])
    return returned >= _PAGE_SIZE
