"""Malformed command input, one case per mistake a caller can make."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from ledger import CurrencyMismatch, Ledger, LedgerValidationError, Money
from tests.support.ledger_factories import HOLD, T0, booking_fields

NAIVE = datetime(2030, 1, 7, 9, 0)


@dataclass(frozen=True)
class Target:
    """An accepted booking and its payment, so every command has something real to act on."""

    booking_id: UUID
    payment_id: UUID


Case = Callable[[Ledger, Target], Any]


def _request(**overrides: Any) -> Case:
    return lambda ledger, _: ledger.request_booking(**booking_fields(**overrides))


def _pay(**overrides: Any) -> Case:
    def case(ledger: Ledger, target: Target) -> Any:
        fields: dict[str, Any] = {
            "payment_intent_id": "pi_bad",
            "charge_id": "ch_bad",
            "amount": Money(7500, "usd"),
            "booking_id": target.booking_id,
            "paid_at": T0,
        }
        return ledger.record_payment(**{**fields, **overrides})

    return case


def _on_payment(command: str, **kwargs: Any) -> Case:
    return lambda ledger, target: getattr(ledger, command)(payment_id=target.payment_id, **kwargs)


def _on_booking(command: str, **kwargs: Any) -> Case:
    return lambda ledger, target: getattr(ledger, command)(booking_id=target.booking_id, **kwargs)


USD = Money(100, "usd")

BAD_INPUTS: dict[str, tuple[Case, type[Exception]]] = {
    "price not Money": (_request(price=7500), LedgerValidationError),
    "price as float": (_request(price=75.0), LedgerValidationError),
    "zero price": (_request(price=Money(0, "usd")), LedgerValidationError),
    "fee above price": (_request(platform_fee=Money(7501, "usd")), LedgerValidationError),
    "fee in other currency": (_request(platform_fee=Money(750, "eur")), CurrencyMismatch),
    "naive start": (_request(start=NAIVE), LedgerValidationError),
    "naive expires_at": (_request(expires_at=NAIVE), LedgerValidationError),
    "end before start": (_request(end=T0), LedgerValidationError),
    "invalid email": (_request(attendee_email="grace@"), LedgerValidationError),
    "unknown time zone": (_request(attendee_time_zone="Mars/Olympus"), LedgerValidationError),
    "time zone path": (_request(attendee_time_zone="../etc/passwd"), LedgerValidationError),
    "empty user id": (_request(user_id=""), LedgerValidationError),
    "blank attendee name": (_request(attendee_name="   "), LedgerValidationError),
    "NUL in attendee name": (_request(attendee_name="Ada\x00"), LedgerValidationError),
    "escape in attendee name": (_request(attendee_name="Ada\x1b[2J"), LedgerValidationError),
    "newline in attendee name": (_request(attendee_name="Ada\nLovelace"), LedgerValidationError),
    "lone surrogate in name": (_request(attendee_name="Ada \ud800"), LedgerValidationError),
    "NUL in user id": (_request(user_id="user\x00"), LedgerValidationError),
    "attendee name too long": (_request(attendee_name="A" * 256), LedgerValidationError),
    "NUL in a reason": (
        _on_booking("record_booking_failed", reason="slot\x00taken", final=True),
        LedgerValidationError,
    ),
    "surrogate in a cancel reason": (
        _on_booking("cancel_booking", by="user", reason="\udfff", refund=True),
        LedgerValidationError,
    ),
    "booking id as str": (_request(booking_id="abc"), LedgerValidationError),
    "event type id zero": (_request(event_type_id=0), LedgerValidationError),
    "event type id bool": (_request(event_type_id=True), LedgerValidationError),
    "empty reservation uid": (_request(reservation_uid=""), LedgerValidationError),
    "payment amount int": (_pay(amount=7500), LedgerValidationError),
    "payment amount negative": (_pay(amount=-7500), LedgerValidationError),
    "payment naive paid_at": (_pay(paid_at=NAIVE), LedgerValidationError),
    "payment empty intent id": (_pay(payment_intent_id=""), LedgerValidationError),
    "payment empty charge id": (_pay(charge_id=""), LedgerValidationError),
    "payment booking id as str": (_pay(booking_id="b-1"), LedgerValidationError),
    "booked empty uid": (
        _on_booking("record_booked", calcom_booking_uid=""),
        LedgerValidationError,
    ),
    "failed final not bool": (
        _on_booking("record_booking_failed", reason="x", final=None),
        LedgerValidationError,
    ),
    "cancel by a stranger": (
        _on_booking("cancel_booking", by="robot", reason="x", refund=True),
        LedgerValidationError,
    ),
    "cancel refund not bool": (
        _on_booking("cancel_booking", by="user", reason="x", refund="no"),
        LedgerValidationError,
    ),
    "cancel refund as int": (
        _on_booking("cancel_booking", by="user", reason="x", refund=0),
        LedgerValidationError,
    ),
    "refund zero": (
        _on_payment("record_refund", refund_id="re_1", amount=Money(0, "usd"), reason="x"),
        LedgerValidationError,
    ),
    "refund as int": (
        _on_payment("record_refund", refund_id="re_1", amount=100, reason="x"),
        LedgerValidationError,
    ),
    "refund empty id": (
        _on_payment("record_refund", refund_id="", amount=USD, reason="x"),
        LedgerValidationError,
    ),
    "refund in euros": (
        _on_payment("record_refund", refund_id="re_1", amount=Money(100, "eur"), reason="x"),
        CurrencyMismatch,
    ),
    "eligible naive now": (
        _on_payment("mark_payout_eligible", destination_account="acct", now=NAIVE, hold=HOLD),
        LedgerValidationError,
    ),
    "eligible negative hold": (
        _on_payment(
            "mark_payout_eligible", destination_account="acct", now=T0, hold=timedelta(hours=-1)
        ),
        LedgerValidationError,
    ),
    "eligible hold as hours": (
        _on_payment("mark_payout_eligible", destination_account="acct", now=T0, hold=72),
        LedgerValidationError,
    ),
    "paid out float": (
        _on_payment("record_paid_out", transfer_id="tr_1", amount=6750.0),
        LedgerValidationError,
    ),
    "payout failed retryable str": (
        _on_payment("record_payout_failed", error="x", retryable="yes"),
        LedgerValidationError,
    ),
    "reversal empty id": (
        _on_payment("record_payout_reversed", reversal_id="", amount=USD),
        LedgerValidationError,
    ),
    "dispute zero": (
        _on_payment("record_dispute", dispute_id="dp", amount=Money(0, "usd"), reason="x"),
        LedgerValidationError,
    ),
    "get booking by str": (lambda ledger, _: ledger.get_booking("x"), LedgerValidationError),
}
