"""The Cal.com v2 emulator: slots, slot reservations and bookings, plus its sandbox controls."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response

from sandbox.calcom.envelopes import bad_request, not_found, success
from sandbox.calcom.event_types import EventTypeIn, event_type_view
from sandbox.calcom.models import BookingIn, CancelIn, RescheduleIn, ReservationIn
from sandbox.calcom.queries import BookingQuery
from sandbox.calcom.records import Attendee
from sandbox.calcom.routing import calcom_route_class
from sandbox.calcom.store import CalcomStore, NewBooking
from sandbox.calcom.times import load_zone, parse_range_bound
from sandbox.calcom.views import booking_view, reservation_view, slots_view
from sandbox.clock import SandboxClock

_ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def _required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if value is None or not value.strip():
        raise bad_request(f"Missing '{name}' query parameter")
    return value.strip()


def _positive_int(raw: str, name: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise bad_request(f"'{name}' must be a positive integer")
    return value


def _range_bound(params: Mapping[str, str], name: str) -> datetime:
    try:
        return parse_range_bound(_required(params, name), end=name == "end")
    except ValueError as error:
        raise bad_request(f"Invalid {name} date: {error}") from None


class CalcomEmulator:
    """Cal.com's API v2 as this project calls it, on the sandbox's clock; thread-safe."""

    def __init__(self, clock: SandboxClock, api_key: str | None = None) -> None:
        # api_key None accepts any ``cal_...`` key; a value accepts exactly that key.
        self._clock = clock
        self._api_key = api_key
        self.store = CalcomStore(clock)

    def reset(self) -> None:
        self.store.reset()

    def router(self) -> APIRouter:
        router = APIRouter(route_class=calcom_route_class(self._clock.now, self._api_key))
        self._add_slot_routes(router)
        self._add_booking_routes(router)
        # Cal.com answers unknown /v2 routes with a 404 envelope (NestJS: "Cannot GET ...").
        fallback = APIRouter(
            route_class=calcom_route_class(self._clock.now, self._api_key, guarded=False)
        )

        @fallback.api_route("/v2/{rest:path}", methods=_ALL_METHODS, include_in_schema=False)
        def unknown_route(request: Request) -> None:
            raise not_found(f"Cannot {request.method} {request.url.path}")

        router.include_router(fallback)
        return router

    def _add_slot_routes(self, router: APIRouter) -> None:
        store = self.store

        @router.get("/v2/slots")
        def get_slots(request: Request) -> dict[str, Any]:
            params = request.query_params
            event_type_id = _positive_int(_required(params, "eventTypeId"), "eventTypeId")
            start, end = _range_bound(params, "start"), _range_bound(params, "end")
            if end < start:
                raise bad_request(
                    "Invalid time range given - check the 'start' and 'end' query parameters."
                )
            zone_name = params.get("timeZone") or "UTC"
            try:
                zone = load_zone(zone_name)
            except ValueError as error:
                raise bad_request(f"Invalid timeZone: {error}") from None
            duration = params.get("duration")
            slot_format = params.get("format") or params.get("slotFormat") or "time"
            if slot_format not in ("time", "range"):
                raise bad_request("format must be one of: time, range")
            event_type, starts = store.free_slots(
                event_type_id,
                start,
                end,
                _positive_int(duration, "duration") if duration is not None else None,
            )
            length = timedelta(minutes=event_type.length_minutes)
            return success(slots_view(starts, zone, length, with_end=slot_format == "range"))

        @router.post("/v2/slots/reservations", status_code=201)
        def reserve_slot(body: ReservationIn) -> dict[str, Any]:
            reservation = store.reserve(
                body.eventTypeId, body.slotStart, body.slotDuration, body.reservationDuration
            )
            return success(reservation_view(reservation))

        @router.get("/v2/slots/reservations/{uid}")
        def get_reservation(uid: str) -> dict[str, Any]:
            # Cal.com answers an unknown (or lapsed and cleaned up) reservation with data: null.
            reservation = store.reservation(uid)
            return success(reservation_view(reservation, with_hold=False) if reservation else None)

        @router.patch("/v2/slots/reservations/{uid}")
        def update_reservation(uid: str, body: ReservationIn) -> dict[str, Any]:
            reservation = store.update_reservation(
                uid, body.eventTypeId, body.slotStart, body.slotDuration, body.reservationDuration
            )
            return success(reservation_view(reservation))

        @router.delete("/v2/slots/reservations/{uid}")
        def delete_reservation(uid: str) -> dict[str, Any]:
            store.release(uid)
            return {"status": "success"}

    def _add_booking_routes(self, router: APIRouter) -> None:
        store = self.store

        @router.post("/v2/bookings", status_code=201)
        def create_booking(body: BookingIn) -> dict[str, Any]:
            attendee = Attendee(
                name=body.attendee.name,
                email=str(body.attendee.email),
                time_zone=body.attendee.timeZone,
                language=body.attendee.language or "en",
                phone_number=body.attendee.phoneNumber,
            )
            booking = store.book(
                NewBooking(
                    event_type_id=body.eventTypeId,
                    start=body.start,
                    attendee=attendee,
                    guests=tuple(str(guest) for guest in body.guests or ()),
                    metadata=body.metadata,
                    reserved_slot_uid=body.reservedSlotUid,
                    length_minutes=body.lengthInMinutes,
                )
            )
            return success(booking_view(booking))

        @router.get("/v2/bookings")
        def list_bookings(request: Request) -> dict[str, Any]:
            query = BookingQuery.parse(request.query_params)
            page, total = query.select(store.bookings(), store.now())
            return success(
                [booking_view(booking) for booking in page],
                pagination=query.pagination(len(page), total),
            )

        @router.get("/v2/bookings/{uid}")
        def get_booking(uid: str) -> dict[str, Any]:
            return success(booking_view(store.booking(uid)))

        @router.post("/v2/bookings/{uid}/reschedule", status_code=201)
        def reschedule_booking(uid: str, body: RescheduleIn) -> dict[str, Any]:
            by = str(body.rescheduledBy) if body.rescheduledBy else None
            return success(
                booking_view(store.reschedule(uid, body.start, body.reschedulingReason, by))
            )

        @router.post("/v2/bookings/{uid}/cancel")
        def cancel_booking(uid: str, body: CancelIn | None = None) -> dict[str, Any]:
            reason = body.cancellationReason if body else None
            return success(booking_view(store.cancel(uid, reason)))

    def controls_router(self) -> APIRouter:
        """Test-only controls; the sandbox mounts them under ``/_sandbox``."""
        router = APIRouter(prefix="/calcom", tags=["sandbox controls"])
        store = self.store

        @router.post("/event-types", status_code=201)
        def put_event_type(body: EventTypeIn, response: Response) -> dict[str, Any]:
            """Add (201) or replace (200) a bookable event type."""
            event_type = body.to_event_type()
            if not store.put_event_type(event_type):
                response.status_code = 200
            return event_type_view(event_type)

        @router.get("/event-types")
        def list_event_types() -> dict[str, Any]:
            return {"eventTypes": [event_type_view(each) for each in store.event_types()]}

        @router.get("/bookings")
        def everything() -> dict[str, Any]:
            """Every booking (cancelled too) and every live reservation."""
            return {
                "bookings": [booking_view(booking) for booking in store.bookings()],
                "reservations": [reservation_view(held) for held in store.reservations()],
            }

        return router
