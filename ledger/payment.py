"""The ``Payment`` aggregate: one Stripe PaymentIntent, from charge to refund or payout.

Its id is a uuid5 of the PaymentIntent id, so however a payment is reported (webhook,
return page, reconciliation) it is recorded once. Command methods return whether they
recorded anything (``False`` = idempotent repeat) or raise a typed ``LedgerError``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid5

from eventsourcing.domain import AggregateCreated, AggregateEvent, BaseAggregate

from ledger.errors import (
    ConflictingRecord,
    CurrencyMismatch,
    InvalidTransition,
    LedgerValidationError,
    PayoutNotAllowed,
    RefundExceedsPayment,
    RefundRequiresReversal,
)
from ledger.money import Money
from ledger.statuses import (
    Disposition,
    PaymentStatus,
    status_after_payout_failure,
    status_after_refund,
)

# Fixed forever: changing it would give every recorded payment a new id.
PAYMENT_ID_NAMESPACE = UUID("91503be3-735f-4cc2-be12-0c5a51c5bada")


@dataclass(frozen=True)
class RefundSplit:
    """Which accounts a refund is debited to; the parts sum to the refund."""

    from_clearing: int
    from_mentor_payable: int
    from_platform_fees: int


def split_refund(
    *,
    amount: int,
    paid: int,
    already_refunded: int,
    already_from_fees: int,
    credited_fee: int | None,
) -> RefundSplit:
    """Split a refund of ``amount`` out of a payment of ``paid``.

    Before booking (``credited_fee`` is None) it all comes back out of clearing. After
    booking the fee part is pro rata on the *cumulative* refunded total, rounded down:
    each part is then never negative, the parts sum to ``amount``, and over any number
    of refunds neither exceeds what ``Booked`` credited (fee, and price minus fee).
    """
    if credited_fee is None:
        return RefundSplit(amount, 0, 0)
    fee_so_far = (already_refunded + amount) * credited_fee // paid
    from_fees = fee_so_far - already_from_fees
    return RefundSplit(0, amount - from_fees, from_fees)


class Payment(BaseAggregate[UUID]):
    TOPIC = "mentorpay.Payment"

    @staticmethod
    @functools.lru_cache(maxsize=1024)  # asked twice per payment recorded (uuid5 is Python)
    def create_id(payment_intent_id: str) -> UUID:
        return uuid5(PAYMENT_ID_NAMESPACE, payment_intent_id)

    def __init__(self) -> None:
        # Set by Paid.apply.
        self.payment_intent_id: str
        self.charge_id: str
        self.amount: int
        self.currency: str
        self.booking_id: UUID
        self.mentor_id: str
        self.paid_at: datetime
        self.disposition: str
        self.status = PaymentStatus.SUCCEEDED
        # Refunds, by Stripe refund id, and where their money came from.
        self.refunds: dict[str, int] = {}
        self.refunded_amount = 0
        self.refunded_from_clearing = 0
        self.refunded_from_mentor_payable = 0
        self.refunded_from_platform_fees = 0
        # Payout.
        self.destination_account: str | None = None
        self.transfer_amount: int | None = None
        self.platform_fee_amount: int | None = None
        self.eligible_at: datetime | None = None
        self.transfer_id: str | None = None
        self.paid_out_amount = 0
        self.payout_error: str | None = None
        self.reversals: dict[str, int] = {}
        self.reversed_amount = 0
        # Dispute (Stripe allows one per charge).
        self.dispute_id: str | None = None
        self.dispute_amount: int | None = None
        self.dispute_reason: str | None = None

    # --- events -----------------------------------------------------------------------

    class Event(AggregateEvent):
        """Base of the payment's events (never stored itself)."""

    class Paid(Event, AggregateCreated):
        TOPIC = "mentorpay.Payment.Paid"
        leads_to = PaymentStatus.SUCCEEDED
        payment_intent_id: str
        charge_id: str
        amount: int
        currency: str
        booking_id: UUID
        mentor_id: str
        paid_at: datetime
        disposition: str

        def apply(self, payment: Payment) -> None:
            payment.payment_intent_id = self.payment_intent_id
            payment.charge_id = self.charge_id
            payment.amount = self.amount
            payment.currency = self.currency
            payment.booking_id = self.booking_id
            payment.mentor_id = self.mentor_id
            payment.paid_at = self.paid_at
            payment.disposition = self.disposition
            payment.status = self.leads_to

    class Refunded(Event):
        TOPIC = "mentorpay.Payment.Refunded"
        refund_id: str
        amount: int
        currency: str
        reason: str
        from_clearing: int
        from_mentor_payable: int
        from_platform_fees: int
        mentor_id: str

        def apply(self, payment: Payment) -> None:
            payment.refunds[self.refund_id] = self.amount
            payment.refunded_amount += self.amount
            payment.refunded_from_clearing += self.from_clearing
            payment.refunded_from_mentor_payable += self.from_mentor_payable
            payment.refunded_from_platform_fees += self.from_platform_fees
            payment.status = status_after_refund(payment.amount, payment.refunded_amount)

    class PayoutEligible(Event):
        TOPIC = "mentorpay.Payment.PayoutEligible"
        leads_to = PaymentStatus.PAYOUT_ELIGIBLE
        destination_account: str
        transfer_amount: int
        platform_fee_amount: int
        currency: str
        mentor_id: str
        eligible_at: datetime

        def apply(self, payment: Payment) -> None:
            payment.destination_account = self.destination_account
            payment.transfer_amount = self.transfer_amount
            payment.platform_fee_amount = self.platform_fee_amount
            payment.eligible_at = self.eligible_at
            payment.status = self.leads_to

    class PaidOut(Event):
        TOPIC = "mentorpay.Payment.PaidOut"
        leads_to = PaymentStatus.PAID
        transfer_id: str
        amount: int
        currency: str
        mentor_id: str

        def apply(self, payment: Payment) -> None:
            payment.transfer_id = self.transfer_id
            payment.paid_out_amount = self.amount
            payment.status = self.leads_to

    class PayoutFailed(Event):
        TOPIC = "mentorpay.Payment.PayoutFailed"
        error: str
        retryable: bool

        def apply(self, payment: Payment) -> None:
            payment.payout_error = self.error
            payment.status = status_after_payout_failure(self.retryable)

    class PayoutReversed(Event):
        TOPIC = "mentorpay.Payment.PayoutReversed"
        leads_to = PaymentStatus.PAYOUT_REVERSED
        reversal_id: str
        transfer_id: str
        amount: int
        currency: str
        mentor_id: str

        def apply(self, payment: Payment) -> None:
            payment.reversals[self.reversal_id] = self.amount
            payment.reversed_amount += self.amount
            payment.status = self.leads_to

    class Disputed(Event):
        TOPIC = "mentorpay.Payment.Disputed"
        dispute_id: str
        amount: int
        reason: str

        def apply(self, payment: Payment) -> None:
            # Status stays: a dispute only holds the payment back from payout.
            payment.dispute_id = self.dispute_id
            payment.dispute_amount = self.amount
            payment.dispute_reason = self.reason

    # --- commands ---------------------------------------------------------------------

    @classmethod
    def record(
        cls,
        *,
        payment_intent_id: str,
        charge_id: str,
        amount: Money,
        booking_id: UUID,
        mentor_id: str,
        paid_at: datetime,
        disposition: Disposition,
    ) -> Payment:
        return cls._create(
            cls.Paid,
            id=cls.create_id(payment_intent_id),
            payment_intent_id=payment_intent_id,
            charge_id=charge_id,
            amount=amount.amount,
            currency=amount.currency,
            booking_id=booking_id,
            mentor_id=mentor_id,
            paid_at=paid_at,
            disposition=str(disposition),
        )

    def check_same_payment(self, *, charge_id: str, amount: Money, booking_id: UUID) -> None:
        """The same PaymentIntent reported again must carry the same facts."""
        if (charge_id, amount, booking_id) != (self.charge_id, self.paid, self.booking_id):
            raise ConflictingRecord(
                f"PaymentIntent {self.payment_intent_id} was recorded with other data"
            )

    def knows_refund(self, refund_id: str, amount: Money) -> bool:
        """True when this refund is already recorded (with the same amount)."""
        if refund_id not in self.refunds:
            return False
        if self.refunds[refund_id] != amount.amount or amount.currency != self.currency:
            raise ConflictingRecord(f"refund {refund_id} was recorded with another amount")
        return True

    def refund(self, refund_id: str, amount: Money, reason: str, credited_fee: int | None) -> bool:
        """Record a Stripe refund; ``credited_fee`` comes from ``Booking.credited_fee_for``."""
        if self.knows_refund(refund_id, amount):
            return False
        self.check_currency(amount)
        if amount.amount > self.amount - self.refunded_amount:
            raise RefundExceedsPayment(
                f"refunding {amount} would exceed the {self.paid} paid "
                f"({self.refunded_amount} minor units already refunded)"
            )
        if self.status == PaymentStatus.PAID:
            raise RefundRequiresReversal("the payout has been made: reverse the transfer first")
        if self.status == PaymentStatus.PAYOUT_ELIGIBLE:
            # A transfer may be in flight; its outcome must be recorded first.
            raise RefundRequiresReversal("a payout is in progress: record its outcome first")
        split = split_refund(
            amount=amount.amount,
            paid=self.amount,
            already_refunded=self.refunded_amount,
            already_from_fees=self.refunded_from_platform_fees,
            credited_fee=credited_fee,
        )
        if credited_fee is not None:
            mentor_left = (
                self.amount
                - credited_fee
                - self.paid_out_amount
                + self.reversed_amount
                - self.refunded_from_mentor_payable
            )
            if split.from_mentor_payable > mentor_left:
                raise RefundRequiresReversal(
                    "the mentor's share of this refund has been paid out: reverse more first"
                )
        self.trigger_event(
            self.Refunded,
            refund_id=refund_id,
            amount=amount.amount,
            currency=self.currency,
            reason=reason,
            from_clearing=split.from_clearing,
            from_mentor_payable=split.from_mentor_payable,
            from_platform_fees=split.from_platform_fees,
            mentor_id=self.mentor_id,
        )
        return True

    def make_payout_eligible(
        self,
        *,
        destination_account: str,
        now: datetime,
        hold: timedelta,
        booking_payable: bool,
        price_amount: int,
        platform_fee_amount: int,
    ) -> bool:
        if self.status in (PaymentStatus.PAYOUT_ELIGIBLE, PaymentStatus.PAID):
            if destination_account != self.destination_account:
                raise ConflictingRecord(
                    f"payment {self.id} is already paid out to {self.destination_account}"
                )
            return False
        # Partly refunded (a late cancellation's percentage): the mentor is owed the rest.
        payable = (
            PaymentStatus.SUCCEEDED,
            PaymentStatus.PARTIALLY_REFUNDED,
            PaymentStatus.PAYOUT_FAILED,
        )
        if self.status not in payable:
            raise PayoutNotAllowed(f"payment {self.id} is {self.status}")
        # ``booking_payable`` comes from ``Booking.is_payable_with``: booked, or cancelled
        # after booking with the payment forfeited to the mentor.
        if self.disposition != Disposition.ACCEPTED or not booking_payable:
            raise PayoutNotAllowed(
                f"payment {self.id} does not pay a booked session its mentor is owed"
            )
        if self.dispute_id is not None:
            raise PayoutNotAllowed(f"payment {self.id} is disputed")
        if self.paid_at + hold > now:
            raise PayoutNotAllowed(f"payment {self.id} is on hold until {self.paid_at + hold}")
        # What the mentor's payable still holds of this payment: a partial refund took its share.
        transfer_amount = price_amount - platform_fee_amount - self.refunded_from_mentor_payable
        if transfer_amount <= 0:
            raise PayoutNotAllowed(f"payment {self.id} leaves nothing to transfer")
        self.trigger_event(
            self.PayoutEligible,
            destination_account=destination_account,
            transfer_amount=transfer_amount,
            platform_fee_amount=platform_fee_amount,
            currency=self.currency,
            mentor_id=self.mentor_id,
            eligible_at=now,
        )
        return True

    def pay_out(self, transfer_id: str, amount: Money) -> bool:
        if self.transfer_id is not None:
            if (transfer_id, amount) != (self.transfer_id, self.transferred):
                raise ConflictingRecord(f"payment {self.id} was paid out by {self.transfer_id}")
            return False
        if self.status != PaymentStatus.PAYOUT_ELIGIBLE:
            raise PayoutNotAllowed(f"payment {self.id} is {self.status}, not payout_eligible")
        self.check_currency(amount)
        if amount.amount != self.transfer_amount:
            raise ConflictingRecord(
                f"transfer of {amount} differs from the eligible {self.transfer_amount}"
            )
        self.trigger_event(
            self.PaidOut,
            transfer_id=transfer_id,
            amount=amount.amount,
            currency=self.currency,
            mentor_id=self.mentor_id,
        )
        return True

    def fail_payout(self, error: str, retryable: bool) -> bool:
        if self.status == PaymentStatus.PAYOUT_FAILED and not retryable:
            return False
        if self.status != PaymentStatus.PAYOUT_ELIGIBLE:
            raise InvalidTransition(f"payment {self.id} is {self.status}, no payout is pending")
        self.trigger_event(self.PayoutFailed, error=error, retryable=retryable)
        return True

    def reverse_payout(self, reversal_id: str, amount: Money) -> bool:
        if reversal_id in self.reversals:
            if (self.reversals[reversal_id], self.currency) != (amount.amount, amount.currency):
                raise ConflictingRecord(f"reversal {reversal_id} was recorded with another amount")
            return False
        if self.transfer_id is None:
            raise InvalidTransition(f"payment {self.id} has no transfer to reverse")
        self.check_currency(amount)
        if amount.amount > self.paid_out_amount - self.reversed_amount:
            raise InvalidTransition(f"reversing {amount} would exceed the transfer")
        self.trigger_event(
            self.PayoutReversed,
            reversal_id=reversal_id,
            transfer_id=self.transfer_id,
            amount=amount.amount,
            currency=self.currency,
            mentor_id=self.mentor_id,
        )
        return True

    def dispute(self, dispute_id: str, amount: Money, reason: str) -> bool:
        if self.dispute_id is not None:
            if dispute_id != self.dispute_id:
                raise ConflictingRecord(f"payment {self.id} is already disputed")
            return False
        self.check_currency(amount)
        if amount.amount > self.amount:
            raise LedgerValidationError(f"a dispute of {amount} exceeds the {self.paid} paid")
        self.trigger_event(
            self.Disputed, dispute_id=dispute_id, amount=amount.amount, reason=reason
        )
        return True

    # --- queries ----------------------------------------------------------------------

    @property
    def paid(self) -> Money:
        return Money(self.amount, self.currency)

    @property
    def refunded(self) -> Money:
        return Money(self.refunded_amount, self.currency)

    @property
    def transferred(self) -> Money:
        return Money(self.paid_out_amount, self.currency)

    @property
    def disputed(self) -> bool:
        return self.dispute_id is not None

    def check_currency(self, amount: Money) -> None:
        if amount.currency != self.currency:
            raise CurrencyMismatch(
                f"payment {self.id} is in {self.currency.upper()}, not {amount.currency.upper()}"
            )
