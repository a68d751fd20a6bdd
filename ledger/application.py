"""The ``Ledger`` application: the commands that record bookings and payments.

Each command validates its input first (``LedgerValidationError``, nothing recorded),
loads the aggregates it needs, lets them decide, and saves what they decided in one
transaction, shared with the commands that arrived meanwhile (``ledger/group_commit.py``).
A concurrent write of the same aggregate makes the save fail with the library's
``IntegrityError``; the command then reloads and decides again, which is what makes
concurrent duplicates (two webhooks for one payment) collapse into one record. Repeating
a command with the same data is a no-op.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ParamSpec, TypeVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import BaseAggregate
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.utils import retry

from ledger import validation as v
from ledger.attention import Attention
from ledger.booking import (
    NO_SHOW_DECISIONS,
    NO_SHOW_OUTCOMES,
    NO_SHOW_PARTIES,
    Booking,
    BookingRequest,
)
from ledger.checkout_intent import CheckoutFacts, CheckoutIntent, intent_id_for
from ledger.errors import (
    BookingNotFound,
    ConflictingRecord,
    CurrencyMismatch,
    LedgerValidationError,
    PaymentNotFound,
    PayoutNotAllowed,
)
from ledger.event_reads import ReadStats, SharedReads, events_reader
from ledger.group_commit import CommitStats, GroupCommitter
from ledger.money import Money
from ledger.payment import Payment
from ledger.session_policy import FixedPolicies, PolicySource
from ledger.statuses import CANCELLERS, Disposition

A = TypeVar("A", Booking, Payment, CheckoutIntent, Attention)
P = ParamSpec("P")
R = TypeVar("R")

# Optimistic concurrency: each lost race costs one reload. 16 writers racing on one
# aggregate need up to 16 rounds; the short wait lets the winner's commit land.
_retry_integrity_error = retry(IntegrityError, max_attempts=64, wait=0.002)


def _retry_on_conflict(command: Callable[P, R]) -> Callable[P, R]:
    """The library's retry decorator, keeping the command's signature (it returns Any).
    Each attempt tells the group committer it is under way (``GroupCommitter.deciding``)."""

    @functools.wraps(command)
    def attempt(*args: P.args, **kwargs: P.kwargs) -> R:
        ledger = args[0]
        assert isinstance(ledger, Ledger)
        if ledger._group_commit is None:
            return command(*args, **kwargs)
        with ledger._group_commit.deciding():
            return command(*args, **kwargs)

    return cast(Callable[P, R], _retry_integrity_error(attempt))


_ID_LENGTH = 255


@dataclass(frozen=True)
class PaymentRecorded:
    payment_id: UUID
    disposition: Disposition
    newly_recorded: bool  # False: this PaymentIntent was already recorded


class Ledger(Application[UUID]):
    name = "ledger"  # PostgreSQL table ledger_events; env keys may be prefixed LEDGER_

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        policies: PolicySource | None = None,
        group_commit: bool = True,
    ) -> None:
        super().__init__(env)
        # The policy a payment fixes for its booking (the catalogue's, in the product).
        self.policies: PolicySource = policies or FixedPolicies()
        # Concurrent commands share transactions (ledger/group_commit.py); without it each
        # command saves on its own, queueing for the table lock (the library as it is).
        self._group_commit = GroupCommitter(self._save_events) if group_commit else None
        # Several aggregates in one query, on PostgreSQL shared by concurrent commands
        # (event_reads.py); the library's repository is still used wherever a cache or
        # snapshots would make a raw read wrong.
        self._read_events = events_reader(
            self.recorder,
            others_under_way=self._group_commit.others_under_way if self._group_commit else None,
        )
        self._raw_reads = self.repository.cache is None and self.snapshots is None

    # --- booking commands ---------------------------------------------------------------

    @_retry_on_conflict
    def request_booking(
        self,
        *,
        booking_id: UUID,
        user_id: str,
        mentor_id: str,
        event_type_id: int,
        start: datetime,
        end: datetime,
        attendee_name: str,
        attendee_email: str,
        attendee_time_zone: str,
        price: Money,
        platform_fee: Money,
        checkout_session_id: str,
        reservation_uid: str | None,
        expires_at: datetime,
    ) -> Booking:
        """Record a new booking awaiting payment (same id and data again: no-op)."""
        booking_id = v.require_uuid(booking_id, "booking_id")
        session = _session_facts(
            user_id=user_id,
            mentor_id=mentor_id,
            event_type_id=event_type_id,
            start=start,
            end=end,
            attendee_name=attendee_name,
            attendee_email=attendee_email,
            attendee_time_zone=attendee_time_zone,
            price=price,
            platform_fee=platform_fee,
        )
        request = BookingRequest(
            **session,
            checkout_session_id=v.require_text(
                checkout_session_id, "checkout_session_id", max_length=_ID_LENGTH
            ),
            reservation_uid=v.require_optional_text(reservation_uid, "reservation_uid"),
            expires_at=v.require_utc(expires_at, "expires_at"),
        )
        existing = self._load_any(booking_id)
        if existing is not None:
            if not isinstance(existing, Booking):
                raise ConflictingRecord(f"{booking_id} is not a booking id")
            existing.check_same_request(request)
            return existing
        booking = Booking.request_new(booking_id, request)
        self._commit(booking)
        return booking

    # --- checkout intent commands (recorded before the checkout's side effects) ----------

    @_retry_on_conflict
    def record_checkout_intent(
        self,
        *,
        booking_id: UUID,
        user_id: str,
        mentor_id: str,
        event_type_id: int,
        start: datetime,
        end: datetime,
        attendee_name: str,
        attendee_email: str,
        attendee_time_zone: str,
        price: Money,
        platform_fee: Money,
        product_name: str,
        return_url: str,
        expires_at: datetime,
    ) -> CheckoutIntent:
        """Record what a checkout will do before it does anything. The same request again
        returns the intent first recorded, with the price and expiry it fixed."""
        booking_id = v.require_uuid(booking_id, "booking_id")
        session = _session_facts(
            user_id=user_id,
            mentor_id=mentor_id,
            event_type_id=event_type_id,
            start=start,
            end=end,
            attendee_name=attendee_name,
            attendee_email=attendee_email,
            attendee_time_zone=attendee_time_zone,
            price=price,
            platform_fee=platform_fee,
        )
        facts = CheckoutFacts(
            **session,
            product_name=v.require_text(product_name, "product_name"),
            return_url=v.require_text(return_url, "return_url"),
        )
        expires_at = v.require_utc(expires_at, "expires_at")
        existing = self._load_any(intent_id_for(booking_id))
        if existing is not None:
            if not isinstance(existing, CheckoutIntent):
                raise ConflictingRecord(f"{booking_id} has no checkout intent id")
            existing.check_same_request(facts)
            return existing
        intent = CheckoutIntent.record(booking_id, facts, expires_at)
        self._commit(intent)
        return intent

    @_retry_on_conflict
    def record_checkout_hold(self, *, booking_id: UUID, reservation_uid: str) -> CheckoutIntent:
        """Record the Cal.com hold; if another attempt recorded one first, that one stays."""
        uid = v.require_text(reservation_uid, "reservation_uid", max_length=_ID_LENGTH)
        intent = self._intent(booking_id)
        if intent.hold(uid):
            self._commit(intent)
        return intent

    @_retry_on_conflict
    def reschedule_checkout(self, *, booking_id: UUID, expires_at: datetime) -> CheckoutIntent:
        expires_at = v.require_utc(expires_at, "expires_at")
        intent = self._intent(booking_id)
        if intent.reschedule(expires_at):
            self._commit(intent)
        return intent

    @_retry_on_conflict
    def abandon_checkout(self, *, booking_id: UUID, reason: str) -> CheckoutIntent:
        reason = v.require_text(reason, "reason")
        intent = self._intent(booking_id)
        if intent.abandon(reason):
            self._commit(intent)
        return intent

    def checkout_intent(self, booking_id: UUID) -> CheckoutIntent | None:
        return self._find(intent_id_for(v.require_uuid(booking_id, "booking_id")), CheckoutIntent)

    def checkout_intent_of(self, intent_id: UUID) -> CheckoutIntent | None:
        """The intent by its own id (as its events carry it)."""
        return self._find(v.require_uuid(intent_id, "intent_id"), CheckoutIntent)

    def _intent(self, booking_id: UUID) -> CheckoutIntent:
        intent = self.checkout_intent(booking_id)
        if intent is None:
            raise BookingNotFound(f"no checkout {booking_id}")
        return intent

    @_retry_on_conflict
    def record_booked(self, *, booking_id: UUID, calcom_booking_uid: str) -> Booking:
        uid = v.require_text(calcom_booking_uid, "calcom_booking_uid", max_length=_ID_LENGTH)
        booking = self.get_booking(booking_id)
        if booking.book(uid):
            self._commit(booking)
        return booking

    @_retry_on_conflict
    def record_booking_failed(self, *, booking_id: UUID, reason: str, final: bool) -> Booking:
        reason = v.require_reason(reason, "reason")
        final = v.require_bool(final, "final")
        booking = self.get_booking(booking_id)
        if booking.fail(reason, final):
            self._commit(booking)
        return booking

    @_retry_on_conflict
    def expire_booking(self, *, booking_id: UUID) -> Booking:
        """Expire the booking if it is still awaiting payment; otherwise a no-op."""
        booking = self.get_booking(booking_id)
        if booking.expire():
            self._commit(booking)
        return booking

    @_retry_on_conflict
    def cancel_booking(
        self,
        *,
        booking_id: UUID,
        by: str,
        reason: str,
        refund: bool,
        refund_percent: int | None = None,
    ) -> Booking:
        """Cancel the booking, recording whether the payer is refunded in full (``refund``,
        decided by the caller's policy; recorded as False when nothing was paid), or else the
        percentage a late cancellation gives back. Without a full refund a booked session's
        payment (less any partial refund) is still paid out to the mentor."""
        by = v.require_choice(by, "by", CANCELLERS)
        reason = v.require_reason(reason, "reason")
        refund = v.require_bool(refund, "refund")
        if refund_percent is not None:
            refund_percent = v.require_int(refund_percent, "refund_percent", minimum=0)
            if refund_percent > 100:
                raise LedgerValidationError("refund_percent must be at most 100")
        booking = self.get_booking(booking_id)
        if booking.cancel(by, reason, refund, refund_percent):
            self._commit(booking)
        return booking

    @_retry_on_conflict
    def reschedule_booking(
        self,
        *,
        booking_id: UUID,
        from_calcom_booking_uid: str,
        calcom_booking_uid: str,
        start: datetime,
        end: datetime,
        by: str,
    ) -> Booking:
        """Record that Cal.com moved the session (a new Cal.com booking replaced the old)."""
        from_uid = v.require_text(
            from_calcom_booking_uid, "from_calcom_booking_uid", max_length=_ID_LENGTH
        )
        to_uid = v.require_text(calcom_booking_uid, "calcom_booking_uid", max_length=_ID_LENGTH)
        start = v.require_utc(start, "start")
        end = v.require_utc(end, "end")
        if end <= start:
            raise LedgerValidationError("end must be after start")
        by = v.require_choice(by, "by", CANCELLERS)
        booking = self.get_booking(booking_id)
        if booking.reschedule(from_uid=from_uid, to_uid=to_uid, start=start, end=end, by=by):
            self._commit(booking)
        return booking

    @_retry_on_conflict
    def report_no_show(
        self, *, booking_id: UUID, party: str, by: str, reason: str, outcome: str
    ) -> Booking:
        """Record a no-show and what it means for the payment (``NO_SHOW_OUTCOMES``)."""
        party = v.require_choice(party, "party", NO_SHOW_PARTIES)
        by = v.require_choice(by, "by", CANCELLERS)
        reason = v.require_text(reason, "reason")
        outcome = v.require_choice(outcome, "outcome", NO_SHOW_OUTCOMES)
        booking = self.get_booking(booking_id)
        if booking.report_no_show(party=party, by=by, reason=reason, outcome=outcome):
            self._commit(booking)
        return booking

    @_retry_on_conflict
    def decide_no_show(self, *, booking_id: UUID, decision: str, by: str, reason: str) -> Booking:
        """Settle an open claim that the mentor did not show: refund, or release the payout."""
        decision = v.require_choice(decision, "decision", NO_SHOW_DECISIONS)
        by = v.require_choice(by, "by", CANCELLERS)
        reason = v.require_text(reason, "reason")
        booking = self.get_booking(booking_id)
        if booking.decide_no_show(decision=decision, by=by, reason=reason):
            self._commit(booking)
        return booking

    # --- payment commands ---------------------------------------------------------------

    @_retry_on_conflict
    def record_payment(
        self,
        *,
        payment_intent_id: str,
        charge_id: str,
        amount: Money,
        booking_id: UUID,
        paid_at: datetime,
        discount: Money | None = None,
    ) -> PaymentRecorded:
        """Record a succeeded PaymentIntent and, if it pays its booking, confirm the
        booking and fix its event type's policy in the same transaction. ``discount`` is a
        promotion code's: the price less it is then the amount due. The same PaymentIntent
        again is a no-op."""
        payment_intent_id = v.require_text(
            payment_intent_id, "payment_intent_id", max_length=_ID_LENGTH
        )
        charge_id = v.require_text(charge_id, "charge_id", max_length=_ID_LENGTH)
        amount = v.require_money(amount, "amount")
        booking_id = v.require_uuid(booking_id, "booking_id")
        paid_at = v.require_utc(paid_at, "paid_at")

        payment_id = Payment.create_id(payment_intent_id)
        # The idempotency check and the booking in one read: the command's hot path.
        loaded = self._load_many(payment_id, booking_id)
        existing = _of_kind(loaded.get(payment_id), Payment)
        if existing is not None:
            existing.check_same_payment(charge_id=charge_id, amount=amount, booking_id=booking_id)
            return PaymentRecorded(existing.id, Disposition(existing.disposition), False)

        discount_amount = 0
        if discount is not None:
            discount = v.require_money(discount, "discount", allow_zero=True)
            if discount.currency != amount.currency:
                raise CurrencyMismatch("discount must be in the payment's currency")
            discount_amount = discount.amount
        booking = _of_kind(loaded.get(booking_id), Booking)
        if booking is None:
            raise BookingNotFound(f"no booking {booking_id}")
        disposition = booking.disposition_for(amount, discount_amount)
        payment = Payment.record(
            payment_intent_id=payment_intent_id,
            charge_id=charge_id,
            amount=amount,
            booking_id=booking_id,
            mentor_id=booking.mentor_id,
            paid_at=paid_at,
            disposition=disposition,
        )
        if disposition == Disposition.ACCEPTED:
            booking.confirm_payment(payment.id, payment_intent_id, discount_amount)
            booking.fix_policy(self.policies.policy_for(booking.request.event_type_id))
        # One transaction: a booking is never confirmed by a payment that isn't stored.
        self._commit(payment, booking)
        return PaymentRecorded(payment.id, disposition, True)

    @_retry_on_conflict
    def record_refund(
        self, *, payment_id: UUID, refund_id: str, amount: Money, reason: str
    ) -> Payment:
        """Record a Stripe refund; never beyond what was paid, never of paid-out money."""
        refund_id = v.require_text(refund_id, "refund_id", max_length=_ID_LENGTH)
        amount = v.require_money(amount, "amount")
        reason = v.require_reason(reason, "reason")
        payment = self.get_payment(payment_id)
        if payment.knows_refund(refund_id, amount):
            return payment
        payment.check_currency(amount)
        booking = self.get_booking(payment.booking_id)
        credited_fee = booking.credited_fee_for(payment.id)
        if payment.refund(refund_id, amount, reason, credited_fee):
            self._commit(payment)
        return payment

    @_retry_on_conflict
    def mark_payout_eligible(
        self,
        *,
        payment_id: UUID,
        destination_account: str,
        now: datetime,
        hold: timedelta,
        after_session: timedelta | None = None,
    ) -> Payment:
        """Clear the payment for transfer to the mentor once its hold has passed and, with
        ``after_session``, the session has ended that long ago. Its booking must be booked, or
        cancelled after booking without a full refund (a partial one made first)."""
        destination_account = v.require_text(
            destination_account, "destination_account", max_length=_ID_LENGTH
        )
        now = v.require_utc(now, "now")
        hold = v.require_hold(hold, "hold")
        payment = self.get_payment(payment_id)
        booking = self.get_booking(payment.booking_id)
        if after_session is not None and payment.disposition == Disposition.ACCEPTED:
            after_session = v.require_hold(after_session, "after_session")
            if booking.request.end + after_session > now and booking.payment_id == payment.id:
                raise PayoutNotAllowed(
                    f"payment {payment.id}: its session ends at {booking.request.end}; "
                    f"it is paid out {after_session} later"
                )
        if booking.payment_id == payment.id and payment.refunded_amount < booking.refund_owed(
            payment.amount
        ):
            raise PayoutNotAllowed(f"payment {payment.id}: its partial refund is made first")
        booked_amount = booking.booked_amount
        if booked_amount is None:
            booked_amount = booking.request.price_amount
        booked_fee = booking.booked_fee
        if booked_fee is None:
            booked_fee = booking.request.platform_fee_amount
        if payment.make_payout_eligible(
            destination_account=destination_account,
            now=now,
            hold=hold,
            booking_payable=booking.is_payable_with(payment.id),
            price_amount=booked_amount,
            platform_fee_amount=booked_fee,
        ):
            self._commit(payment)
        return payment

    @_retry_on_conflict
    def record_paid_out(self, *, payment_id: UUID, transfer_id: str, amount: Money) -> Payment:
        transfer_id = v.require_text(transfer_id, "transfer_id", max_length=_ID_LENGTH)
        amount = v.require_money(amount, "amount")
        payment = self.get_payment(payment_id)
        if payment.pay_out(transfer_id, amount):
            self._commit(payment)
        return payment

    @_retry_on_conflict
    def record_payout_failed(self, *, payment_id: UUID, error: str, retryable: bool) -> Payment:
        error = v.require_reason(error, "error")
        retryable = v.require_bool(retryable, "retryable")
        payment = self.get_payment(payment_id)
        if payment.fail_payout(error, retryable):
            self._commit(payment)
        return payment

    @_retry_on_conflict
    def record_payout_reversed(
        self, *, payment_id: UUID, reversal_id: str, amount: Money
    ) -> Payment:
        reversal_id = v.require_text(reversal_id, "reversal_id", max_length=_ID_LENGTH)
        amount = v.require_money(amount, "amount")
        payment = self.get_payment(payment_id)
        if payment.reverse_payout(reversal_id, amount):
            self._commit(payment)
        return payment

    @_retry_on_conflict
    def record_dispute(
        self, *, payment_id: UUID, dispute_id: str, amount: Money, reason: str
    ) -> Payment:
        dispute_id = v.require_text(dispute_id, "dispute_id", max_length=_ID_LENGTH)
        amount = v.require_money(amount, "amount")
        reason = v.require_reason(reason, "reason")
        payment = self.get_payment(payment_id)
        if payment.dispute(dispute_id, amount, reason):
            self._commit(payment)
        return payment

    # --- operations: the attention queue ------------------------------------------------

    @_retry_on_conflict
    def record_attention_retry(
        self, *, key: str, kind: str, subject: str, by: str, reason: str
    ) -> Attention:
        """Record that ``by`` asked for another try of attention item ``key``, and why."""
        item = self._attention_item(key, kind, subject)
        item.request_retry(
            v.require_text(by, "by", max_length=_ID_LENGTH), v.require_reason(reason, "reason")
        )
        self._commit(item)
        return item

    @_retry_on_conflict
    def record_attention_resolved(
        self, *, key: str, kind: str, subject: str, by: str, reason: str
    ) -> Attention:
        """Record that ``by`` closed attention item ``key`` without another try, and why
        (resolving twice is a no-op)."""
        item = self._attention_item(key, kind, subject)
        by = v.require_text(by, "by", max_length=_ID_LENGTH)
        if item.resolve(by, v.require_reason(reason, "reason")):
            self._commit(item)
        return item

    def get_attention(self, key: str) -> Attention | None:
        key = v.require_text(key, "key", max_length=_ID_LENGTH)
        return self._find(Attention.create_id(key), Attention)

    def _attention_item(self, key: str, kind: str, subject: str) -> Attention:
        key = v.require_text(key, "key", max_length=_ID_LENGTH)
        kind = v.require_text(kind, "kind", max_length=64)
        subject = v.require_text(subject, "subject", max_length=_ID_LENGTH)
        return self._find(Attention.create_id(key), Attention) or Attention.note(key, kind, subject)

    # --- queries ------------------------------------------------------------------------

    def get_booking(self, booking_id: UUID) -> Booking:
        booking = self._find(v.require_uuid(booking_id, "booking_id"), Booking)
        if booking is None:
            raise BookingNotFound(f"no booking {booking_id}")
        return booking

    def get_payment(self, payment_id: UUID) -> Payment:
        payment = self._find(v.require_uuid(payment_id, "payment_id"), Payment)
        if payment is None:
            raise PaymentNotFound(f"no payment {payment_id}")
        return payment

    def payment_for_intent(self, payment_intent_id: str) -> Payment | None:
        pi_id = v.require_text(payment_intent_id, "payment_intent_id", max_length=_ID_LENGTH)
        return self._find(Payment.create_id(pi_id), Payment)

    def paying_payment(self, booking: Booking) -> Payment | None:
        """The payment that pays ``booking``, if one does."""
        return self.get_payment(booking.payment_id) if booking.payment_id is not None else None

    def payment_id_for_booking(self, booking_id: UUID) -> UUID | None:
        """The payment that paid the booking (None while unpaid)."""
        return self.get_booking(booking_id).payment_id

    def _commit(self, *aggregates: BaseAggregate[UUID]) -> None:
        """Store what the aggregates decided, all in one transaction (shared with concurrent
        commands'); ``IntegrityError`` if one of them changed since it was loaded."""
        if self._group_commit is None:
            self.save(*aggregates)
            return
        # Encoded here, on the caller's thread, while other callers wait for their reads:
        # not in the batch's save, which every caller of the batch waits for.
        encode = self.mapper.to_stored_event
        self._group_commit.commit(
            [encode(event) for aggregate in aggregates for event in aggregate.collect_events()]
        )

    def _save_events(self, events: Sequence[StoredEvent]) -> None:
        """What ``save(*events)`` does here with events already encoded (given events, not
        aggregates, it takes no snapshots; this application has no ``notify`` hooks), without
        its per-object runtime protocol checks or the recordings it returns: the committer's
        save."""
        self.recorder.insert_events(events)

    @property
    def commit_stats(self) -> CommitStats | None:
        """The group committer's figures so far (None without group commit)."""
        return self._group_commit.stats if self._group_commit is not None else None

    @property
    def read_stats(self) -> ReadStats | None:
        """The shared reads' figures so far (None where reads are not shared: SQLite, memory)."""
        return self._read_events.stats if isinstance(self._read_events, SharedReads) else None

    @property
    def saves_waiting(self) -> int:
        """Commands decided and queued for the next group commit (0 without group commit)."""
        return self._group_commit.waiting if self._group_commit is not None else 0

    def _load_any(self, aggregate_id: UUID) -> Any:
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def _find(self, aggregate_id: UUID, kind: type[A]) -> A | None:
        return _of_kind(self._load_any(aggregate_id), kind)

    def _load_many(self, *aggregate_ids: UUID) -> dict[UUID, Any]:
        """The aggregates that exist among ``aggregate_ids``, read in one query where the
        store allows it (what ``repository.get`` would give for each)."""
        if not self._raw_reads:
            each = {aggregate_id: self._load_any(aggregate_id) for aggregate_id in aggregate_ids}
            return {key: aggregate for key, aggregate in each.items() if aggregate is not None}
        decode = self.mapper.to_domain_event
        found: dict[UUID, Any] = {}
        for aggregate_id, events in self._read_events(aggregate_ids).items():
            # ``project_aggregate`` without its per-event runtime protocol check (an
            # ``isinstance`` against a Protocol costs as much as decoding the event).
            aggregate = None
            for stored in events:
                aggregate = decode(stored).mutate(aggregate)  # type: ignore[attr-defined]
            found[aggregate_id] = aggregate
        return found


def _of_kind(aggregate: object, kind: type[A]) -> A | None:
    return aggregate if isinstance(aggregate, kind) else None


def _session_facts(
    *,
    user_id: str,
    mentor_id: str,
    event_type_id: int,
    start: datetime,
    end: datetime,
    attendee_name: str,
    attendee_email: str,
    attendee_time_zone: str,
    price: Money,
    platform_fee: Money,
) -> dict[str, Any]:
    """The validated facts a checkout intent and a booking request share: who, when, for how
    much (typed errors; nothing is recorded when one is refused)."""
    start = v.require_utc(start, "start")
    end = v.require_utc(end, "end")
    if end <= start:
        raise LedgerValidationError("end must be after start")
    price = v.require_money(price, "price")
    platform_fee = v.require_money(platform_fee, "platform_fee", allow_zero=True)
    if platform_fee.currency != price.currency:
        raise CurrencyMismatch("platform_fee must be in the price's currency")
    if platform_fee.amount > price.amount:
        raise LedgerValidationError("platform_fee must not exceed the price")
    return {
        "user_id": v.require_text(user_id, "user_id", max_length=_ID_LENGTH),
        "mentor_id": v.require_text(mentor_id, "mentor_id", max_length=_ID_LENGTH),
        "event_type_id": v.require_int(event_type_id, "event_type_id", minimum=1),
        "start": start,
        "end": end,
        "attendee_name": v.require_text(attendee_name, "attendee_name", max_length=_ID_LENGTH),
        "attendee_email": v.require_email(attendee_email, "attendee_email"),
        "attendee_time_zone": v.require_time_zone(attendee_time_zone, "attendee_time_zone"),
        "price_amount": price.amount,
        "currency": price.currency,
        "platform_fee_amount": platform_fee.amount,
    }
