"""``mentorpay replay``: rebuilds read models from position 0 in large batches."""

from __future__ import annotations

import pytest

from processes.finance.audit import verify
from projections.follower import Follower
from tests.support.books import Books
from tests.support.cli_runner import run_cli
from tests.support.ledger_factories import accepted_booking, paid_out
from tests.support.waiting import wait_until


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


def test_replay_while_a_worker_runs_says_what_to_do_in_one_line(
    books: Books, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    accepted_booking(books.ledger)
    projection = next(p for p in books.projections if p.name == "journal")
    journal = Follower(books.ledger, books.store, projection, poll_interval=0.1)
    journal.start()  # a worker keeping the journal
    try:
        wait_until(lambda: journal.is_active, timeout=10)
        result = run_cli(monkeypatch, database_url, "replay", "journal")
    finally:
        journal.stop()
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "stop them, then replay" in result.stderr
    assert "Traceback" not in result.output
