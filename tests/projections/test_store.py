"""The read-model store: one SQL text, the same behaviour on SQLite and PostgreSQL."""

from __future__ import annotations

import enum
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import psycopg
import pytest

from projections.database_url import UnsupportedDatabaseURL
from projections.store import IntegrityError, ReadModelStore, StoreError


class Status(enum.StrEnum):
    AWAITING_PAYMENT = "AWAITING_PAYMENT"
    ACCEPTED = "ACCEPTED"


class Currency(enum.Enum):
    USD = "usd"


@pytest.fixture
def store(database_url: str) -> Iterator[ReadModelStore]:
    with ReadModelStore(database_url) as read_models:
        with read_models.ddl_transaction() as tx:
            tx.execute(
                "CREATE TABLE IF NOT EXISTS things (id TEXT PRIMARY KEY, amount BIGINT NOT NULL,"
                " currency TEXT NOT NULL, status TEXT, paid BOOLEAN NOT NULL DEFAULT FALSE,"
                " created_at TIMESTAMPTZ)"
            )
        yield read_models


def _count(store: ReadModelStore) -> int:
    with store.transaction(readonly=True) as tx:
        row = tx.execute("SELECT COUNT(*) AS n FROM things").fetchone()
    assert row is not None
    return row["n"]


def test_a_transaction_commits_on_success_and_writes_nothing_on_error(
    store: ReadModelStore,
) -> None:
    with store.transaction() as tx:
        tx.execute("INSERT INTO things (id, amount, currency) VALUES (%s, %s, %s)", ("a", 1, "usd"))

    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.execute("INSERT INTO things (id, amount, currency) VALUES (%s, %s, %s)", ("b", 2, "usd"))
        tx.execute("UPDATE things SET amount = 99 WHERE id = %s", ("a",))
        raise RuntimeError("the caller fails half-way")

    with store.transaction(readonly=True) as tx:
        rows = tx.execute("SELECT id, amount FROM things").fetchall()
    assert rows == [{"id": "a", "amount": 1}]


def test_rows_are_dicts_and_placeholders_are_portable(store: ReadModelStore) -> None:
    with store.transaction() as tx:
        tx.executemany(
            "INSERT INTO things (id, amount, currency) VALUES (%(id)s, %(amount)s, %(currency)s)",
            [{"id": f"id-{n}", "amount": n * 100, "currency": "eur"} for n in range(3)],
        )
        assert tx.rowcount in (3, -1)  # SQLite reports executemany's total, psycopg may not
        tx.execute("UPDATE things SET amount = amount + 1 WHERE amount >= %s", (100,))
        assert tx.rowcount == 2
        found = tx.execute(
            "SELECT id, amount FROM things WHERE id LIKE %s AND id LIKE 'id-%%' ORDER BY id",
            ("%-1",),
        ).fetchall()
        missing = tx.execute("SELECT id FROM things WHERE id = %s", ("nope",)).fetchone()
    assert found == [{"id": "id-1", "amount": 101}]
    assert missing is None


def test_timestamps_booleans_uuids_and_enums_round_trip_alike(store: ReadModelStore) -> None:
    thing_id = uuid.uuid4()
    later = datetime(2026, 11, 26, 10, 0, 0, tzinfo=UTC)
    earlier = datetime(2026, 11, 26, 10, 30, 0, 500, tzinfo=timezone(timedelta(hours=2)))
    with store.transaction() as tx:
        tx.executemany(
            "INSERT INTO things (id, amount, currency, status, paid, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            [
                (thing_id, 7500, Currency.USD, Status.ACCEPTED, True, later),
                ("other", 0, "usd", Status.AWAITING_PAYMENT, False, earlier),
            ],
        )
    with store.transaction(readonly=True) as tx:
        rows = tx.execute(
            "SELECT id, currency, status, paid, created_at FROM things"
            " WHERE created_at >= %s ORDER BY created_at",
            (datetime(2026, 11, 26, 8, 0, tzinfo=UTC),),
        ).fetchall()

    assert rows == [
        {
            "id": "other",
            "currency": "usd",
            "status": "AWAITING_PAYMENT",
            "paid": False,
            "created_at": earlier,
        },
        {
            "id": str(thing_id),
            "currency": "usd",
            "status": "ACCEPTED",
            "paid": True,
            "created_at": later,
        },
    ]
    assert all(row["created_at"].utcoffset() == timedelta(0) for row in rows)


def test_a_naive_datetime_is_refused_and_nothing_is_written(store: ReadModelStore) -> None:
    with pytest.raises(ValueError, match="naive"), store.transaction() as tx:
        tx.execute("INSERT INTO things (id, amount, currency) VALUES (%s, %s, %s)", ("a", 1, "usd"))
        tx.execute("UPDATE things SET created_at = %s", (datetime(2026, 1, 1),))
    assert _count(store) == 0


def test_upsert_on_conflict_updates_in_place(store: ReadModelStore) -> None:
    upsert = (
        "INSERT INTO things (id, amount, currency) VALUES (%s, %s, %s)"
        " ON CONFLICT (id) DO UPDATE SET amount = things.amount + excluded.amount"
        " RETURNING amount"
    )
    with store.transaction() as tx:
        first = tx.execute(upsert, ("a", 100, "usd")).fetchone()
        second = tx.execute(upsert, ("a", 50, "usd")).fetchone()
    assert first == {"amount": 100} and second == {"amount": 150}
    assert _count(store) == 1


def test_a_constraint_violation_is_a_typed_error_and_rolls_back(store: ReadModelStore) -> None:
    with store.transaction() as tx:
        tx.execute("INSERT INTO things (id, amount, currency) VALUES (%s, %s, %s)", ("a", 1, "usd"))

    with pytest.raises(IntegrityError), store.transaction() as tx:
        tx.execute("INSERT INTO things (id, amount, currency) VALUES (%s, %s, %s)", ("b", 1, "usd"))
        tx.execute("INSERT INTO things (id, amount, currency) VALUES (%s, %s, %s)", ("a", 2, "usd"))
    with pytest.raises(StoreError), store.transaction() as tx:
        tx.execute("SELECT no_such_column FROM things")

    assert _count(store) == 1


def test_readonly_transactions_refuse_writes(store: ReadModelStore) -> None:
    with pytest.raises(StoreError), store.transaction(readonly=True) as tx:
        tx.execute("INSERT INTO things (id, amount, currency) VALUES (%s, %s, %s)", ("a", 1, "usd"))
    with store.transaction() as tx:  # the connection is writable again afterwards
        tx.execute("INSERT INTO things (id, amount, currency) VALUES (%s, %s, %s)", ("a", 1, "usd"))
    assert _count(store) == 1


def test_transactions_do_not_nest(store: ReadModelStore) -> None:
    with store.transaction() as tx:
        tx.execute("INSERT INTO things (id, amount, currency) VALUES (%s, %s, %s)", ("a", 1, "usd"))
        with pytest.raises(StoreError, match="nested"), store.transaction():
            pass
    assert _count(store) == 1


def test_threads_share_the_store_safely(store: ReadModelStore) -> None:
    with store.transaction() as tx:
        tx.execute("INSERT INTO things (id, amount, currency) VALUES ('counter', 0, 'usd')")
    errors: list[BaseException] = []

    def add_one_25_times() -> None:
        try:
            for _ in range(25):
                with store.transaction() as tx:
                    tx.execute("UPDATE things SET amount = amount + 1 WHERE id = 'counter'")
                    tx.execute("SELECT amount FROM things WHERE id = 'counter'").fetchone()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=add_one_25_times) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    with store.transaction(readonly=True) as tx:
        row = tx.execute("SELECT amount FROM things WHERE id = 'counter'").fetchone()
    assert row == {"amount": 150}


def test_a_closed_store_refuses_work(database_url: str) -> None:
    store = ReadModelStore(database_url)
    store.close()
    with pytest.raises(StoreError), store.transaction() as tx:
        tx.execute("SELECT 1")


def test_memory_urls_get_a_private_in_process_database() -> None:
    with ReadModelStore("memory://") as first, ReadModelStore("memory://") as second:
        with first.transaction() as tx:
            tx.execute("CREATE TABLE t (id TEXT PRIMARY KEY)")
            tx.execute("INSERT INTO t (id) VALUES (%s)", ("x",))
        seen: list[object] = []

        def read_from_another_thread() -> None:
            with first.transaction(readonly=True) as tx:
                seen.extend(tx.execute("SELECT id FROM t").fetchall())

        reader = threading.Thread(target=read_from_another_thread)
        reader.start()
        reader.join(timeout=10)
        assert seen == [{"id": "x"}]
        with pytest.raises(StoreError), second.transaction() as tx:
            tx.execute("SELECT id FROM t")


def test_an_unsupported_url_is_a_clear_error() -> None:
    with pytest.raises(UnsupportedDatabaseURL):
        ReadModelStore("mysql://localhost/mentorpay")


@pytest.mark.postgres
def test_postgres_timestamps_come_back_in_utc_whatever_the_server_zone(postgres_url: str) -> None:
    dbname = postgres_url.rsplit("/", 1)[1]
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f"ALTER DATABASE \"{dbname}\" SET timezone = 'Asia/Tokyo'")
    moment = datetime(2026, 11, 26, 23, 30, tzinfo=UTC)
    with ReadModelStore(postgres_url) as store, store.transaction() as tx:
        row = tx.execute("SELECT %s::timestamptz AS at", (moment,)).fetchone()
    assert row is not None
    assert row["at"] == moment and row["at"].utcoffset() == timedelta(0)
