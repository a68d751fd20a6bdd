"""``ledger export``: every event as JSON lines or CSV, and back again."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from ledger import Money
from projections.event_log import read_events
from tests.support.books import Books
from tests.support.cli_runner import run_cli
from tests.support.ledger_factories import paid_booking, paid_out, request_booking


@pytest.fixture
def history(books: Books) -> Books:
    request_booking(books.ledger)
    paid_out(books.ledger)
    paid_booking(books.ledger, price=Money(5000, "jpy"), platform_fee=Money(500, "jpy"))
    return books


def test_jsonl_round_trip(
    history: Books, database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    out = tmp_path / "events.jsonl"
    result = run_cli(
        monkeypatch, database_url, "ledger", "export", "--format", "jsonl", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    exported = [json.loads(line) for line in out.read_text().splitlines()]
    expected = read_events(history.ledger, after=0, limit=10_000)
    assert exported == expected
    assert [e["position"] for e in exported] == sorted(e["position"] for e in exported)
    paid = next(e for e in exported if e["type"] == "mentorpay.Payment.Paid")
    assert isinstance(paid["data"]["amount"], int) and paid["data"]["currency"] == "usd"


def test_csv_round_trip_after_a_position(
    history: Books, database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    out = tmp_path / "events.csv"
    result = run_cli(
        monkeypatch,
        database_url,
        "ledger",
        "export",
        "--format",
        "csv",
        "--after",
        "3",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    with out.open(newline="") as file:
        rows = list(csv.DictReader(file))
    expected = read_events(history.ledger, after=3, limit=10_000)
    by_position: dict[int, list[dict[str, str]]] = {}
    for row in rows:
        by_position.setdefault(int(row["position"]), []).append(row)
    assert list(by_position) == [event["position"] for event in expected] != []
    for event in expected:
        lines = by_position[event["position"]]
        for row in lines:
            assert row["type"] == event["type"]
            assert row["aggregate_id"] == event["aggregateId"]
            assert int(row["aggregate_version"]) == event["aggregateVersion"]
            assert row["time"] == event["time"]
            assert json.loads(row["data"]) == event["data"]
        # One row per journal line; an event that moves no money is one row without them.
        assert [(r["account"], r["currency"]) for r in lines if r["account"]] == [
            (p["account"], p["currency"]) for p in event["postings"]
        ]
        assert len(lines) == max(1, len(event["postings"]))
    # The money columns sum: debits equal credits in every currency.
    for currency in {r["currency"] for r in rows if r["currency"]}:
        debits = sum(int(r["debit"] or 0) for r in rows if r["currency"] == currency)
        credits = sum(int(r["credit"] or 0) for r in rows if r["currency"] == currency)
        assert debits == credits > 0


def test_export_to_stdout_and_unknown_format(
    history: Books, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli(monkeypatch, database_url, "ledger", "export")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == len(read_events(history.ledger, after=0, limit=10_000))
    assert "exported" in result.stderr and "\x1b" not in result.stderr  # no bar off a terminal

    bad = run_cli(monkeypatch, database_url, "ledger", "export", "--format", "xml")
    assert bad.exit_code == 2
