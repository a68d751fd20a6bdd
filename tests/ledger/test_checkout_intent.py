"""The checkout intent: recorded before any side effect, idempotent, fixed by its first
recording, typed refusals, and no money moved."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest

from ledger import (
    ConflictingRecord,
    InvalidTransition,
    Ledger,
    LedgerValidationError,
    Money,
    postings_for,
)
from tests.support.ledger_factories import T0, booking_fields


def intent_fields(**overrides: Any) -> dict[str, Any]:
    fields = booking_fields()
    del fields["checkout_session_id"], fields["reservation_uid"]
    fields |= {"product_name": "30-minute mentoring", "return_url": "https://x.test/r"}
    fields.update(overrides)
    return fields


def test_the_first_recording_fixes_price_and_expiry_and_a_repeat_returns_it(
    ledger: Ledger,
) -> None:
    fields = intent_fields()
    first = ledger.record_checkout_intent(**fields)
    again = ledger.record_checkout_intent(
        **fields | {"expires_at": T0 + timedelta(hours=1), "price": Money(9900, "usd")}
    )
    assert again.id == first.id
    assert again.expires_at == fields["expires_at"]
    assert again.price == fields["price"]
    assert ledger.checkout_intent(fields["booking_id"]) is not None
    assert ledger.checkout_intent(uuid4()) is None


def test_another_request_under_the_same_id_is_a_conflict(ledger: Ledger) -> None:
    fields = intent_fields()
    ledger.record_checkout_intent(**fields)
    with pytest.raises(ConflictingRecord):
        ledger.record_checkout_intent(**fields | {"attendee_name": "Someone Else"})


def test_bad_input_is_refused_before_anything_is_recorded(ledger: Ledger) -> None:
    fields = intent_fields(attendee_email="not an email")
    with pytest.raises(LedgerValidationError):
        ledger.record_checkout_intent(**fields)
    assert ledger.checkout_intent(fields["booking_id"]) is None


def test_the_first_hold_wins_and_an_abandoned_intent_takes_no_more(ledger: Ledger) -> None:
    booking_id = intent_fields()["booking_id"]
    ledger.record_checkout_intent(**intent_fields(booking_id=booking_id))
    assert (
        ledger.record_checkout_hold(booking_id=booking_id, reservation_uid="r1").reservation_uid
        == "r1"
    )
    assert (
        ledger.record_checkout_hold(booking_id=booking_id, reservation_uid="r2").reservation_uid
        == "r1"
    )
    rescheduled = ledger.reschedule_checkout(
        booking_id=booking_id, expires_at=T0 + timedelta(hours=2)
    )
    assert rescheduled.stripe_idempotency_key == f"checkout:{booking_id}:1"
    ledger.abandon_checkout(booking_id=booking_id, reason="gave up")
    ledger.abandon_checkout(booking_id=booking_id, reason="again")  # a repeat: no-op
    assert ledger.checkout_intent(booking_id).abandoned_reason == "gave up"  # type: ignore[union-attr]
    with pytest.raises(InvalidTransition):
        ledger.reschedule_checkout(booking_id=booking_id, expires_at=T0 + timedelta(hours=3))


def test_intent_events_post_nothing(ledger: Ledger) -> None:
    booking_id = intent_fields()["booking_id"]
    ledger.record_checkout_intent(**intent_fields(booking_id=booking_id))
    ledger.record_checkout_hold(booking_id=booking_id, reservation_uid="r1")
    ledger.abandon_checkout(booking_id=booking_id, reason="gave up")
    notifications = ledger.notification_log.select(start=1, limit=10)
    events = [ledger.mapper.to_domain_event(n) for n in notifications]
    assert [type(e).TOPIC for e in events] == [
        "mentorpay.CheckoutIntent.Recorded",
        "mentorpay.CheckoutIntent.SlotHeld",
        "mentorpay.CheckoutIntent.Abandoned",
    ]
    assert all(postings_for(e) == () for e in events)
