"""``mentorpay ledger statement --mentor ID --month YYYY-MM [--format csv]``: a mentor's
payable account for one month (UTC), line by line, with totals per currency that agree with
the journal to the cent (the read models are caught up to the ledger first)."""

from __future__ import annotations

import contextlib
import csv
import re
import sys
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from ledger import Money
from mentorpay.bootstrap import build_container
from mentorpay.settings import get_settings

if TYPE_CHECKING:
    from projections.earnings import Statement

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class StatementFormat(StrEnum):
    text = "text"
    csv = "csv"


def month_bounds(month: str) -> tuple[datetime, datetime]:
    match = _MONTH.match(month)
    if match is None:
        raise typer.BadParameter("expected YYYY-MM", param_hint="--month")
    year, number = int(match[1]), int(match[2])
    start = datetime(year, number, 1, tzinfo=UTC)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return start, end


def statement(
    mentor: Annotated[str, typer.Option("--mentor", help="The mentor id.")],
    month: Annotated[str, typer.Option("--month", help="YYYY-MM (UTC).")],
    format: Annotated[
        StatementFormat, typer.Option("--format", help="text (default) or csv.")
    ] = StatementFormat.text,
) -> None:
    """A mentor's statement for a month: opening balance, each journal line of the mentor's
    payable account, earned, refunded, paid out, reversed, fees and closing balance."""
    from projections.earnings import mentor_statement
    from projections.event_log import head_position
    from projections.follower import FollowerBusy

    start, end = month_bounds(month)
    container = build_container(get_settings())
    try:
        head = head_position(container.ledger)
        for name in ("payments", "journal"):
            follower = container.projections[name]
            with contextlib.suppress(FollowerBusy):
                follower.run_until_caught_up()
            if not follower.wait_for(head, 30.0):
                typer.echo(f"the {name} read model is behind the ledger", err=True)
                raise typer.Exit(code=2)
        with container.store.transaction(readonly=True) as tx:
            result = mentor_statement(tx, mentor, month, start, end)
    finally:
        container.close()
    if format == StatementFormat.csv:
        _write_csv(result)
    else:
        _write_text(result)


def _write_csv(result: Statement) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(
        ["kind", "recorded_at", "event_type", "booking_id", "payment_id", "currency", "credit",
         "debit", "opening", "earned", "refunded", "paid_out", "reversed", "fees", "closing"]
    )  # fmt: skip
    for line in result.lines:
        writer.writerow(
            ["line", line.recorded_at.isoformat(), line.event_type, line.booking_id or "",
             line.payment_id or "", line.currency, line.credit, line.debit]
            + [""] * 7
        )  # fmt: skip
    for t in result.totals:
        writer.writerow(
            ["total", "", "", "", "", t.currency, "", "", t.opening, t.earned, t.refunded,
             t.paid_out, t.reversed, t.fees, t.closing]
        )  # fmt: skip


def _write_text(result: Statement) -> None:
    typer.echo(f"statement of {result.mentor_id} for {result.month} (UTC)")
    for line in result.lines:
        amount = Money(line.credit or line.debit, line.currency).format()
        sign = "+" if line.credit else "-"
        typer.echo(
            f"{line.recorded_at:%Y-%m-%d %H:%M}  {line.event_type:<32} {sign}{amount:>16}"
            f"  booking {line.booking_id}"
        )
    for t in result.totals:
        typer.echo(
            f"{t.currency.upper()}: opening {_fmt(t.opening, t.currency)}, earned "
            f"{_fmt(t.earned, t.currency)}, refunded {_fmt(t.refunded, t.currency)}, paid out "
            f"{_fmt(t.paid_out, t.currency)}, reversed {_fmt(t.reversed, t.currency)}, fees "
            f"{_fmt(t.fees, t.currency)}, closing {_fmt(t.closing, t.currency)}"
        )


def _fmt(amount: int, currency: str) -> str:
    text = Money(abs(amount), currency).format()
    return text if amount >= 0 else f"-{text}"
