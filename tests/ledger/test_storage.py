"""The ledger on real stores (SQLite and PostgreSQL): stable topics, replay, no partial writes."""

from __future__ import annotations

import json

import pytest

from ledger import BookingStatus, Ledger, Money, PaymentStatus
from mentorpay.persistence import eventsourcing_env
from tests.support.ledger_bad_inputs import BAD_INPUTS, Target
from tests.support.ledger_factories import HOLD, T0, accepted_booking, paid_booking, position

EXPECTED_TOPICS = [
    "mentorpay.Booking.Requested",
    "mentorpay.Payment.Paid",
    "mentorpay.Booking.PaymentConfirmed",
    "mentorpay.Booking.PolicyFixed",
    "mentorpay.Booking.Booked",
    "mentorpay.Payment.PayoutEligible",
    "mentorpay.Payment.PaidOut",
    "mentorpay.Payment.Disputed",
    "mentorpay.Payment.PayoutReversed",
    "mentorpay.Payment.Refunded",
    "mentorpay.Booking.Cancelled",
]


def _story(ledger: Ledger) -> Target:
    booking_id, payment_id = accepted_booking(ledger)
    ledger.mark_payout_eligible(
        payment_id=payment_id, destination_account="acct_ada", now=T0 + HOLD, hold=HOLD
    )
    ledger.record_paid_out(payment_id=payment_id, transfer_id="tr_1", amount=Money(6750, "usd"))
    ledger.record_dispute(
        payment_id=payment_id, dispute_id="dp_1", amount=Money(7500, "usd"), reason="fraudulent"
    )
    ledger.record_payout_reversed(
        payment_id=payment_id, reversal_id="trr_1", amount=Money(6750, "usd")
    )
    ledger.record_refund(
        payment_id=payment_id, refund_id="re_1", amount=Money(7500, "usd"), reason="dispute"
    )
    ledger.cancel_booking(booking_id=booking_id, by="admin", reason="disputed", refund=True)
    return Target(booking_id, payment_id)


def test_stored_topics_are_the_explicit_ones(stored_ledger: Ledger) -> None:
    _story(stored_ledger)
    notifications = stored_ledger.recorder.select_notifications(start=1, limit=100)
    assert [n.topic for n in notifications] == EXPECTED_TOPICS
    # The aggregate's class is named by its explicit topic too, never a module path.
    requested = json.loads(notifications[0].state)
    assert requested["originator_topic"] == "mentorpay.Booking"
    paid = json.loads(notifications[1].state)
    assert paid["originator_topic"] == "mentorpay.Payment"
    # The refund decision is a recorded fact, a plain JSON boolean.
    cancelled = json.loads(notifications[-1].state)
    assert (cancelled["by"], cancelled["refund"]) == ("admin", True)


def test_stored_events_hold_primitive_fields(stored_ledger: Ledger) -> None:
    target = Target(*paid_booking(stored_ledger))
    requested, paid = (
        json.loads(n.state) for n in stored_ledger.recorder.select_notifications(start=1, limit=2)
    )
    assert requested["price_amount"] == 7500 and requested["currency"] == "usd"
    assert requested["platform_fee_amount"] == 750
    assert requested["start"] == {"_type_": "datetime_iso", "_data_": "2030-01-10T09:00:00+00:00"}
    assert paid["booking_id"] == {"_type_": "uuid_hex", "_data_": target.booking_id.hex}
    assert (paid["amount"], paid["disposition"]) == (7500, "accepted")


def test_a_fresh_ledger_replays_the_same_state(database_url: str) -> None:
    with Ledger(eventsourcing_env(database_url)) as writer:
        target = _story(writer)
        written_booking = writer.get_booking(target.booking_id)
        written_payment = writer.get_payment(target.payment_id)
    with Ledger(eventsourcing_env(database_url)) as reader:
        booking = reader.get_booking(target.booking_id)
        payment = reader.get_payment(target.payment_id)
    assert booking.status == BookingStatus.CANCELLED
    assert payment.status == PaymentStatus.REFUNDED and payment.disputed
    assert vars(booking) == vars(written_booking)
    assert vars(payment) == vars(written_payment)
    assert payment.paid_at == T0 and payment.paid_at.tzinfo is not None


def test_bad_input_records_nothing_in_the_store(stored_ledger: Ledger) -> None:
    target = Target(*accepted_booking(stored_ledger))
    before = position(stored_ledger)
    for name, (case, error) in BAD_INPUTS.items():
        with pytest.raises(error):
            case(stored_ledger, target)
        assert position(stored_ledger) == before, name
