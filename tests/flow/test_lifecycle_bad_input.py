"""Bad input to the lifecycle endpoints is a 4xx problem naming the field; nothing is written."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest

from ledger import Booking
from projections.catalog_file import CatalogError, parse_catalog
from tests.support.lifecycle import MENTOR, assert_problem, book, events_of
from tests.support.stack import Stack


def test_bad_bodies_are_422_naming_the_field_and_record_nothing(stack: Stack) -> None:
    booking_id, _ = book(stack)
    before = len(events_of(stack, UUID(booking_id)))
    with stack.client() as client:
        naive = client.post(
            f"/api/bookings/{booking_id}/reschedule", json={"start": "2030-01-01T10:00:00"}
        )
        party = client.post(f"/api/bookings/{booking_id}/no-show", json={"party": "nobody"})
        extra = client.post(
            f"/api/bookings/{booking_id}/reschedule",
            json={"start": "2030-01-01T10:00:00Z", "price": 1},
        )
        unknown = client.post(
            f"/api/bookings/{uuid4()}/reschedule", json={"start": "2030-01-01T10:00:00Z"}
        )
    for response, field in ((naive, "start"), (party, "party"), (extra, "price")):
        body = assert_problem(response, 422)
        assert any(field in error["loc"] for error in body["errors"]), body
    assert_problem(unknown, 404)
    with stack.client("admin-1", "admin") as client:
        decision = client.post(
            f"/api/bookings/{booking_id}/no-show/decision", json={"decision": "maybe"}
        )
    body = assert_problem(decision, 422)
    assert {"decision", "reason"} <= {loc for e in body["errors"] for loc in e["loc"]}
    with stack.client(MENTOR, "mentor") as client:
        assert_problem(client.get("/api/admin/no-show-claims"), 403)
    after = events_of(stack, UUID(booking_id))
    assert len(after) == before
    assert not any(isinstance(e, Booking.Rescheduled | Booking.NoShowReported) for e in after)


@pytest.mark.parametrize(
    "policy",
    [
        {"late_cancel_refund_percent": 150},
        {"max_reschedules": -1},
        {"free_cancel_hours": "24"},
        {"surprise": 1},
    ],
)
def test_a_bad_policy_in_the_catalogue_loads_nothing(policy: dict[str, Any]) -> None:
    text = (
        "mentors: [{id: m, name: M, stripe_account_id: acct_1}]\n"
        "event_types: [{id: 1, mentor_id: m, title: T, duration_minutes: 30,"
        f" price: {{amount: 100, currency: usd}}, policy: {policy}}}]\n"
    )
    with pytest.raises(CatalogError):
        parse_catalog(text)


def test_the_openapi_document_shows_every_new_endpoint_with_its_errors(stack: Stack) -> None:
    with stack.client() as client:
        paths = client.get("/openapi.json").json()["paths"]
    expected = {
        ("/api/bookings/{booking_id}/reschedule", "post"): {"404", "409", "422", "503"},
        ("/api/bookings/{booking_id}/no-show", "post"): {"403", "404", "409", "422"},
        ("/api/bookings/{booking_id}/no-show/decision", "post"): {"403", "404", "409", "422"},
        ("/api/admin/no-show-claims", "get"): {"401", "403"},
        ("/api/mentors/me/earnings", "get"): {"401", "403"},
        ("/api/mentors/me/bookings", "get"): {"401", "403"},
    }
    for (path, method), codes in expected.items():
        assert codes <= set(paths[path][method]["responses"]), (path, method)
