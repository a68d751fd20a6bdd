"""What a mentor has earned, read from the journal (the mentor's payable account) and the
payments read model; and a month's statement of that account.

Every figure is a sum of journal lines, so it agrees with the journal to the cent:
``held + due`` is the payable balance (credits less debits), ``paidOut`` the transfers debited,
``reversed`` the reversals credited back, ``fees`` the platform's fee on the mentor's payments
(credits less refunds' debits). What is ``due`` is the part of the balance owed by payments the
payout run would take now (hold passed, session ended long enough ago, not held back).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ledger import PLATFORM_FEES, Payment, mentor_payable
from ledger.statuses import PaymentStatus
from projections.store import Transaction

_PAID_OUT = str(Payment.PaidOut.TOPIC)
_REVERSED = str(Payment.PayoutReversed.TOPIC)
_PAYABLE_STATUSES = (PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED)


@dataclass
class CurrencyEarnings:
    currency: str
    held: int = 0
    due: int = 0
    paid_out: int = 0
    reversed: int = 0
    fees: int = 0

    @property
    def owed(self) -> int:
        """What the platform owes the mentor now: the payable account's balance."""
        return self.held + self.due


@dataclass(frozen=True)
class PayoutLine:
    payment_id: str
    booking_id: str
    transfer_id: str
    amount: int
    currency: str
    paid_out_at: datetime | None


@dataclass
class Earnings:
    mentor_id: str
    currencies: list[CurrencyEarnings] = field(default_factory=list)
    payouts: list[PayoutLine] = field(default_factory=list)


def _signed(side: str, amount: int) -> int:
    return int(amount) if side == "credit" else -int(amount)


def mentor_earnings(
    tx: Transaction,
    mentor_id: str,
    *,
    paid_before: datetime,
    ended_before: datetime | None,
) -> Earnings:
    """``paid_before`` = now less the hold; ``ended_before`` = now less the time after the
    session (None: the hold alone), as the payout run uses them."""
    account = mentor_payable(mentor_id)
    lines = tx.execute(
        "SELECT payment_id, event_type, side, amount, currency FROM journal_entries"
        " WHERE account = %s",
        (account,),
    ).fetchall()
    payments = {
        row["id"]: row
        for row in tx.execute(
            "SELECT id, booking_id, status, booking_payable, disputed, paid_at, session_end,"
            " transfer_id, transfer_amount, currency, paid_out_at FROM payments"
            " WHERE mentor_id = %s ORDER BY paid_at, id",
            (mentor_id,),
        ).fetchall()
    }
    fee_lines = tx.execute(
        "SELECT j.side, j.amount, j.currency FROM journal_entries j"
        " JOIN payments p ON p.id = j.payment_id"
        " WHERE j.account = %s AND p.mentor_id = %s",
        (PLATFORM_FEES, mentor_id),
    ).fetchall()
    by_currency: dict[str, CurrencyEarnings] = {}

    def of(currency: str) -> CurrencyEarnings:
        return by_currency.setdefault(currency, CurrencyEarnings(currency))

    owed_by_payment: defaultdict[tuple[str, str], int] = defaultdict(int)
    for line in lines:
        owed_by_payment[(line["payment_id"], line["currency"])] += _signed(
            line["side"], line["amount"]
        )
        if line["event_type"] == _PAID_OUT:
            of(line["currency"]).paid_out += int(line["amount"])
        elif line["event_type"] == _REVERSED:
            of(line["currency"]).reversed += int(line["amount"])
    for (payment_id, currency), owed in owed_by_payment.items():
        figures = of(currency)
        if _is_due(payments.get(payment_id), paid_before, ended_before):
            figures.due += owed
        else:
            figures.held += owed
    for line in fee_lines:
        of(line["currency"]).fees += _signed(line["side"], line["amount"])
    payouts = [
        PayoutLine(
            payment_id=row["id"],
            booking_id=row["booking_id"],
            transfer_id=row["transfer_id"],
            amount=int(row["transfer_amount"]),
            currency=row["currency"],
            paid_out_at=row["paid_out_at"],
        )
        for row in payments.values()
        if row["transfer_id"] is not None
    ]
    return Earnings(mentor_id, sorted(by_currency.values(), key=lambda e: e.currency), payouts)


def _is_due(
    payment: dict[str, Any] | None, paid_before: datetime, ended_before: datetime | None
) -> bool:
    """What the payout run would take now (``payments.PAYOUT_QUEUE_PREDICATE`` and its times)."""
    if payment is None:
        return False
    if payment["status"] == PaymentStatus.PAYOUT_ELIGIBLE:
        return True
    if payment["status"] not in _PAYABLE_STATUSES:
        return False
    if not payment["booking_payable"] or payment["disputed"]:
        return False
    if payment["paid_at"] > paid_before:
        return False
    end = payment["session_end"]
    return ended_before is None or end is None or end <= ended_before


# -- the statement --------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementLine:
    recorded_at: datetime
    event_type: str
    booking_id: str | None
    payment_id: str | None
    currency: str
    credit: int
    debit: int


@dataclass
class StatementTotals:
    currency: str
    opening: int = 0  # owed at the start of the month (credits less debits)
    earned: int = 0  # credited by bookings (price less fee)
    refunded: int = 0  # debited by refunds (the mentor's share)
    paid_out: int = 0  # debited by transfers
    reversed: int = 0  # credited back by transfer reversals
    fees: int = 0  # the platform's fee on the mentor's payments this month

    @property
    def closing(self) -> int:
        return self.opening + self.earned - self.refunded - self.paid_out + self.reversed


@dataclass
class Statement:
    mentor_id: str
    month: str
    lines: list[StatementLine]
    totals: list[StatementTotals]


def mentor_statement(
    tx: Transaction, mentor_id: str, month: str, start: datetime, end: datetime
) -> Statement:
    """The mentor's payable account from ``start`` (inclusive) to ``end`` (exclusive)."""
    account = mentor_payable(mentor_id)
    opening = tx.execute(
        "SELECT currency, side, SUM(amount) AS total FROM journal_entries"
        " WHERE account = %s AND recorded_at < %s GROUP BY currency, side",
        (account, start),
    ).fetchall()
    rows = tx.execute(
        "SELECT recorded_at, event_type, booking_id, payment_id, side, amount, currency"
        " FROM journal_entries WHERE account = %s AND recorded_at >= %s AND recorded_at < %s"
        " ORDER BY position, line",
        (account, start, end),
    ).fetchall()
    fees = tx.execute(
        "SELECT j.currency, j.side, SUM(j.amount) AS total FROM journal_entries j"
        " JOIN payments p ON p.id = j.payment_id"
        " WHERE j.account = %s AND p.mentor_id = %s AND j.recorded_at >= %s"
        " AND j.recorded_at < %s GROUP BY j.currency, j.side",
        (PLATFORM_FEES, mentor_id, start, end),
    ).fetchall()
    totals: dict[str, StatementTotals] = {}

    def of(currency: str) -> StatementTotals:
        return totals.setdefault(currency, StatementTotals(currency))

    for row in opening:
        of(row["currency"]).opening += _signed(row["side"], row["total"])
    for row in fees:
        of(row["currency"]).fees += _signed(row["side"], row["total"])
    lines: list[StatementLine] = []
    for row in rows:
        amount, side, kind = int(row["amount"]), row["side"], row["event_type"]
        figures = of(row["currency"])
        if kind == _PAID_OUT:
            figures.paid_out += amount
        elif kind == _REVERSED:
            figures.reversed += amount
        elif side == "credit":
            figures.earned += amount
        else:
            figures.refunded += amount
        lines.append(
            StatementLine(
                recorded_at=row["recorded_at"],
                event_type=kind,
                booking_id=row["booking_id"],
                payment_id=row["payment_id"],
                currency=row["currency"],
                credit=amount if side == "credit" else 0,
                debit=amount if side == "debit" else 0,
            )
        )
    return Statement(mentor_id, month, lines, sorted(totals.values(), key=lambda t: t.currency))


def mentor_bookings(tx: Transaction, mentor_id: str, limit: int) -> list[dict[str, Any]]:
    """A mentor's booked sessions (booked at Cal.com at some point), latest start first."""
    return tx.execute(
        "SELECT * FROM bookings WHERE mentor_id = %s AND calcom_booking_uid IS NOT NULL"
        " ORDER BY start_time DESC LIMIT %s",
        (mentor_id, limit),
    ).fetchall()
