"""Random command sequences (with repeats and out-of-order duplicates) against a plain model.

The model below is written from the rules in the README, independently of the aggregates:
for every command it predicts either the typed error or the new state. After every step
the ledger must agree with it, and the stored log must keep the money invariants: balanced
postings, a trial balance of zero per currency, no liability (payable, clearing, fees) below
zero, and refunds never beyond what was paid. Besides payments, refunds, payouts and disputes
it moves sessions (reschedules), cancels them with partial refunds, records no-shows and their
decisions, and pays with promotion-code discounts.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from ledger import (
    Booking,
    BookingNotFound,
    ConflictingRecord,
    InvalidTransition,
    Ledger,
    LedgerError,
    LedgerValidationError,
    Money,
    Payment,
    PaymentNotFound,
    PayoutNotAllowed,
    RefundExceedsPayment,
    RefundRequiresReversal,
    is_balanced,
    postings_for,
)
from mentorpay.persistence import eventsourcing_env
from tests.support.ledger_factories import HOLD, T0, booking_fields

BOOKING_IDS = [uuid4() for _ in range(3)]
INTENTS = [f"pi_{i}" for i in range(5)]
PRICES = [(7500, 750), (5000, 0), (999, 333)]  # (price, fee) in usd
PAID_AT = {pi: T0 + timedelta(hours=i) for i, pi in enumerate(INTENTS)}

bookings_st = st.integers(min_value=0, max_value=len(BOOKING_IDS) - 1)
kinds_st = st.sampled_from(["price", "price", "price", "less", "eur", "discount", "discount"])
DISCOUNT = 20  # percent off, as a promotion code would give
START = T0 + timedelta(days=3)  # booking_fields' session
LENGTH = timedelta(minutes=30)


@dataclass
class ModelBooking:
    price: int
    fee: int
    status: str = "AWAITING_PAYMENT"
    payment: str | None = None  # the intent that paid it
    calcom_uid: str | None = None
    refund: bool | None = None  # recorded by the cancellation: the payer gets it all back
    percent: int | None = None  # recorded by the cancellation: the share given back
    discount: int = 0  # a promotion code's, recorded with the payment
    start: datetime = START
    reschedules: int = 0
    no_show: str | None = None  # the party who did not show
    reported: str | None = None  # the report's outcome
    outcome: str | None = None  # the report's outcome, or the admin's decision

    @property
    def booked_amount(self) -> int:
        return self.price - self.discount

    @property
    def booked_fee(self) -> int:
        """The fee is taken on what was paid."""
        return self.fee * self.booked_amount // self.price

    def owes_mentor(self, pi: str) -> bool:
        """Booked with ``pi``, or cancelled after booking with the payment (partly) forfeited;
        not while a mentor's no-show is claimed or refunded."""
        if self.payment != pi or self.outcome in ("claim_open", "refund"):
            return False
        if self.status == "ACCEPTED":
            return True
        return self.status == "CANCELLED" and self.calcom_uid is not None and self.refund is False

    def refund_owed(self, paid: int) -> int:
        if self.outcome == "refund":
            return paid
        if self.status != "CANCELLED" or self.percent is None:
            return 0
        return paid * self.percent // 100


@dataclass
class ModelPayment:
    booking: int
    amount: int
    currency: str
    disposition: str
    status: str = "succeeded"
    refunds: dict[str, int] = field(default_factory=dict)
    refunded: int = 0
    from_fees: int = 0
    from_mentor: int = 0
    account: str | None = None
    transfer_amount: int | None = None
    transfer_id: str | None = None
    paid_out: int = 0
    reversals: dict[str, int] = field(default_factory=dict)
    reversed: int = 0
    dispute_id: str | None = None


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.ledger = Ledger(eventsourcing_env("memory://"))
        self.bookings: dict[int, ModelBooking] = {}
        self.payments: dict[str, ModelPayment] = {}
        # Running checks over the stored log.
        self.cursor = 0
        self.balances: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.confirmations: Counter[UUID] = Counter()
        self.paid: dict[UUID, tuple[int, datetime]] = {}
        self.refunded: Counter[UUID] = Counter()

    def teardown(self) -> None:
        self.ledger.close()

    def check(self, command: Callable[[], object], expected: type[LedgerError] | None) -> bool:
        """Run the command; it must fail with exactly ``expected`` (or succeed if None)."""
        try:
            command()
        except LedgerError as error:
            assert type(error) is expected, f"expected {expected}, got {error!r}"
            return False
        assert expected is None, f"expected {expected.__name__}, but the command succeeded"
        return True

    # --- bookings -------------------------------------------------------------------------

    @initialize(variants=st.lists(st.integers(0, len(PRICES) - 1), min_size=2, max_size=2))
    def two_bookings_exist(self, variants: list[int]) -> None:
        # The third booking id stays unknown until a rule requests it.
        for b, variant in enumerate(variants):
            self.request_booking(b, variant)

    @rule(b=bookings_st, variant=st.integers(min_value=0, max_value=len(PRICES) - 1))
    def request_booking(self, b: int, variant: int) -> None:
        price, fee = PRICES[variant]
        existing = self.bookings.get(b)
        expected = None
        if existing is not None and (existing.price, existing.fee) != (price, fee):
            expected = ConflictingRecord
        fields = booking_fields(
            booking_id=BOOKING_IDS[b],
            price=Money(price, "usd"),
            platform_fee=Money(fee, "usd"),
            checkout_session_id=f"cs_{b}",
            reservation_uid=f"res_{b}",
        )
        if self.check(lambda: self.ledger.request_booking(**fields), expected):
            self.bookings.setdefault(b, ModelBooking(price, fee))

    @rule(b=bookings_st, uid=st.sampled_from(["cal_a", "cal_b"]))
    def record_booked(self, b: int, uid: str) -> None:
        booking = self.bookings.get(b)
        expected: type[LedgerError] | None = None
        if booking is None:
            expected = BookingNotFound
        elif booking.calcom_uid is not None and booking.status in ("ACCEPTED", "CANCELLED"):
            expected = None if uid == booking.calcom_uid else ConflictingRecord
        elif booking.status != "PENDING":
            expected = InvalidTransition
        command = lambda: self.ledger.record_booked(  # noqa: E731
            booking_id=BOOKING_IDS[b], calcom_booking_uid=uid
        )
        if self.check(command, expected) and booking and booking.status == "PENDING":
            booking.status, booking.calcom_uid = "ACCEPTED", uid

    @rule(b=bookings_st, final=st.booleans())
    def record_booking_failed(self, b: int, final: bool) -> None:
        booking = self.bookings.get(b)
        expected: type[LedgerError] | None = None
        if booking is None:
            expected = BookingNotFound
        elif booking.status not in ("REJECTED", "PENDING"):
            expected = InvalidTransition
        command = lambda: self.ledger.record_booking_failed(  # noqa: E731
            booking_id=BOOKING_IDS[b], reason="slot taken", final=final
        )
        if self.check(command, expected) and booking:
            booking.status = "REJECTED"

    @rule(b=bookings_st)
    def expire_booking(self, b: int) -> None:
        booking = self.bookings.get(b)
        expected = BookingNotFound if booking is None else None
        if self.check(lambda: self.ledger.expire_booking(booking_id=BOOKING_IDS[b]), expected):
            assert booking is not None
            if booking.status == "AWAITING_PAYMENT":
                booking.status = "EXPIRED"

    @rule(
        b=bookings_st,
        by=st.sampled_from(["user", "mentor", "admin", "system"]),
        refund=st.booleans(),
        percent=st.sampled_from([None, 0, 25, 50]),
    )
    def cancel_booking(self, b: int, by: str, refund: bool, percent: int | None) -> None:
        booking = self.bookings.get(b)
        expected: type[LedgerError] | None = None
        if booking is None:
            expected = BookingNotFound
        elif booking.status == "CANCELLED":
            expected = None
        elif booking.status not in ("AWAITING_PAYMENT", "ACCEPTED") or booking.no_show:
            expected = InvalidTransition
        command = lambda: self.ledger.cancel_booking(  # noqa: E731
            booking_id=BOOKING_IDS[b],
            by=by,
            reason="plans changed",
            refund=refund,
            refund_percent=percent,
        )
        if self.check(command, expected) and booking and booking.status != "CANCELLED":
            # The first cancellation decides; nothing paid means nothing to refund.
            given = 100 if refund else (percent or 0)
            if booking.payment is None:
                given = 0
            booking.status = "CANCELLED"
            booking.refund, booking.percent = given == 100, given

    @rule(
        b=bookings_st,
        to=st.sampled_from(["cal_a", "cal_r1", "cal_r2"]),
        days=st.sampled_from([3, 4, 5]),
        stale=st.booleans(),
    )
    def reschedule(self, b: int, to: str, days: int, stale: bool) -> None:
        """Record a move Cal.com made, from the Cal.com booking the ledger knows (or, ``stale``,
        one it no longer has: a concurrent move got there first)."""
        booking = self.bookings.get(b)
        start = T0 + timedelta(days=days)
        current = booking.calcom_uid if booking else None
        from_uid = "cal_gone" if stale or current is None else current
        expected: type[LedgerError] | None = None
        if booking is None:
            expected = BookingNotFound
        elif to == current:
            expected = None if start == booking.start else ConflictingRecord
        elif booking.status != "ACCEPTED" or booking.no_show:
            expected = InvalidTransition
        elif from_uid != current:
            expected = ConflictingRecord
        command = lambda: self.ledger.reschedule_booking(  # noqa: E731
            booking_id=BOOKING_IDS[b],
            from_calcom_booking_uid=from_uid,
            calcom_booking_uid=to,
            start=start,
            end=start + LENGTH,
            by="user",
        )
        if self.check(command, expected) and booking and to != current:
            booking.calcom_uid, booking.start = to, start
            booking.reschedules += 1

    @rule(
        b=bookings_st,
        party=st.sampled_from(["attendee", "mentor"]),
        outcome=st.sampled_from(["mentor_paid", "claim_open", "refund"]),
    )
    def report_no_show(self, b: int, party: str, outcome: str) -> None:
        booking = self.bookings.get(b)
        expected: type[LedgerError] | None = None
        if booking is None:
            expected = BookingNotFound
        elif booking.no_show is not None:
            same = (party, outcome) == (booking.no_show, booking.reported)
            expected = None if same else ConflictingRecord
        elif booking.status != "ACCEPTED":
            expected = InvalidTransition
        command = lambda: self.ledger.report_no_show(  # noqa: E731
            booking_id=BOOKING_IDS[b], party=party, by="admin", reason="no-show", outcome=outcome
        )
        if self.check(command, expected) and booking and booking.no_show is None:
            booking.no_show, booking.reported, booking.outcome = party, outcome, outcome

    @rule(b=bookings_st, decision=st.sampled_from(["refund", "release"]))
    def decide_no_show(self, b: int, decision: str) -> None:
        booking = self.bookings.get(b)
        expected: type[LedgerError] | None = None
        repeat = False
        if booking is None:
            expected = BookingNotFound
        elif booking.outcome == decision and booking.reported == "claim_open":
            repeat = True
        elif booking.outcome != "claim_open":
            expected = InvalidTransition
        command = lambda: self.ledger.decide_no_show(  # noqa: E731
            booking_id=BOOKING_IDS[b], decision=decision, by="admin", reason="decided"
        )
        if self.check(command, expected) and booking and not repeat:
            booking.outcome = decision

    # --- payments -------------------------------------------------------------------------

    @rule(pi=st.sampled_from(INTENTS), b=bookings_st, kind=kinds_st)
    def record_payment(self, pi: str, b: int, kind: str) -> None:
        booking = self.bookings.get(b)
        price = booking.price if booking else 7500
        discount = price * DISCOUNT // 100 if kind == "discount" else 0
        amount, currency = {
            "price": (price, "usd"),
            "less": (price - 1, "usd"),
            "eur": (price, "eur"),
            "discount": (price - discount, "usd"),
        }[kind]
        existing = self.payments.get(pi)
        expected: type[LedgerError] | None = None
        if existing is not None:
            if (existing.booking, existing.amount, existing.currency) != (b, amount, currency):
                expected = ConflictingRecord
        elif booking is None:
            expected = BookingNotFound
        command = lambda: self.ledger.record_payment(  # noqa: E731
            payment_intent_id=pi,
            charge_id=f"ch_{pi}",
            amount=Money(amount, currency),
            booking_id=BOOKING_IDS[b],
            paid_at=PAID_AT[pi],
            discount=Money(discount, currency) if kind == "discount" else None,
        )
        if not self.check(command, expected) or existing is not None:
            return
        assert booking is not None
        if booking.payment is not None:
            disposition = "duplicate"
        elif booking.status != "AWAITING_PAYMENT":
            disposition = "late"
        elif (amount + discount, currency) != (booking.price, "usd"):
            disposition = "mismatch"
        else:
            disposition = "accepted"
            booking.status, booking.payment = "PENDING", pi
            booking.discount = discount
        self.payments[pi] = ModelPayment(b, amount, currency, disposition)
        assert self.ledger.get_payment(Payment.create_id(pi)).disposition == disposition

    def _pick(self, data: st.DataObject) -> str:
        """Mostly a recorded payment, sometimes any intent (maybe never recorded)."""
        known = sorted(self.payments)
        if known and data.draw(st.integers(0, 9), label="known?"):
            return data.draw(st.sampled_from(known), label="pi")
        return data.draw(st.sampled_from(INTENTS), label="pi")

    @rule(data=st.data(), k=st.integers(0, 3), amount=st.sampled_from([1, 333, 2500, 6000, 7500]))
    def record_refund(self, data: st.DataObject, k: int, amount: int) -> None:
        self.refund(self._pick(data), k, amount)

    @rule(
        data=st.data(),
        hours=st.sampled_from([0, 71, 72, 73, 80]),
        account=st.sampled_from(["acct_a", "acct_b"]),
    )
    def mark_payout_eligible(self, data: st.DataObject, hours: int, account: str) -> None:
        self.make_eligible(self._pick(data), hours, account)

    @rule(data=st.data(), k=st.integers(0, 1), exact=st.booleans())
    def record_paid_out(self, data: st.DataObject, k: int, exact: bool) -> None:
        self.pay_out(self._pick(data), k, exact)

    @rule(data=st.data(), retryable=st.booleans())
    def record_payout_failed(self, data: st.DataObject, retryable: bool) -> None:
        self.fail_payout(self._pick(data), retryable)

    @rule(data=st.data(), k=st.integers(0, 2), part=st.sampled_from(["all", "half", "one"]))
    def record_payout_reversed(self, data: st.DataObject, k: int, part: str) -> None:
        self.reverse(self._pick(data), k, part)

    @rule(data=st.data(), k=st.integers(0, 1), amount=st.sampled_from([100, 7500, 9999]))
    def record_dispute(self, data: st.DataObject, k: int, amount: int) -> None:
        self.dispute(self._pick(data), k, amount)

    @rule(
        b=bookings_st,
        action=st.sampled_from(
            ["partial_cancel", "claim", "claim_refund", "mentor_absent", "attendee_absent", "move"]
        ),
        kind=st.sampled_from(["price", "discount"]),
    )
    def live_a_booked_session(self, b: int, action: str, kind: str) -> None:
        """Take a booking to ACCEPTED (paid, perhaps with a discount), then what happens to
        sessions after booking: a late cancellation refunded in part, a no-show claimed and
        decided, or reported; a move. The refund owed is then made, as the refunds process
        would; the same checked commands run throughout."""
        for _ in range(3):
            booking = self.bookings.get(b)
            if booking is None or booking.status != "AWAITING_PAYMENT":
                break
            unused = [pi for pi in INTENTS if pi not in self.payments]
            if not unused:
                return
            self.record_payment(unused[0], b, kind)
        booking = self.bookings.get(b)
        if booking is not None and booking.status == "PENDING":
            self.record_booked(b, "cal_a")
        booking = self.bookings.get(b)
        if booking is None or booking.status != "ACCEPTED":
            return
        if action == "partial_cancel":
            self.cancel_booking(b, "user", False, 50)
        elif action in ("claim", "claim_refund"):
            self.report_no_show(b, "mentor", "claim_open")
            self.decide_no_show(b, "refund" if action == "claim_refund" else "release")
        elif action == "mentor_absent":
            self.report_no_show(b, "mentor", "refund")
        elif action == "attendee_absent":
            self.report_no_show(b, "attendee", "mentor_paid")
        else:
            self.reschedule(b, "cal_r1" if booking.calcom_uid != "cal_r1" else "cal_r2", 5, False)
        booking = self.bookings[b]
        payment = self.payments.get(booking.payment or "")
        if payment is not None:
            owed = booking.refund_owed(payment.amount) - payment.refunded
            if owed > 0 and payment.status not in ("paid", "payout_eligible"):
                self.refund(booking.payment or "", 3, owed)

    @rule(b=bookings_st, steps=st.integers(1, 3))
    def advance_along_the_happy_path(self, b: int, steps: int) -> None:
        """The next steps a healthy booking takes (or one cancelled without a refund, which is
        still paid out), so deep states (paid out, reversed, refunded after a reversal) are
        reached often; it runs the same checked commands."""
        for _ in range(steps):
            booking = self.bookings.get(b)
            if booking is None:
                return
            payment = self.payments.get(booking.payment or "")
            if booking.status == "AWAITING_PAYMENT":
                unused = [pi for pi in INTENTS if pi not in self.payments]
                if not unused:
                    return
                self.record_payment(unused[0], b, "price")
            elif booking.status == "PENDING":
                self.record_booked(b, "cal_a")
            elif payment is None or not booking.owes_mentor(booking.payment or ""):
                return
            elif payment.status == "payout_eligible":
                self.pay_out(booking.payment or "", 0, exact=True)
            elif payment.status == "paid":
                self.reverse(booking.payment or "", 0, "all")
            else:
                self.make_eligible(booking.payment or "", 80, payment.account or "acct_a")

    # --- payment commands against the model -----------------------------------------------

    def _known(self, pi: str) -> tuple[ModelPayment | None, type[LedgerError] | None]:
        payment = self.payments.get(pi)
        return payment, (PaymentNotFound if payment is None else None)

    def refund(self, pi: str, k: int, amount: int) -> None:
        refund_id = f"re_{pi}_{k}"
        payment, expected = self._known(pi)
        credited_fee: int | None = None
        if payment is not None:
            booking = self.bookings[payment.booking]
            mine = booking.payment == pi
            if refund_id in payment.refunds:
                expected = None if payment.refunds[refund_id] == amount else ConflictingRecord
            elif mine and booking.status == "PENDING":
                expected = InvalidTransition
            elif amount > payment.amount - payment.refunded:
                expected = RefundExceedsPayment
            elif payment.status in ("paid", "payout_eligible"):
                expected = RefundRequiresReversal
            elif mine and booking.calcom_uid is not None:
                credited_fee = booking.booked_fee
                fees_after = (payment.refunded + amount) * credited_fee // payment.amount
                from_mentor = amount - (fees_after - payment.from_fees)
                mentor_left = (
                    payment.amount
                    - credited_fee
                    - payment.paid_out
                    + payment.reversed
                    - payment.from_mentor
                )
                if from_mentor > mentor_left:
                    expected = RefundRequiresReversal
        currency = payment.currency if payment else "usd"
        command = lambda: self.ledger.record_refund(  # noqa: E731
            payment_id=Payment.create_id(pi),
            refund_id=refund_id,
            amount=Money(amount, currency),
            reason="requested_by_customer",
        )
        if not self.check(command, expected):
            return
        assert payment is not None
        if refund_id in payment.refunds:
            return
        payment.refunds[refund_id] = amount
        if credited_fee is not None:
            fees_after = (payment.refunded + amount) * credited_fee // payment.amount
            from_fees = fees_after - payment.from_fees
            payment.from_fees += from_fees
            payment.from_mentor += amount - from_fees
        payment.refunded += amount
        payment.status = "refunded" if payment.refunded == payment.amount else "partially_refunded"

    def make_eligible(self, pi: str, hours: int, account: str) -> None:
        now = T0 + timedelta(hours=hours)
        payment, expected = self._known(pi)
        if payment is not None:
            booking = self.bookings[payment.booking]
            if booking.payment == pi and payment.refunded < booking.refund_owed(payment.amount):
                expected = PayoutNotAllowed  # the partial (or no-show) refund comes first
            elif payment.status in ("payout_eligible", "paid"):
                expected = None if account == payment.account else ConflictingRecord
            elif (
                payment.status not in ("succeeded", "partially_refunded", "payout_failed")
                or payment.disposition != "accepted"
                or not booking.owes_mentor(pi)
                or payment.dispute_id is not None
                or PAID_AT[pi] + HOLD > now
                or booking.booked_amount - booking.booked_fee - payment.from_mentor <= 0
            ):
                expected = PayoutNotAllowed
        command = lambda: self.ledger.mark_payout_eligible(  # noqa: E731
            payment_id=Payment.create_id(pi), destination_account=account, now=now, hold=HOLD
        )
        if self.check(command, expected):
            assert payment is not None
            if payment.status not in ("payout_eligible", "paid"):
                booking = self.bookings[payment.booking]
                payment.status, payment.account = "payout_eligible", account
                # What Booked credited the mentor (fee on what was paid), less what a partial
                # refund took of it.
                payment.transfer_amount = (
                    booking.booked_amount - booking.booked_fee - payment.from_mentor
                )

    def pay_out(self, pi: str, k: int, exact: bool) -> None:
        transfer_id = f"tr_{pi}_{k}"
        payment, expected = self._known(pi)
        amount = 100
        if payment is not None:
            amount = (payment.transfer_amount or 100) + (0 if exact else 1)
            if payment.transfer_id is not None:
                same = (transfer_id, amount) == (payment.transfer_id, payment.paid_out)
                expected = None if same else ConflictingRecord
            elif payment.status != "payout_eligible":
                expected = PayoutNotAllowed
            elif amount != payment.transfer_amount:
                expected = ConflictingRecord
        command = lambda: self.ledger.record_paid_out(  # noqa: E731
            payment_id=Payment.create_id(pi), transfer_id=transfer_id, amount=Money(amount, "usd")
        )
        if self.check(command, expected):
            assert payment is not None
            if payment.transfer_id is None:
                payment.status, payment.transfer_id, payment.paid_out = "paid", transfer_id, amount

    def fail_payout(self, pi: str, retryable: bool) -> None:
        payment, expected = self._known(pi)
        repeat = payment is not None and payment.status == "payout_failed" and not retryable
        if payment is not None and not repeat and payment.status != "payout_eligible":
            expected = InvalidTransition
        command = lambda: self.ledger.record_payout_failed(  # noqa: E731
            payment_id=Payment.create_id(pi), error="account closed", retryable=retryable
        )
        if self.check(command, expected) and not repeat:
            assert payment is not None
            payment.status = "payout_eligible" if retryable else "payout_failed"

    def reverse(self, pi: str, k: int, part: str) -> None:
        """Reverse all, half or one unit of what is left of the transfer (100 if none)."""
        reversal_id = f"trr_{pi}_{k}"
        payment, expected = self._known(pi)
        left = payment.paid_out - payment.reversed if payment and payment.transfer_id else 0
        amount = {"all": left, "half": left // 2, "one": 1}[part] or 100
        if payment is not None:
            if reversal_id in payment.reversals:
                expected = None if payment.reversals[reversal_id] == amount else ConflictingRecord
            elif payment.transfer_id is None or amount > payment.paid_out - payment.reversed:
                expected = InvalidTransition
        command = lambda: self.ledger.record_payout_reversed(  # noqa: E731
            payment_id=Payment.create_id(pi), reversal_id=reversal_id, amount=Money(amount, "usd")
        )
        if self.check(command, expected):
            assert payment is not None
            if reversal_id not in payment.reversals:
                payment.reversals[reversal_id] = amount
                payment.reversed += amount
                payment.status = "payout_reversed"

    def dispute(self, pi: str, k: int, amount: int) -> None:
        dispute_id = f"dp_{pi}_{k}"
        payment, expected = self._known(pi)
        if payment is not None:
            if payment.dispute_id is not None:
                expected = None if dispute_id == payment.dispute_id else ConflictingRecord
            elif amount > payment.amount:
                expected = LedgerValidationError
        currency = payment.currency if payment else "usd"
        command = lambda: self.ledger.record_dispute(  # noqa: E731
            payment_id=Payment.create_id(pi),
            dispute_id=dispute_id,
            amount=Money(amount, currency),
            reason="fraudulent",
        )
        if self.check(command, expected):
            assert payment is not None
            payment.dispute_id = payment.dispute_id or dispute_id

    # --- invariants -----------------------------------------------------------------------

    @invariant()
    def statuses_agree_with_the_model(self) -> None:
        for b, model in self.bookings.items():
            booking = self.ledger.get_booking(BOOKING_IDS[b])
            assert booking.status == model.status
            assert booking.cancel_refund == model.refund
            assert booking.cancel_refund_percent == model.percent
            assert (booking.request.start, booking.reschedules) == (model.start, model.reschedules)
            assert booking.calcom_booking_uid == model.calcom_uid
            assert (booking.no_show_party, booking.no_show_outcome) == (
                model.no_show,
                model.outcome,
            )
            expected_payment = Payment.create_id(model.payment) if model.payment else None
            assert booking.payment_id == expected_payment
        for pi, model_payment in self.payments.items():
            payment = self.ledger.get_payment(Payment.create_id(pi))
            assert payment.status == model_payment.status
            assert payment.refunded_amount == model_payment.refunded <= payment.amount
            assert payment.disputed == (model_payment.dispute_id is not None)

    @invariant()
    def the_stored_log_keeps_the_money_rules(self) -> None:
        for notification in self.ledger.recorder.select_notifications(
            start=self.cursor + 1, limit=1000
        ):
            self.cursor = notification.id
            event = self.ledger.mapper.to_domain_event(notification)
            postings = postings_for(event)
            assert is_balanced(postings), (notification.topic, postings)
            for posting in postings:
                sign = 1 if posting.side == "debit" else -1
                self.balances[(posting.account, posting.currency)] += sign * posting.amount
            payment_id = event.originator_id
            match event:
                case Booking.PaymentConfirmed():
                    self.confirmations[payment_id] += 1
                case Payment.Paid():
                    self.paid[payment_id] = (event.amount, event.paid_at)
                case Payment.Refunded():
                    self.refunded[payment_id] += event.amount
                    assert self.refunded[payment_id] <= self.paid[payment_id][0]
                case Payment.PayoutEligible():
                    assert self.refunded[payment_id] < self.paid[payment_id][0]
                    assert event.eligible_at >= self.paid[payment_id][1] + HOLD
                case Payment.PaidOut():
                    assert self.refunded[payment_id] < self.paid[payment_id][0]
        # A booking is paid at most once.
        assert all(count == 1 for count in self.confirmations.values())
        # The trial balance is zero in every currency.
        per_currency: defaultdict[str, int] = defaultdict(int)
        for (_, currency), balance in self.balances.items():
            per_currency[currency] += balance
        assert not any(per_currency.values()), dict(per_currency)
        # Liabilities never go below zero, nor does the money Stripe holds for us.
        for (account, _), balance in self.balances.items():
            if account == "stripe:balance":
                assert balance >= 0
            else:  # clearing, mentor payables and fees are credit balances
                assert balance <= 0, (account, balance)


LedgerMachine.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestLedgerMachine = LedgerMachine.TestCase
