"""Free slots of an event type, as Cal.com offers them."""

from __future__ import annotations

from datetime import datetime

from processes.gateways.calcom_errors import CalcomGatewayError, CalcomNotFound
from processes.gateways.calcom_gateway import CalcomGateway
from processes.gateways.calcom_objects import Slot
from processes.services.errors import NotFound, UpstreamUnavailable
from projections.catalog import Catalog


class SlotService:
    def __init__(self, catalog: Catalog, calcom: CalcomGateway) -> None:
        self._catalog = catalog
        self._calcom = calcom

    def free_slots(
        self, event_type_id: int, start: datetime, end: datetime, time_zone: str
    ) -> list[Slot]:
        """The slots between ``start`` and ``end``; ``NotFound`` for an event type we do not
        sell, ``UpstreamUnavailable`` when Cal.com cannot answer."""
        if self._catalog.event_type(event_type_id) is None:
            raise NotFound(f"unknown event type {event_type_id}")
        try:
            return self._calcom.get_slots(event_type_id, start, end, time_zone)
        except CalcomNotFound:
            raise NotFound(f"unknown event type {event_type_id}") from None
        except CalcomGatewayError as error:
            raise CalendarUnavailable(str(error)) from None


class CalendarUnavailable(UpstreamUnavailable):
    title = "Calendar unavailable"
