"""A mentor's earnings (``GET /api/mentors/me/earnings``), sessions (``/bookings``) and the
month's statement (``mentorpay ledger statement``) agree with the journal to the cent, for paid
out, held, refunded and reversed sessions in two currencies."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
import yaml
from typer.testing import CliRunner

from ledger import PLATFORM_FEES, Payment, balances, mentor_payable, postings_for
from mentorpay.cli import app as cli_app
from mentorpay.settings import get_settings
from processes.services.no_shows import NoShowService
from processes.services.payouts import PayoutRunResult
from projections.catalog_file import parse_catalog
from tests.support.lifecycle import (
    DEMO_CATALOG,
    HOLD,
    MENTOR,
    assert_books_clean,
    book,
    payouts_at,
    refunded_to,
    stripe_reversals,
)
from tests.support.stack import Stack


def _ada_teaches_both(stack: Stack) -> None:
    """Event type 1002 (EUR) is mentor-ada's too, so she earns in two currencies."""
    raw = yaml.safe_load(DEMO_CATALOG.read_text(encoding="utf-8"))
    for entry in raw["event_types"]:
        entry["mentor_id"] = MENTOR
    stack.container.catalog.load(parse_catalog(yaml.safe_dump(raw)))


def _get(stack: Stack, path: str, sub: str = MENTOR, role: str = "mentor") -> dict:
    with stack.client(sub, role) as client:
        response = client.get(path)
    assert response.status_code == 200, response.text
    return response.json()


def test_earnings_and_the_statement_agree_with_the_journal(
    stack: Stack, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ada_teaches_both(stack)
    ledger = stack.container.ledger
    # USD: one paid out, one held.
    paid_id, paid = book(stack, timedelta(days=1))
    held_id, _ = book(stack, timedelta(days=5))
    end = ledger.get_booking(UUID(paid_id)).request.end
    # Paid out once the hold has passed and the session ended (the held ones end days later).
    assert payouts_at(stack, max(paid.paid_at + HOLD, end), timedelta(0)).run().paid_out == 1
    # EUR: one refunded (the mentor cancelled), one paid out and then reversed and refunded
    # (the mentor did not show), one held.
    cancelled_id, cancelled = book(stack, timedelta(days=2), event_type_id=1002)
    with stack.client(MENTOR, "mentor") as client:
        assert client.post(f"/api/bookings/{cancelled_id}/cancel").status_code == 200
    refunded_to(stack, cancelled, cancelled.amount)
    absent_id, absent = book(stack, timedelta(days=1), event_type_id=1002, skip=1)
    absent_end = ledger.get_booking(UUID(absent_id)).request.end
    run = payouts_at(stack, max(absent.paid_at + HOLD, absent_end), timedelta(0)).run()
    assert run == PayoutRunResult(1, 1, 0)
    NoShowService(ledger, claim_window=timedelta(hours=24), clock=lambda: absent_end).report(
        booking_id=UUID(absent_id), user_id="admin-1", role="admin", party="mentor"
    )
    reversed_payment = refunded_to(stack, absent, absent.amount)
    book(stack, timedelta(days=5), event_type_id=1002, skip=2)
    assert_books_clean(stack)

    earnings = _get(stack, "/api/mentors/me/earnings")

    journal = _journal_by_currency(stack)
    figures = {c["currency"]: c for c in earnings["currencies"]}
    assert set(figures) == {"usd", "eur"}
    for currency, books in journal.items():
        mine = figures[currency]
        assert mine["held"] + mine["due"] == books["owed"]
        assert mine["paidOut"] == books["paid_out"]
        assert mine["reversed"] == books["reversed"]
        assert mine["fees"] == books["fees"]
    assert figures["usd"]["due"] == 0  # the held one's hold has not passed
    assert figures["eur"]["reversed"] == reversed_payment.reversed_amount > 0
    (reversal,) = stripe_reversals(stack, reversed_payment.transfer_id or "")
    assert reversal.amount == figures["eur"]["reversed"]
    transfers = {p["transferId"]: p for p in earnings["payouts"]}
    assert set(transfers) == {
        ledger.get_payment(paid.id).transfer_id,
        reversed_payment.transfer_id,
    }
    assert {p["bookingId"] for p in transfers.values()} == {paid_id, absent_id}

    sessions = _get(stack, "/api/mentors/me/bookings")
    upcoming = {s["bookingId"] for s in sessions["upcoming"]}
    past = {s["bookingId"] for s in sessions["past"]}
    assert {paid_id, held_id, absent_id} <= upcoming and cancelled_id in past
    assert _get(stack, "/api/mentors/me/bookings", "mentor-grace")["upcoming"] == []
    with stack.client("user-1", "user") as client:
        assert client.get("/api/mentors/me/earnings").status_code == 403

    totals = _statement(stack, database_url, monkeypatch)
    for currency, books in journal.items():
        row = totals[currency]
        assert int(row["opening"]) == 0
        assert int(row["closing"]) == books["owed"]
        assert int(row["paid_out"]) == books["paid_out"]
        assert int(row["reversed"]) == books["reversed"]
        assert int(row["fees"]) == books["fees"]


def _journal_by_currency(stack: Stack) -> dict[str, dict[str, int]]:
    """The mentor's figures straight from the events' postings, per currency."""
    ledger = stack.container.ledger
    notifications = ledger.recorder.select_notifications(start=1, limit=100_000)
    events = [ledger.mapper.to_domain_event(n) for n in notifications]
    postings = [p for event in events for p in postings_for(event)]
    net = balances(postings)
    figures: dict[str, dict[str, int]] = {}
    for currency in {p.currency for p in postings}:
        figures[currency] = {
            "owed": -net.get((mentor_payable(MENTOR), currency), 0),
            "fees": -net.get((PLATFORM_FEES, currency), 0),
            "paid_out": sum(
                e.amount
                for e in events
                if isinstance(e, Payment.PaidOut) and e.currency == currency
            ),
            "reversed": sum(
                e.amount
                for e in events
                if isinstance(e, Payment.PayoutReversed) and e.currency == currency
            ),
        }
    return figures


def _statement(
    stack: Stack, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, dict[str, str]]:
    for name, value in {
        "DATABASE_URL": database_url,
        "STRIPE_API_BASE": stack.sandbox_url,
        "CALCOM_API_BASE": stack.sandbox_url,
    }.items():
        monkeypatch.setenv(f"MENTORPAY_{name}", value)
    get_settings.cache_clear()
    month = datetime.now(UTC).strftime("%Y-%m")
    try:
        result = CliRunner().invoke(
            cli_app,
            ["ledger", "statement", "--mentor", MENTOR, "--month", month, "--format", "csv"],
        )
        text = CliRunner().invoke(
            cli_app, ["ledger", "statement", "--mentor", MENTOR, "--month", month]
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert text.exit_code == 0 and "closing" in text.output, text.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert any(r["kind"] == "line" for r in rows)
    return {r["currency"]: r for r in rows if r["kind"] == "total"}
