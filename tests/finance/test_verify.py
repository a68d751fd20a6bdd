"""``ledger verify``: nothing on a clean ledger; a tampered read model is found, exit 1."""

from __future__ import annotations

import pytest

from ledger import Money
from processes.finance.audit import check_invariants, verify
from tests.support.books import Books
from tests.support.cli_runner import run_cli
from tests.support.ledger_factories import (
    HOLD,
    T0,
    accepted_booking,
    paid_booking,
    paid_out,
    request_booking,
)


def _some_history(books: Books) -> None:
    request_booking(books.ledger)  # never paid
    accepted_booking(books.ledger)
    _, payment_id = paid_out(books.ledger)
    books.ledger.record_payout_reversed(
        payment_id=payment_id, reversal_id="trr_1", amount=Money(6750, "usd")
    )
    books.ledger.record_refund(
        payment_id=payment_id, refund_id="re_1", amount=Money(7500, "usd"), reason="cancelled"
    )
    booking_id, payment_id = paid_booking(books.ledger)
    books.ledger.record_booking_failed(booking_id=booking_id, reason="slot taken", final=True)
    books.ledger.record_refund(
        payment_id=payment_id, refund_id="re_2", amount=Money(7500, "usd"), reason="failed"
    )
    books.project()


def test_a_clean_ledger_verifies(books: Books) -> None:
    _some_history(books)
    report = verify(books.ledger, books.store, books.projections)
    assert report.findings == []
    assert report.events == books.ledger.recorder.max_notification_id()


def test_a_tampered_booking_row_is_found(books: Books) -> None:
    _some_history(books)
    with books.store.transaction() as tx:
        row = tx.execute("SELECT id FROM bookings WHERE status = 'ACCEPTED'").fetchone()
        assert row is not None
        tx.execute("UPDATE bookings SET status = 'REJECTED' WHERE id = %s", (row["id"],))
    findings = verify(books.ledger, books.store, books.projections).findings
    assert len(findings) == 1
    assert findings[0].check == "read-model"
    assert row["id"] in findings[0].subject and "status" in findings[0].detail


def test_tampered_journal_rows_are_found(books: Books) -> None:
    _some_history(books)
    with books.store.transaction() as tx:
        tx.execute(
            "UPDATE account_balances SET credits = credits + 1 WHERE account = 'platform:fees'"
        )
        tx.execute(
            "DELETE FROM journal_entries"
            " WHERE position = (SELECT MIN(position) FROM journal_entries)"
        )
    findings = verify(books.ledger, books.store, books.projections).findings
    subjects = " ".join(f.subject for f in findings)
    assert "account_balances" in subjects and "platform:fees" in subjects
    assert any(f.subject.startswith("journal_entries") and "missing" in f.detail for f in findings)


def test_a_pending_refund_is_not_a_clearing_problem(books: Books) -> None:
    booking_id, _ = paid_booking(books.ledger)
    books.ledger.record_booking_failed(booking_id=booking_id, reason="slot taken", final=True)
    # The refund has not happened yet: the money rightly waits in clearing.
    assert check_invariants(books.ledger).findings == []


def test_verify_cli_exit_codes(
    books: Books, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _some_history(books)
    clean = run_cli(monkeypatch, database_url, "ledger", "verify")
    assert clean.exit_code == 0, clean.output
    assert "0 problem(s)" in clean.stderr

    with books.store.transaction() as tx:
        tx.execute("UPDATE payments SET amount = amount + 100 WHERE status = 'succeeded'")
    tampered = run_cli(monkeypatch, database_url, "ledger", "verify")
    assert tampered.exit_code == 1, tampered.output
    assert "[read-model] payments" in tampered.stdout and "amount stored 7600" in tampered.stdout


def test_one_stripe_transfer_recorded_for_two_payments_is_found(books: Books) -> None:
    for _ in range(2):
        _, payment_id = accepted_booking(books.ledger)
        payment = books.ledger.mark_payout_eligible(
            payment_id=payment_id, destination_account="acct_ada", now=T0 + HOLD, hold=HOLD
        )
        books.ledger.record_paid_out(
            payment_id=payment_id, transfer_id="tr_shared", amount=Money(6750, payment.currency)
        )
    findings = check_invariants(books.ledger).findings
    assert [(f.check, f.subject) for f in findings] == [("stripe-id", "tr_shared")]
    assert "2 events" in findings[0].detail
