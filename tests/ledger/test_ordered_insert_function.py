"""The ledger saving through one database function call (``MENTORPAY_DB_INSERT_FUNCTION``):
commands behave as ever, and notification ids still commit in order (followers rely on it)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from uuid import uuid4

import psycopg
import pytest

from ledger import Ledger, Money, PaymentRecorded
from mentorpay.ledger_recorder import OrderedInsertFunctionRecorder
from mentorpay.persistence import eventsourcing_env
from projections.database_url import parse_database_url
from tests.support.ledger_factories import T0, pay, request_booking, stored_topics
from tests.support.waiting import wait_until

pytestmark = pytest.mark.postgres

INSERT_ONE = (
    "SELECT * FROM mentorpay_append_events("
    "ARRAY[%s::uuid], ARRAY[1::bigint], ARRAY['probe'], ARRAY['\\x00'::bytea])"
)


@pytest.fixture
def fn_ledger(postgres_url: str) -> Iterator[Ledger]:
    with Ledger(eventsourcing_env(postgres_url, insert_function=True)) as app:
        assert isinstance(app.recorder, OrderedInsertFunctionRecorder)
        yield app


def test_the_same_payment_reported_sixteen_times_at_once_is_recorded_once(
    fn_ledger: Ledger,
) -> None:
    booking_id = request_booking(fn_ledger)
    barrier = threading.Barrier(16)

    def report(_: int) -> PaymentRecorded:
        barrier.wait(timeout=30)
        return fn_ledger.record_payment(
            payment_intent_id="pi_race",
            charge_id="ch_race",
            amount=Money(7500, "usd"),
            booking_id=booking_id,
            paid_at=T0,
        )

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(report, range(16)))

    assert sum(r.newly_recorded for r in results) == 1
    assert Counter(stored_topics(fn_ledger))["mentorpay.Payment.Paid"] == 1


def test_a_save_waits_for_an_earlier_uncommitted_one_so_ids_commit_in_order(
    fn_ledger: Ledger, postgres_url: str
) -> None:
    booking_id = request_booking(fn_ledger)
    conninfo = parse_database_url(postgres_url).psycopg_conninfo
    with psycopg.connect(conninfo) as other, psycopg.connect(conninfo, autocommit=True) as probe:
        # Another process's save: an id taken, its transaction still open.
        row = other.execute(INSERT_ONE, (uuid4(),)).fetchone()
        assert row is not None
        earlier = row[0]
        with ThreadPoolExecutor(max_workers=1) as pool:
            later = pool.submit(pay, fn_ledger, booking_id)
            wait_until(
                lambda: (
                    probe.execute(
                        "SELECT count(*) FROM pg_locks "
                        "WHERE relation = 'ledger_events'::regclass AND NOT granted"
                    ).fetchone()
                    == (1,)
                ),
                timeout=30,
            )
            assert not later.done()
            other.commit()
            assert later.result(timeout=30).newly_recorded
        paid = [
            n.id
            for n in fn_ledger.recorder.select_notifications(start=1, limit=100)
            if n.topic == "mentorpay.Payment.Paid"
        ]
    assert paid[0] > earlier  # committed after the earlier one, and numbered after it
