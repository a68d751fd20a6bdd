"""``mentorpay replay``: rebuilds read models from position 0 in large batches."""

from __future__ import annotations

import pytest

from processes.finance.audit import verify
from tests.support.books import Books
from tests.support.cli_runner import run_cli
from tests.support.ledger_factories import accepted_booking, paid_out


def test_replay_rebuilds_a_tampered_journal(
    books: Books, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    accepted_booking(books.ledger)
    paid_out(books.ledger)
    books.project()
    with books.store.transaction() as tx:
        tx.execute("UPDATE account_balances SET debits = 0")
    assert verify(books.ledger, books.store, books.projections).findings

    result = run_cli(monkeypatch, database_url, "replay", "journal")
    assert result.exit_code == 0, result.output
    head = books.ledger.recorder.max_notification_id()
    assert f"journal: rebuilt up to position {head}" in result.stdout
    assert verify(books.ledger, books.store, books.projections).findings == []


def test_replay_of_an_unknown_projection_is_refused(
    books: Books, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli(monkeypatch, database_url, "replay", "nonsense")
    assert result.exit_code == 2
    assert "unknown projection 'nonsense'" in result.stderr
