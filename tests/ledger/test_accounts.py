"""The chart of accounts: what each event posts, and that it always balances."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from ledger import (
    BOOKINGS_CLEARING,
    PLATFORM_FEES,
    STRIPE_BALANCE,
    Ledger,
    Money,
    Posting,
    balances,
    is_balanced,
    mentor_payable,
    postings_for,
    split_refund,
)
from tests.support.ledger_factories import (
    HOLD,
    MENTOR,
    T0,
    accepted_booking,
    paid_booking,
    request_booking,
)

PAYABLE = mentor_payable(MENTOR)


def journal(ledger: Ledger) -> list[tuple[str, tuple[Posting, ...]]]:
    """Every stored event (decoded from the store) with its postings, in log order."""
    return [
        (n.topic, postings_for(ledger.mapper.to_domain_event(n)))
        for n in ledger.recorder.select_notifications(start=1, limit=10_000)
    ]


def test_a_session_from_payment_to_payout_posts_balanced_entries(ledger: Ledger) -> None:
    booking_id, payment_id = accepted_booking(ledger)
    ledger.mark_payout_eligible(
        payment_id=payment_id, destination_account="acct_ada", now=T0 + HOLD, hold=HOLD
    )
    ledger.record_paid_out(payment_id=payment_id, transfer_id="tr_1", amount=Money(6750, "usd"))
    ledger.record_payout_reversed(
        payment_id=payment_id, reversal_id="trr_1", amount=Money(6750, "usd")
    )
    ledger.record_refund(
        payment_id=payment_id, refund_id="re_1", amount=Money(7500, "usd"), reason="cancelled"
    )

    entries = dict(journal(ledger))
    assert entries == {
        "mentorpay.Booking.Requested": (),
        "mentorpay.Payment.Paid": (
            Posting(STRIPE_BALANCE, "debit", 7500, "usd"),
            Posting(BOOKINGS_CLEARING, "credit", 7500, "usd"),
        ),
        "mentorpay.Booking.PaymentConfirmed": (),
        "mentorpay.Booking.PolicyFixed": (),  # the policy in force when paid: no money moves
        "mentorpay.Booking.Booked": (
            Posting(BOOKINGS_CLEARING, "debit", 7500, "usd"),
            Posting(PAYABLE, "credit", 6750, "usd"),
            Posting(PLATFORM_FEES, "credit", 750, "usd"),
        ),
        "mentorpay.Payment.PayoutEligible": (),
        "mentorpay.Payment.PaidOut": (
            Posting(PAYABLE, "debit", 6750, "usd"),
            Posting(STRIPE_BALANCE, "credit", 6750, "usd"),
        ),
        "mentorpay.Payment.PayoutReversed": (
            Posting(STRIPE_BALANCE, "debit", 6750, "usd"),
            Posting(PAYABLE, "credit", 6750, "usd"),
        ),
        # After booking, a refund comes back out of the mentor's share and the fee.
        "mentorpay.Payment.Refunded": (
            Posting(PAYABLE, "debit", 6750, "usd"),
            Posting(PLATFORM_FEES, "debit", 750, "usd"),
            Posting(STRIPE_BALANCE, "credit", 7500, "usd"),
        ),
    }
    all_postings = [p for _, postings in journal(ledger) for p in postings]
    assert all(is_balanced(postings) for _, postings in journal(ledger))
    # Fully refunded: every account is back to zero.
    assert set(balances(all_postings).values()) == {0}
    assert ledger.get_booking(booking_id).payment_id == payment_id


def test_a_refund_before_booking_comes_out_of_clearing(ledger: Ledger) -> None:
    booking_id, payment_id = paid_booking(ledger)
    ledger.record_booking_failed(booking_id=booking_id, reason="slot taken", final=True)
    ledger.record_refund(
        payment_id=payment_id, refund_id="re_1", amount=Money(7500, "usd"), reason="failed"
    )
    refunds = [postings for topic, postings in journal(ledger) if topic.endswith("Refunded")]
    # The zero-amount debits of payable and fees are left out.
    assert refunds == [
        (
            Posting(BOOKINGS_CLEARING, "debit", 7500, "usd"),
            Posting(STRIPE_BALANCE, "credit", 7500, "usd"),
        )
    ]


def test_events_without_money_post_nothing(ledger: Ledger) -> None:
    _, paid_out_later = accepted_booking(ledger)
    ledger.mark_payout_eligible(
        payment_id=paid_out_later, destination_account="acct_ada", now=T0 + HOLD, hold=HOLD
    )
    ledger.record_payout_failed(payment_id=paid_out_later, error="timeout", retryable=True)
    booking_id, payment_id = accepted_booking(ledger)
    ledger.record_dispute(
        payment_id=payment_id, dispute_id="dp_1", amount=Money(7500, "usd"), reason="fraudulent"
    )
    ledger.cancel_booking(booking_id=booking_id, by="mentor", reason="ill", refund=True)
    failed, _ = paid_booking(ledger)
    ledger.record_booking_failed(booking_id=failed, reason="slot taken", final=True)
    expired = request_booking(ledger)
    ledger.expire_booking(booking_id=expired)

    silent = {topic for topic, postings in journal(ledger) if not postings}
    assert silent == {
        "mentorpay.Booking.Requested",
        "mentorpay.Booking.PaymentConfirmed",
        "mentorpay.Booking.PolicyFixed",
        "mentorpay.Booking.BookingFailed",
        "mentorpay.Booking.Cancelled",
        "mentorpay.Booking.Expired",
        "mentorpay.Payment.PayoutEligible",
        "mentorpay.Payment.PayoutFailed",
        "mentorpay.Payment.Disputed",
    }
    # ... and every event that does move money posts something.
    assert {topic for topic, postings in journal(ledger) if postings} == {
        "mentorpay.Payment.Paid",
        "mentorpay.Booking.Booked",
    }
    assert postings_for(object()) == ()


def test_is_balanced_is_per_currency() -> None:
    assert is_balanced([])
    assert is_balanced([Posting("a", "debit", 5, "usd"), Posting("b", "credit", 5, "usd")])
    assert not is_balanced([Posting("a", "debit", 5, "usd"), Posting("b", "credit", 4, "usd")])
    # Equal numbers in two currencies do not balance each other.
    assert not is_balanced([Posting("a", "debit", 5, "usd"), Posting("b", "credit", 5, "eur")])


@given(
    paid=st.integers(min_value=1, max_value=10**9),
    fee_share=st.floats(min_value=0, max_value=1),
    cuts=st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=8),
)
def test_refund_splits_sum_up_and_never_exceed_what_was_credited(
    paid: int, fee_share: float, cuts: list[float]
) -> None:
    fee = int(paid * fee_share)
    # Cut the paid amount into several refunds that together refund it all.
    points = sorted({0, paid, *(int(paid * c) for c in cuts)})
    refunded = from_fees = from_mentor = 0
    for low, high in pairwise(points):
        split = split_refund(
            amount=high - low,
            paid=paid,
            already_refunded=refunded,
            already_from_fees=from_fees,
            credited_fee=fee,
        )
        assert split.from_clearing == 0
        assert split.from_platform_fees >= 0 and split.from_mentor_payable >= 0
        assert split.from_platform_fees + split.from_mentor_payable == high - low
        refunded += high - low
        from_fees += split.from_platform_fees
        from_mentor += split.from_mentor_payable
        assert from_fees <= fee and from_mentor <= paid - fee
    # A full refund takes back exactly what booking credited.
    assert (from_fees, from_mentor) == (fee, paid - fee)


def test_refund_split_before_booking_is_all_clearing() -> None:
    split = split_refund(
        amount=300, paid=7500, already_refunded=0, already_from_fees=0, credited_fee=None
    )
    assert (split.from_clearing, split.from_mentor_payable, split.from_platform_fees) == (
        300,
        0,
        0,
    )
