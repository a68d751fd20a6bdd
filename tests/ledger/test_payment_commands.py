"""Payment commands: refunds, payout eligibility, transfers, reversals and disputes."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID, uuid5

import pytest

from ledger import (
    ConflictingRecord,
    CurrencyMismatch,
    InvalidTransition,
    Ledger,
    LedgerValidationError,
    Money,
    Payment,
    PaymentNotFound,
    PaymentStatus,
    PayoutNotAllowed,
    RefundExceedsPayment,
    RefundRequiresReversal,
)
from ledger.payment import PAYMENT_ID_NAMESPACE
from tests.support.ledger_factories import (
    HOLD,
    T0,
    accepted_booking,
    paid_booking,
    paid_out,
    pay,
    position,
    request_booking,
)


def usd(amount: int) -> Money:
    return Money(amount, "usd")


def refund(ledger: Ledger, payment_id: UUID, amount: int, refund_id: str = "re_1") -> Payment:
    return ledger.record_refund(
        payment_id=payment_id, refund_id=refund_id, amount=usd(amount), reason="requested"
    )


def eligible(
    ledger: Ledger, payment_id: UUID, now: datetime = T0 + HOLD, account: str = "acct_ada"
) -> Payment:
    return ledger.mark_payout_eligible(
        payment_id=payment_id, destination_account=account, now=now, hold=HOLD
    )


def test_payment_id_is_a_uuid5_of_the_payment_intent(ledger: Ledger) -> None:
    booking_id = request_booking(ledger)
    recorded = pay(ledger, booking_id, pi="pi_3Mtw")
    assert recorded.payment_id == uuid5(PAYMENT_ID_NAMESPACE, "pi_3Mtw")
    assert recorded.payment_id == Payment.create_id("pi_3Mtw")


def test_refund_of_a_failed_booking_comes_from_clearing(ledger: Ledger) -> None:
    booking_id, payment_id = paid_booking(ledger)
    ledger.record_booking_failed(booking_id=booking_id, reason="slot taken", final=True)
    payment = refund(ledger, payment_id, 2500)
    assert payment.status == PaymentStatus.PARTIALLY_REFUNDED
    assert payment.refunded_from_clearing == 2500
    payment = refund(ledger, payment_id, 5000, refund_id="re_2")
    assert payment.status == PaymentStatus.REFUNDED
    assert payment.refunded == usd(7500)


def test_refund_after_booking_is_split_pro_rata(ledger: Ledger) -> None:
    _, payment_id = accepted_booking(ledger)  # 75.00 with a 7.50 fee
    payment = refund(ledger, payment_id, 1001)
    assert (payment.refunded_from_platform_fees, payment.refunded_from_mentor_payable) == (
        100,
        901,
    )
    payment = refund(ledger, payment_id, 6499, refund_id="re_2")
    assert (payment.refunded_from_platform_fees, payment.refunded_from_mentor_payable) == (
        750,
        6750,
    )
    assert payment.refunded_from_clearing == 0


def test_refunds_never_exceed_the_payment(ledger: Ledger) -> None:
    _, payment_id = accepted_booking(ledger)
    refund(ledger, payment_id, 7000)
    before = position(ledger)
    with pytest.raises(RefundExceedsPayment):
        refund(ledger, payment_id, 501, refund_id="re_2")
    assert position(ledger) == before
    assert ledger.get_payment(payment_id).refunded_amount == 7000


def test_the_same_refund_twice_is_recorded_once(ledger: Ledger) -> None:
    _, payment_id = accepted_booking(ledger)
    refund(ledger, payment_id, 7500)
    before = position(ledger)
    assert refund(ledger, payment_id, 7500).status == PaymentStatus.REFUNDED
    assert position(ledger) == before
    with pytest.raises(ConflictingRecord):
        refund(ledger, payment_id, 100)


def test_refund_in_another_currency_is_refused(ledger: Ledger) -> None:
    _, payment_id = accepted_booking(ledger)
    with pytest.raises(CurrencyMismatch):
        ledger.record_refund(
            payment_id=payment_id, refund_id="re_1", amount=Money(100, "eur"), reason="x"
        )


def test_refund_waits_for_the_booking_outcome(ledger: Ledger) -> None:
    _, payment_id = paid_booking(ledger)
    with pytest.raises(InvalidTransition):
        refund(ledger, payment_id, 7500)


def test_refund_of_a_paid_out_payment_needs_a_reversal_first(ledger: Ledger) -> None:
    _, payment_id = paid_out(ledger)
    with pytest.raises(RefundRequiresReversal):
        refund(ledger, payment_id, 7500)
    ledger.record_payout_reversed(payment_id=payment_id, reversal_id="trr_1", amount=usd(3000))
    # 3000 back from the mentor covers a refund whose mentor share is at most 3000 ...
    refund(ledger, payment_id, 3333)  # 333 fee + 3000 mentor
    # ... but not more.
    with pytest.raises(RefundRequiresReversal):
        refund(ledger, payment_id, 10, refund_id="re_2")
    ledger.record_payout_reversed(payment_id=payment_id, reversal_id="trr_2", amount=usd(3750))
    payment = refund(ledger, payment_id, 7500 - 3333, refund_id="re_2")
    assert payment.status == PaymentStatus.REFUNDED
    assert payment.refunded_from_mentor_payable == 6750


def test_refund_while_a_payout_is_in_progress_is_refused(ledger: Ledger) -> None:
    _, payment_id = accepted_booking(ledger)
    eligible(ledger, payment_id)
    with pytest.raises(RefundRequiresReversal):
        refund(ledger, payment_id, 100)


def test_payout_eligibility_waits_for_the_hold(ledger: Ledger) -> None:
    _, payment_id = accepted_booking(ledger)
    with pytest.raises(PayoutNotAllowed):
        eligible(ledger, payment_id, now=T0 + HOLD - timedelta(seconds=1))
    payment = eligible(ledger, payment_id, now=T0 + HOLD)
    assert payment.status == PaymentStatus.PAYOUT_ELIGIBLE
    assert payment.transfer_amount == 6750  # price - fee, from the recorded booking
    assert payment.platform_fee_amount == 750
    assert payment.eligible_at == T0 + HOLD
    before = position(ledger)
    eligible(ledger, payment_id, now=T0 + 2 * HOLD)
    assert position(ledger) == before
    with pytest.raises(ConflictingRecord):
        eligible(ledger, payment_id, account="acct_other")


def test_no_payout_for_a_booking_that_does_not_owe_the_mentor(ledger: Ledger) -> None:
    booking_id, pending = paid_booking(ledger)
    with pytest.raises(PayoutNotAllowed):
        eligible(ledger, pending)
    refunded_cancellation, payment_id = accepted_booking(ledger)
    ledger.cancel_booking(booking_id=refunded_cancellation, by="user", reason="x", refund=True)
    with pytest.raises(PayoutNotAllowed):
        eligible(ledger, payment_id)
    rejected, failed = paid_booking(ledger)
    ledger.record_booking_failed(booking_id=rejected, reason="slot taken", final=True)
    with pytest.raises(PayoutNotAllowed):
        eligible(ledger, failed)
    duplicate = pay(ledger, booking_id).payment_id
    ledger.record_booked(booking_id=booking_id, calcom_booking_uid="cal_x")
    with pytest.raises(PayoutNotAllowed):
        eligible(ledger, duplicate)


def test_a_late_cancellation_without_refund_is_paid_out_after_the_hold(ledger: Ledger) -> None:
    booking_id, payment_id = accepted_booking(ledger)
    ledger.cancel_booking(booking_id=booking_id, by="user", reason="cannot come", refund=False)
    with pytest.raises(PayoutNotAllowed):
        eligible(ledger, payment_id, now=T0 + HOLD - timedelta(seconds=1))
    payment = eligible(ledger, payment_id, now=T0 + HOLD)
    assert (payment.status, payment.transfer_amount) == (PaymentStatus.PAYOUT_ELIGIBLE, 6750)
    paid = ledger.record_paid_out(payment_id=payment_id, transfer_id="tr_1", amount=usd(6750))
    assert paid.status == PaymentStatus.PAID


def test_a_late_cancellation_keeps_the_other_payout_guards(ledger: Ledger) -> None:
    disputed_booking, disputed = accepted_booking(ledger)
    ledger.cancel_booking(booking_id=disputed_booking, by="user", reason="x", refund=False)
    ledger.record_dispute(payment_id=disputed, dispute_id="dp_1", amount=usd(7500), reason="fraud")
    # Cancelled before it was paid: a payment arriving afterwards is late, never the mentor's.
    unpaid = request_booking(ledger)
    ledger.cancel_booking(booking_id=unpaid, by="user", reason="x", refund=False)
    late = pay(ledger, unpaid).payment_id
    for payment_id in (disputed, late):
        with pytest.raises(PayoutNotAllowed):
            eligible(ledger, payment_id)


def test_a_partial_refund_pays_the_mentor_the_rest_a_full_one_or_a_dispute_nothing(
    ledger: Ledger,
) -> None:
    _, partly = accepted_booking(ledger)
    refund(ledger, partly, 100)  # a goodwill refund by finance: 10 of it from the fee
    assert eligible(ledger, partly).transfer_amount == 6750 - 90
    _, refunded = accepted_booking(ledger)
    refund(ledger, refunded, 7500)
    with pytest.raises(PayoutNotAllowed):
        eligible(ledger, refunded)
    _, disputed = accepted_booking(ledger)
    ledger.record_dispute(payment_id=disputed, dispute_id="dp_1", amount=usd(7500), reason="fraud")
    with pytest.raises(PayoutNotAllowed):
        eligible(ledger, disputed)


def test_paid_out_records_the_transfer_once(ledger: Ledger) -> None:
    _, payment_id = accepted_booking(ledger)
    with pytest.raises(PayoutNotAllowed):
        ledger.record_paid_out(payment_id=payment_id, transfer_id="tr_1", amount=usd(6750))
    eligible(ledger, payment_id)
    with pytest.raises(ConflictingRecord):
        ledger.record_paid_out(payment_id=payment_id, transfer_id="tr_1", amount=usd(6000))
    payment = ledger.record_paid_out(payment_id=payment_id, transfer_id="tr_1", amount=usd(6750))
    assert (payment.status, payment.transfer_id) == (PaymentStatus.PAID, "tr_1")
    before = position(ledger)
    ledger.record_paid_out(payment_id=payment_id, transfer_id="tr_1", amount=usd(6750))
    assert position(ledger) == before
    with pytest.raises(ConflictingRecord):
        ledger.record_paid_out(payment_id=payment_id, transfer_id="tr_2", amount=usd(6750))
    # Already paid: asking again for eligibility changes nothing.
    assert eligible(ledger, payment_id).status == PaymentStatus.PAID


def test_payout_failures(ledger: Ledger) -> None:
    _, payment_id = accepted_booking(ledger)
    with pytest.raises(InvalidTransition):
        ledger.record_payout_failed(payment_id=payment_id, error="x", retryable=True)
    eligible(ledger, payment_id)
    payment = ledger.record_payout_failed(payment_id=payment_id, error="timeout", retryable=True)
    assert payment.status == PaymentStatus.PAYOUT_ELIGIBLE
    payment = ledger.record_payout_failed(
        payment_id=payment_id, error="no account", retryable=False
    )
    assert (payment.status, payment.payout_error) == (PaymentStatus.PAYOUT_FAILED, "no account")
    before = position(ledger)
    ledger.record_payout_failed(payment_id=payment_id, error="no account", retryable=False)
    assert position(ledger) == before
    # A failed payout may be made eligible again, e.g. once the mentor fixed their account.
    assert eligible(ledger, payment_id, account="acct_new").status == PaymentStatus.PAYOUT_ELIGIBLE


def test_payout_reversals(ledger: Ledger) -> None:
    _, not_paid_out = accepted_booking(ledger)
    with pytest.raises(InvalidTransition):
        ledger.record_payout_reversed(payment_id=not_paid_out, reversal_id="trr_0", amount=usd(1))
    _, payment_id = paid_out(ledger)
    with pytest.raises(InvalidTransition):
        ledger.record_payout_reversed(payment_id=payment_id, reversal_id="trr_1", amount=usd(6751))
    payment = ledger.record_payout_reversed(
        payment_id=payment_id, reversal_id="trr_1", amount=usd(6750)
    )
    assert (payment.status, payment.reversed_amount) == (PaymentStatus.PAYOUT_REVERSED, 6750)
    before = position(ledger)
    ledger.record_payout_reversed(payment_id=payment_id, reversal_id="trr_1", amount=usd(6750))
    assert position(ledger) == before


def test_dispute_holds_the_payment_without_changing_its_status(ledger: Ledger) -> None:
    _, payment_id = accepted_booking(ledger)
    with pytest.raises(LedgerValidationError):
        ledger.record_dispute(
            payment_id=payment_id, dispute_id="dp_1", amount=usd(7501), reason="x"
        )
    payment = ledger.record_dispute(
        payment_id=payment_id, dispute_id="dp_1", amount=usd(7500), reason="fraudulent"
    )
    assert payment.disputed and payment.status == PaymentStatus.SUCCEEDED
    before = position(ledger)
    ledger.record_dispute(payment_id=payment_id, dispute_id="dp_1", amount=usd(7500), reason="x")
    assert position(ledger) == before
    with pytest.raises(ConflictingRecord):
        ledger.record_dispute(payment_id=payment_id, dispute_id="dp_2", amount=usd(1), reason="x")


def test_unknown_payments_are_a_typed_error(ledger: Ledger) -> None:
    unknown = Payment.create_id("pi_unknown")
    assert ledger.payment_for_intent("pi_unknown") is None
    for command in (
        lambda: ledger.get_payment(unknown),
        lambda: refund(ledger, unknown, 1),
        lambda: eligible(ledger, unknown),
        lambda: ledger.record_paid_out(payment_id=unknown, transfer_id="tr", amount=usd(1)),
        lambda: ledger.record_payout_failed(payment_id=unknown, error="x", retryable=True),
        lambda: ledger.record_payout_reversed(payment_id=unknown, reversal_id="r", amount=usd(1)),
        lambda: ledger.record_dispute(
            payment_id=unknown, dispute_id="d", amount=usd(1), reason="x"
        ),
    ):
        with pytest.raises(PaymentNotFound):
            command()
    assert position(ledger) == 0
