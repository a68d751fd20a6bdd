"""Booking commands: the status flow, idempotent repeats, refusals, payment dispositions."""

from __future__ import annotations

from datetime import UTC, timedelta, timezone

import pytest

from ledger import (
    Booking,
    BookingNotFound,
    BookingStatus,
    ConflictingRecord,
    Disposition,
    InvalidTransition,
    Ledger,
    Money,
    PaymentStatus,
)
from tests.support.ledger_factories import (
    PRICE,
    T0,
    accepted_booking,
    booking_fields,
    paid_booking,
    pay,
    position,
    request_booking,
    stored_topics,
)


def test_request_records_the_booking_awaiting_payment(ledger: Ledger) -> None:
    berlin = timezone(timedelta(hours=1))
    fields = booking_fields(
        attendee_email="Grace@EXAMPLE.com", start=T0.astimezone(berlin), end=T0 + timedelta(hours=1)
    )
    booking = ledger.request_booking(**fields)

    stored = ledger.get_booking(fields["booking_id"])
    assert stored.status == BookingStatus.AWAITING_PAYMENT == "AWAITING_PAYMENT"
    assert stored.version == booking.version == 1
    assert stored.price == PRICE
    assert stored.platform_fee == Money(750, "usd")
    assert stored.request.attendee_email == "Grace@example.com"  # domain part normalised
    assert stored.request.start == T0 and stored.request.start.tzinfo == UTC
    assert ledger.payment_id_for_booking(fields["booking_id"]) is None


def test_requesting_again_with_the_same_data_is_a_no_op(ledger: Ledger) -> None:
    fields = booking_fields()
    ledger.request_booking(**fields)
    before = position(ledger)
    again = ledger.request_booking(**fields)
    assert position(ledger) == before
    assert again.version == 1


def test_requesting_again_with_other_data_is_a_conflict(ledger: Ledger) -> None:
    fields = booking_fields()
    ledger.request_booking(**fields)
    before = position(ledger)
    with pytest.raises(ConflictingRecord):
        ledger.request_booking(**{**fields, "price": Money(9900, "usd")})
    assert position(ledger) == before


def test_a_payment_of_the_price_confirms_the_booking(ledger: Ledger) -> None:
    booking_id = request_booking(ledger)
    before = position(ledger)
    recorded = pay(ledger, booking_id, pi="pi_1")

    assert recorded.disposition == Disposition.ACCEPTED and recorded.newly_recorded
    booking = ledger.get_booking(booking_id)
    assert booking.status == BookingStatus.PENDING
    assert booking.payment_id == recorded.payment_id == ledger.payment_id_for_booking(booking_id)
    assert booking.payment_intent_id == "pi_1"
    payment = ledger.get_payment(recorded.payment_id)
    assert payment.status == PaymentStatus.SUCCEEDED
    assert (payment.amount, payment.currency, payment.booking_id) == (7500, "usd", booking_id)
    assert ledger.payment_for_intent("pi_1") is not None
    assert stored_topics(ledger, after=before) == [
        "mentorpay.Payment.Paid",
        "mentorpay.Booking.PaymentConfirmed",
        "mentorpay.Booking.PolicyFixed",  # the event type's policy, fixed with the payment
    ]


def test_the_same_payment_intent_is_recorded_once(ledger: Ledger) -> None:
    booking_id = request_booking(ledger)
    first = pay(ledger, booking_id, pi="pi_1")
    before = position(ledger)
    again = pay(ledger, booking_id, pi="pi_1", paid_at=T0 + timedelta(seconds=3))
    assert again.payment_id == first.payment_id
    assert again.disposition == Disposition.ACCEPTED
    assert not again.newly_recorded
    assert position(ledger) == before


def test_the_same_payment_intent_with_other_facts_is_a_conflict(ledger: Ledger) -> None:
    booking_id = request_booking(ledger)
    pay(ledger, booking_id, pi="pi_1")
    with pytest.raises(ConflictingRecord):
        pay(ledger, booking_id, pi="pi_1", amount=Money(100, "usd"))


def test_a_second_payment_for_a_paid_booking_is_a_duplicate(ledger: Ledger) -> None:
    booking_id, first = paid_booking(ledger)
    second = pay(ledger, booking_id, pi="pi_2")
    assert second.disposition == Disposition.DUPLICATE
    assert ledger.get_booking(booking_id).payment_id == first
    assert ledger.get_payment(second.payment_id).disposition == "duplicate"


@pytest.mark.parametrize("amount", [Money(7400, "usd"), Money(7500, "eur")])
def test_a_payment_of_another_amount_is_a_mismatch(ledger: Ledger, amount: Money) -> None:
    booking_id = request_booking(ledger)
    recorded = pay(ledger, booking_id, amount=amount)
    assert recorded.disposition == Disposition.MISMATCH
    assert ledger.get_booking(booking_id).status == BookingStatus.AWAITING_PAYMENT
    assert ledger.payment_id_for_booking(booking_id) is None


def test_a_payment_after_expiry_or_cancellation_is_late(ledger: Ledger) -> None:
    expired = request_booking(ledger)
    ledger.expire_booking(booking_id=expired)
    cancelled = request_booking(ledger)
    ledger.cancel_booking(booking_id=cancelled, by="user", reason="changed my mind", refund=True)
    assert pay(ledger, expired).disposition == Disposition.LATE
    assert pay(ledger, cancelled).disposition == Disposition.LATE
    assert ledger.get_booking(expired).status == BookingStatus.EXPIRED


def test_a_payment_for_an_unknown_booking_records_nothing(ledger: Ledger) -> None:
    with pytest.raises(BookingNotFound):
        pay(ledger, booking_fields()["booking_id"])
    assert position(ledger) == 0


def test_booked_accepts_a_paid_booking_once(ledger: Ledger) -> None:
    booking_id, _ = paid_booking(ledger)
    booking = ledger.record_booked(booking_id=booking_id, calcom_booking_uid="cal_1")
    assert booking.status == BookingStatus.ACCEPTED
    assert booking.calcom_booking_uid == "cal_1"
    before = position(ledger)
    ledger.record_booked(booking_id=booking_id, calcom_booking_uid="cal_1")
    assert position(ledger) == before
    with pytest.raises(ConflictingRecord):
        ledger.record_booked(booking_id=booking_id, calcom_booking_uid="cal_2")


def test_booked_needs_a_paid_booking(ledger: Ledger) -> None:
    booking_id = request_booking(ledger)
    with pytest.raises(InvalidTransition):
        ledger.record_booked(booking_id=booking_id, calcom_booking_uid="cal_1")
    failed, _ = paid_booking(ledger)
    ledger.record_booking_failed(booking_id=failed, reason="slot taken", final=True)
    with pytest.raises(InvalidTransition):
        ledger.record_booked(booking_id=failed, calcom_booking_uid="cal_1")


def test_booking_failure_rejects_a_paid_booking_once(ledger: Ledger) -> None:
    booking_id, _ = paid_booking(ledger)
    booking = ledger.record_booking_failed(booking_id=booking_id, reason="slot taken", final=True)
    assert booking.status == BookingStatus.REJECTED
    assert (booking.failure_reason, booking.failure_final) == ("slot taken", True)
    before = position(ledger)
    ledger.record_booking_failed(booking_id=booking_id, reason="gave up", final=False)
    assert position(ledger) == before
    assert ledger.get_booking(booking_id).failure_reason == "slot taken"


def test_booking_failure_after_acceptance_is_refused(ledger: Ledger) -> None:
    booking_id, _ = accepted_booking(ledger)
    with pytest.raises(InvalidTransition):
        ledger.record_booking_failed(booking_id=booking_id, reason="late", final=True)


def test_expiry_only_ends_an_unpaid_booking(ledger: Ledger) -> None:
    unpaid = request_booking(ledger)
    assert ledger.expire_booking(booking_id=unpaid).status == BookingStatus.EXPIRED
    paid, _ = paid_booking(ledger)
    before = position(ledger)
    assert ledger.expire_booking(booking_id=paid).status == BookingStatus.PENDING
    assert ledger.expire_booking(booking_id=unpaid).status == BookingStatus.EXPIRED
    assert position(ledger) == before


def test_cancel_an_unpaid_or_accepted_booking(ledger: Ledger) -> None:
    unpaid = request_booking(ledger)
    booking = ledger.cancel_booking(
        booking_id=unpaid, by="user", reason="no longer needed", refund=True
    )
    assert (booking.status, booking.cancelled_by) == (BookingStatus.CANCELLED, "user")
    assert booking.cancel_refund is False  # nothing was paid, so nothing is refunded
    accepted, _ = accepted_booking(ledger)
    cancelled = ledger.cancel_booking(booking_id=accepted, by="mentor", reason="ill", refund=True)
    assert (cancelled.status, cancelled.cancel_refund) == (BookingStatus.CANCELLED, True)
    # The first cancellation's decision stands: a repeat deciding otherwise records nothing.
    before = position(ledger)
    again = ledger.cancel_booking(booking_id=accepted, by="admin", reason="again", refund=False)
    assert position(ledger) == before
    assert (again.cancelled_by, again.cancel_refund) == ("mentor", True)


def test_the_refund_decision_is_recorded_in_the_cancelled_event(ledger: Ledger) -> None:
    late, _ = accepted_booking(ledger)
    ledger.cancel_booking(booking_id=late, by="user", reason="cannot come", refund=False)
    early, _ = accepted_booking(ledger)
    ledger.cancel_booking(booking_id=early, by="user", reason="plans changed", refund=True)
    notifications = ledger.recorder.select_notifications(start=1, limit=100)
    recorded = {
        event.originator_id: event.refund
        for event in map(ledger.mapper.to_domain_event, notifications)
        if isinstance(event, Booking.Cancelled)
    }
    assert recorded == {late: False, early: True}
    assert ledger.get_booking(late).cancel_refund is False


def test_cancel_is_refused_while_booking_or_after_the_end(ledger: Ledger) -> None:
    pending, _ = paid_booking(ledger)
    with pytest.raises(InvalidTransition):
        ledger.cancel_booking(booking_id=pending, by="user", reason="too slow", refund=True)
    expired = request_booking(ledger)
    ledger.expire_booking(booking_id=expired)
    with pytest.raises(InvalidTransition):
        ledger.cancel_booking(booking_id=expired, by="user", reason="too late", refund=False)


def test_unknown_bookings_are_a_typed_error(ledger: Ledger) -> None:
    unknown = booking_fields()["booking_id"]
    for command in (
        lambda: ledger.get_booking(unknown),
        lambda: ledger.expire_booking(booking_id=unknown),
        lambda: ledger.record_booked(booking_id=unknown, calcom_booking_uid="cal_1"),
        lambda: ledger.record_booking_failed(booking_id=unknown, reason="x", final=True),
        lambda: ledger.cancel_booking(booking_id=unknown, by="user", reason="x", refund=True),
        lambda: ledger.payment_id_for_booking(unknown),
    ):
        with pytest.raises(BookingNotFound):
            command()
    assert position(ledger) == 0


def test_a_payment_id_is_not_a_booking_id(ledger: Ledger) -> None:
    _, payment_id = paid_booking(ledger)
    with pytest.raises(BookingNotFound):
        ledger.get_booking(payment_id)
    with pytest.raises(ConflictingRecord):
        ledger.request_booking(**booking_fields(booking_id=payment_id))
