"""A process's stop reaches every payout run it has: one a cron request started in ``serve``,
and one still waiting for another run's lock; and runs in several processes keep, together,
to the configured request rate toward Stripe (only the run holding the lock makes requests)."""

from __future__ import annotations

import itertools
import logging
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from ledger import PaymentStatus
from mentorpay.servers import BackgroundServer
from processes.gateways.stripe_gateway import StripeGateway
from processes.services.payouts import PayoutRunResult, PayoutSchedule, PayoutsStopping
from sandbox.app import create_app as create_sandbox_app
from sandbox.faults import Fault
from sandbox.state import SandboxState
from tests.support.sandbox_server import RunningSandbox
from tests.support.scale_payouts import Payouts, cli_env, payouts_world
from tests.support.waiting import wait_until

CRON_SECRET = "cron-secret-for-stopping-tests"


@dataclass
class Process:
    """A ``mentorpay`` command in a process of its own, its output collected as it comes."""

    popen: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, args: list[str], env: dict[str, str]) -> Process:
        popen = subprocess.Popen(
            [sys.executable, "-m", "mentorpay.cli", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        process = cls(popen)
        threading.Thread(target=process._collect, daemon=True).start()
        return process

    def _collect(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def said(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def stop(self, timeout: float = 120) -> int:
        """SIGTERM, then the exit status once it has ended (within ``timeout``)."""
        self.popen.send_signal(signal.SIGTERM)
        return self.popen.wait(timeout=timeout)

    def end(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(timeout=30)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _paid(payouts: Payouts, due: list[tuple[Any, Any]]) -> int:
    return sum(payouts.ledger.get_payment(p).status == PaymentStatus.PAID for _, p in due)


def test_sigterm_of_serve_stops_a_cron_payout_run_soon_and_the_request_answers_what_it_left(
    payouts: Payouts, postgres_url: str
) -> None:
    due = payouts.due_payments(20)
    rate = 4.0  # 2 requests a payout: the whole run would take at least 10 s
    port = _free_port()
    env = cli_env(postgres_url, payouts.sandbox.url, rate=rate, MENTORPAY_CRON_SECRET=CRON_SECRET)
    # No workers: the cron request's run is the only one (no hourly run at start).
    server = Process.start(["serve", "--no-workers", "--port", str(port)], env)
    answers: list[httpx.Response] = []
    try:
        url = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            try:
                return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return server.popen.poll() is not None  # ended: fail below, not by waiting

        wait_until(healthy, timeout=60)
        assert server.popen.poll() is None, server.output
        cron = threading.Thread(
            target=lambda: answers.append(
                httpx.post(
                    f"{url}/api/cron/process-payouts",
                    headers={"Authorization": f"Bearer {CRON_SECRET}"},
                    timeout=120,
                )
            ),
            daemon=True,
        )
        cron.start()
        wait_until(lambda: _paid(payouts, due) >= 3, timeout=120)
        stopped_at = time.monotonic()
        status = server.stop()
        stopping_took = time.monotonic() - stopped_at
        cron.join(timeout=30)
    finally:
        server.end()

    assert status == 0, server.output  # closed its container, not killed by the signal
    (answer,) = answers
    assert answer.status_code == 200, answer.text
    run = answer.json()
    assert run["failed"] == 0, run
    assert run["left"] > 0 and run["paidOut"] + run["left"] == len(due), run
    assert run["eligible"] == run["paidOut"]  # every payout begun was finished and recorded
    # Well before the run could have finished: the payments it left need 2 requests each.
    assert stopping_took < run["left"] * 2 / rate, (stopping_took, run)
    assert len(payouts.transfers_at_stripe()) == run["paidOut"]

    rest = payouts.service(concurrency=4, max_requests_per_second=None).run()
    assert rest.failed == 0 and rest.paid_out == run["left"], rest
    payouts.assert_each_paid_out_once(due)


@pytest.mark.parametrize("waiter", ["same service", "another service"])
def test_a_run_waiting_for_the_run_lock_gives_up_at_once_when_its_process_stops(
    payouts: Payouts, waiter: str
) -> None:
    due = payouts.due_payments(12)
    stopping = threading.Event()
    first = payouts.service(concurrency=4, max_requests_per_second=4.0, stopping=stopping)
    # The same service: a cron request in serve while its hourly run goes on (a thread lock).
    # Another: as another process would have (only the run lock), with its own shutdown.
    its_stop = stopping if waiter == "same service" else threading.Event()
    second = (
        first
        if waiter == "same service"
        else payouts.service(concurrency=4, max_requests_per_second=None, stopping=its_stop)
    )
    results: list[PayoutRunResult] = []
    refusals: list[Exception] = []
    waiting = threading.Event()

    def wait_then_run() -> None:
        try:
            results.append(second.run(on_wait=waiting.set))
        except PayoutsStopping as refusal:
            refusals.append(refusal)

    running = threading.Thread(target=lambda: results.append(first.run()), daemon=True)
    running.start()
    try:
        wait_until(lambda: _paid(payouts, due) >= 2, timeout=120)
        waiter_thread = threading.Thread(target=wait_then_run, daemon=True)
        waiter_thread.start()
        wait_until(waiting.is_set, timeout=30)
        its_stop.set()
        waiter_thread.join(timeout=30)
        assert not waiter_thread.is_alive()
        assert len(refusals) == 1, (refusals, results)  # it gave up, and did nothing
        if waiter == "another service":
            assert running.is_alive()  # its own process is not stopping: it goes on
    finally:
        stopping.set()
        running.join(timeout=120)

    (run,) = results
    assert run.failed == 0 and run.left > 0 and run.paid_out + run.left == len(due), run
    assert len(payouts.transfers_at_stripe()) == run.paid_out


def test_a_schedule_whose_run_waits_for_another_process_run_stops_at_once_without_error(
    payouts: Payouts, caplog: pytest.LogCaptureFixture
) -> None:
    due = payouts.due_payments(12)
    other_process = threading.Event()
    # Another process's run in progress (its own shutdown signal), holding the run lock.
    running_elsewhere = payouts.service(max_requests_per_second=4.0, stopping=other_process)
    results: list[PayoutRunResult] = []
    running = threading.Thread(target=lambda: results.append(running_elsewhere.run()))
    running.start()
    try:
        wait_until(lambda: _paid(payouts, due) >= 1, timeout=120)
        # This process: a worker whose hourly run starts now and must wait for the lock.
        stopping = threading.Event()
        service = payouts.service(max_requests_per_second=None, stopping=stopping)
        schedule = PayoutSchedule(service, 3600, stopping)
        caplog.set_level(logging.INFO, logger="processes.services.payouts")
        schedule.start()
        wait_until(lambda: "waiting for the run in progress" in caplog.text, timeout=30)
        schedule.stop(timeout=30)  # what Container.close() does on SIGTERM
        assert not schedule.is_running  # ended at once, not after the other run
        assert running.is_alive()
        assert schedule.last_error is None and schedule.last_result is None  # nothing done
    finally:
        other_process.set()
        running.join(timeout=120)
    (run,) = results
    assert run.failed == 0 and run.paid_out + run.left == len(due), run


def test_sigterm_stops_a_payouts_run_process_waiting_for_another_run(
    payouts: Payouts, postgres_url: str
) -> None:
    due = payouts.due_payments(16)
    stopping = threading.Event()
    # A run in progress, holding the lock: 2 requests a second, 16 s for all 16.
    service = payouts.service(concurrency=4, max_requests_per_second=2.0, stopping=stopping)
    results: list[PayoutRunResult] = []
    running = threading.Thread(target=lambda: results.append(service.run()), daemon=True)
    running.start()
    waiter = None
    try:
        wait_until(lambda: _paid(payouts, due) >= 1, timeout=120)
        env = cli_env(postgres_url, payouts.sandbox.url, rate=4)
        waiter = Process.start(["payouts", "run"], env)
        wait_until(lambda: waiter.said("waiting for the run in progress"), timeout=60)
        status = waiter.stop(timeout=60)
        assert running.is_alive()  # it stopped while the lock was still held
    finally:
        if waiter is not None:
            waiter.end()
        stopping.set()
        running.join(timeout=120)

    assert status == 0, waiter.output
    assert waiter.said("stopped before starting"), waiter.output
    (run,) = results
    assert run.failed == 0 and run.paid_out + run.left == len(due), run
    # The waiting process made no transfer: every transfer is the run's.
    assert len(payouts.transfers_at_stripe()) == run.paid_out


# -- the pace across processes ------------------------------------------------------------


class _RequestTimes:
    """ASGI middleware: when each request reached the sandbox, by the API key it came with."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[tuple[float, str]] = []  # (monotonic time, API key)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            key = headers.get(b"authorization", b"").decode().removeprefix("Bearer ")
            self.seen.append((time.monotonic(), key))
        await self.app(scope, receive, send)

    def of(self, key: str) -> list[float]:
        return [at for at, seen_key in list(self.seen) if seen_key == key]


@pytest.fixture
def timed(postgres_url: str) -> Iterator[tuple[Payouts, _RequestTimes]]:
    """Due payments against a sandbox of this test's own that notes when requests arrive."""
    state = SandboxState()
    times = _RequestTimes(create_sandbox_app(state))
    with (
        BackgroundServer(times) as server,
        payouts_world(postgres_url, RunningSandbox(server.url, state)) as world,
    ):
        yield world, times


def test_payout_runs_in_several_processes_keep_together_to_the_configured_rate(
    timed: tuple[Payouts, _RequestTimes], postgres_url: str
) -> None:
    payouts, times = timed
    due = payouts.due_payments(24)
    rate = 4.0  # 49 requests for the 24: at least 12 s in one run, time for a second to start
    key_a, key_b = "sk_test_process_a", "sk_test_process_b"

    def env(key: str) -> dict[str, str]:
        sandbox_url = payouts.sandbox.url
        return cli_env(postgres_url, sandbox_url, rate=rate, MENTORPAY_STRIPE_SECRET_KEY=key)

    first = Process.start(["payouts", "run"], env(key_a))
    second = None
    try:
        wait_until(lambda: _paid(payouts, due) >= 1, timeout=120)
        # A second process (a worker's hourly run, a cron call) asks while the first pays out.
        second = Process.start(["payouts", "run"], env(key_b))
        wait_until(lambda: second.said("waiting for the run in progress"), timeout=60)
        assert first.stop() == 0, first.output  # hands over to the waiting one
        assert second.popen.wait(timeout=120) == 0, second.output
    finally:
        first.end()
        if second is not None:
            second.end()

    a, b = times.of(key_a), times.of(key_b)
    assert first.said("left for the next run"), first.output  # stopped before the end
    assert a and b and second.said(" 0 failed"), second.output
    # One process at a time: every request of the second came after the first's last...
    assert max(a) < min(b), (max(a), min(b))
    # ... and together N requests took at least (N - 1) / rate seconds, as from one process
    # (half a second of slack for when each request happened to reach the sandbox).
    both = sorted(a + b)
    assert both[-1] - both[0] >= (len(both) - 1) / rate - 0.5, (len(both), both[-1] - both[0])
    payouts.assert_each_paid_out_once(due)


def test_the_next_run_in_another_process_makes_no_request_closer_than_the_pace_allows(
    timed: tuple[Payouts, _RequestTimes],
) -> None:
    payouts, times = timed
    rate = 2.0  # 0.5 s between requests: longer than one run takes to follow another (0.2 s)
    # Two services with API keys of their own, as two processes would have: pacers of their own.
    gateways = [StripeGateway(f"sk_test_run_{n}", payouts.sandbox.url) for n in (1, 2)]
    try:
        earlier, later = (
            payouts.service(stripe=gateway, max_requests_per_second=rate) for gateway in gateways
        )
        payouts.due_payments(1)
        assert earlier.run().paid_out == 1
        payouts.due_payments(1)  # due for the later run only
        assert later.run().paid_out == 1
    finally:
        for gateway in gateways:
            gateway.close()

    first, second = times.of("sk_test_run_1"), times.of("sk_test_run_2")
    assert len(first) == len(second) == 3  # look-up by transfer group, account, transfer
    # The earlier run kept the lock until its pacer's next slot: the later run's first request
    # is a whole interval after the earlier run's last (a quarter of it as slack for arrival).
    assert min(second) - max(first) >= 0.75 / rate, min(second) - max(first)


def test_the_sdks_own_retries_of_a_failed_transfer_keep_to_the_pace_too(
    timed: tuple[Payouts, _RequestTimes],
) -> None:
    payouts, times = timed
    # 0.8 s between requests: more than the SDK's first wait before it retries (0.5 s).
    rate = 1.25
    # The sandbox answers the first two transfer requests with a 500: the SDK retries each.
    payouts.sandbox.state.faults.add(
        Fault("stripe", "POST", "/v1/transfers", 500, "try again", times=2, delay_ms=0)
    )
    gateway = StripeGateway("sk_test_retried", payouts.sandbox.url)
    try:
        due = payouts.due_payments(1)
        result = payouts.service(stripe=gateway, max_requests_per_second=rate).run()
    finally:
        gateway.close()

    assert result.paid_out == 1 and result.failed == 0, result
    seen = sorted(times.of("sk_test_retried"))
    assert len(seen) == 5  # look-up by transfer group, account, the transfer three times
    gaps = [later - earlier for earlier, later in itertools.pairwise(seen)]
    # Every attempt waited its turn (a fifth of an interval as slack for arrival).
    assert min(gaps) >= 0.8 / rate, gaps
    payouts.assert_each_paid_out_once(due)
