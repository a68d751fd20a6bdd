"""An idle deployment (``serve --no-workers`` plus one ``worker``) holds at most 20 PostgreSQL
connections, counted in ``pg_stat_activity``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest

from mentorpay.bootstrap import read_models
from tests.support.waiting import wait_until

pytestmark = pytest.mark.postgres
MAX_IDLE_CONNECTIONS = 20
# Every read model and the work dispatcher lead with an advisory lock; the process managers
# run from the work queue and hold none.
FOLLOWERS = len(read_models()) + 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cli(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "mentorpay.cli", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.fixture
def deployment(postgres_url: str) -> Iterator[tuple[str, int]]:
    port = _free_port()
    nowhere = f"http://127.0.0.1:{_free_port()}"  # idle: no vendor is called
    env = {
        **os.environ,
        "MENTORPAY_DATABASE_URL": postgres_url,
        "MENTORPAY_STRIPE_API_BASE": nowhere,
        "MENTORPAY_CALCOM_API_BASE": nowhere,
    }
    processes = [_cli(["serve", "--no-workers", "--port", str(port)], env)]
    try:
        wait_until(lambda: _ready(port), timeout=60)
        processes.append(_cli(["worker"], env))
        yield postgres_url, port
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _count(url: str, query: str) -> int:
    dbname = urlsplit(url).path.lstrip("/")
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(query, (dbname,)).fetchone()
    assert row is not None
    return int(row[0])


def test_serve_without_workers_and_one_worker_hold_at_most_20_connections_idle(
    deployment: tuple[str, int],
) -> None:
    url, port = deployment
    # The worker is up once every follower holds its leadership lock.
    wait_until(
        lambda: (
            _count(
                url,
                "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
                " WHERE l.locktype = 'advisory' AND l.granted AND d.datname = %s",
            )
            >= FOLLOWERS
        ),
        timeout=60,
    )
    assert httpx.get(f"http://127.0.0.1:{port}/api/bookings", timeout=5).status_code == 401
    held = _count(
        url,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
    )
    print(f"idle serve --no-workers + worker: {held} PostgreSQL connections")
    assert held <= MAX_IDLE_CONNECTIONS
