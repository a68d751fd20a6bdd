"""Stripe events: a snapshot of an object at a change, kept for ``/v1/events`` and published
to the webhook dispatcher (which delivers them later, on its own thread)."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sandbox.clock import SandboxClock
from sandbox.stripe import objects
from sandbox.stripe.errors import param_error
from sandbox.stripe.ids import new_id
from sandbox.stripe.listing import paginate
from sandbox.stripe.params import EventList
from sandbox.stripe.store import Store, snapshot

# The API version of the official SDK this project pins (stripe 16.x); events are rendered in it.
API_VERSION = "2026-10-28.endive"

JSON = dict[str, Any]


@dataclass(frozen=True)
class RequestRef:
    """The API request that caused an event (null for the customer's and the clock's doing)."""

    id: str | None = None
    idempotency_key: str | None = None


current_request: ContextVar[RequestRef | None] = ContextVar("stripe_sandbox_request", default=None)


class EventLog:
    def __init__(self, store: Store, clock: SandboxClock, publish: Callable[[JSON], None]) -> None:
        self._store = store
        self._clock = clock
        self._publish = publish

    def emit(self, type_: str, obj: JSON, previous_attributes: JSON | None = None) -> JSON:
        request = current_request.get() or RequestRef()
        event = objects.event(
            event_id=new_id("evt_"),
            type_=type_,
            created=self._clock.timestamp(),
            api_version=API_VERSION,
            data_object=snapshot(obj),
            previous_attributes=snapshot(previous_attributes) if previous_attributes else None,
            request_id=request.id,
            idempotency_key=request.idempotency_key,
        )
        self._publish(event)  # sets pending_webhooks to the number of deliveries queued
        return self._store.add(event)

    def event(self, event_id: str) -> JSON:
        return self._store.get("event", event_id, param="id")

    def list_events(self, p: EventList) -> JSON:
        if p.type and p.types:
            raise param_error(
                "You may only specify one of these parameters: type, types.",
                "type",
                code="parameters_exclusive",
            )
        events = [
            e
            for e in self._store.all("event")
            if (p.type is None or fnmatch.fnmatchcase(e["type"], p.type))
            and (p.types is None or e["type"] in p.types)
        ]
        return paginate(events, p, url="/v1/events", kind="event")
