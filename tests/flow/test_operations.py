"""What operations trip over: the first payout run on a fresh database, a burst of cron calls,
and a busy connection pool, each answered without a 500; and what they see of the ledger's
writes."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from mentorpay.bootstrap import build_container
from processes.services.payouts import PayoutRunResult
from tests.support.http import http_client
from tests.support.stack import Stack, running_stack, settings_for

CRON_SECRET = "cron-secret-for-operations-tests"


def test_the_first_payout_run_on_a_fresh_database_succeeds(database_url: str) -> None:
    # No worker has ever run: the payments read model has no tables yet.
    container = build_container(settings_for(database_url, "http://127.0.0.1:9"))
    try:
        assert container.payouts.run() == PayoutRunResult(0, 0, 0)
    finally:
        container.close()


def _ledger_write_counters(stack: Stack) -> dict[str, float]:
    with stack.client() as anyone:
        text = anyone.get("/metrics").text
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith(("mentorpay_ledger_commit", "mentorpay_ledger_shared_read"))
    }


def test_metrics_show_how_the_api_groups_its_ledger_writes(stack: Stack) -> None:
    before = _ledger_write_counters(stack)
    stack.confirmed_booking()
    after = _ledger_write_counters(stack)

    def grew(name: str) -> float:
        return after[name] - before.get(name, 0.0)

    # The booking's request and the payment at least, each a command of the API's ledger.
    assert grew("mentorpay_ledger_committed_commands_total") >= 2
    assert (
        1
        <= grew("mentorpay_ledger_commits_total")
        <= grew("mentorpay_ledger_committed_commands_total")
    )
    assert grew("mentorpay_ledger_committed_events_total") >= grew(
        "mentorpay_ledger_committed_commands_total"
    )
    assert grew("mentorpay_ledger_commit_seconds_total") > 0
    assert after["mentorpay_ledger_commits_split_total"] == 0
    if stack.container.settings.database_url.startswith("postgres"):  # shared on PostgreSQL only
        assert (
            grew("mentorpay_ledger_shared_read_requests_total")
            >= grew("mentorpay_ledger_shared_reads_total")
            >= 1
        )
    else:
        assert not any(name.startswith("mentorpay_ledger_shared_read") for name in after)


@pytest.fixture
def stack_settings() -> dict[str, Any]:
    return {"cron_secret": CRON_SECRET}


def test_twenty_concurrent_cron_calls_all_answer(stack: Stack) -> None:
    barrier = threading.Barrier(20)

    def call(_: int) -> int:
        with http_client(base_url=stack.api_url, timeout=60) as client:
            barrier.wait(timeout=10)
            response = client.post(
                "/api/cron/process-payouts", headers={"Authorization": f"Bearer {CRON_SECRET}"}
            )
            return response.status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(call, range(20)))
    assert answers == [200] * 20


@pytest.mark.postgres
def test_a_busy_pool_answers_503_with_retry_after(postgres_url: str) -> None:
    tight = {"db_read_pool_size": 1, "db_pool_timeout_seconds": 1}
    with running_stack(postgres_url, **tight) as stack:
        release = threading.Event()
        held = threading.Event()

        def hold_the_only_connection() -> None:
            with stack.container.store.transaction(readonly=True):
                held.set()
                release.wait(30)

        holder = threading.Thread(target=hold_the_only_connection)
        holder.start()
        try:
            assert held.wait(10)
            with stack.client() as client:
                response = client.get("/api/bookings")
        finally:
            release.set()
            holder.join(10)
        assert response.status_code == 503, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert int(response.headers["retry-after"]) >= 1
        with stack.client() as client:
            assert client.get("/api/bookings").status_code == 200
