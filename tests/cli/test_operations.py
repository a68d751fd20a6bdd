"""Operations' edges: serve's own return page, and a demo whose CLI environment is written
for it (so `ledger reconcile` and `payouts run` talk to its sandbox, not to Stripe)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from mentorpay.cli import app as cli_app
from mentorpay.demo_stack import fresh_demo_database, write_demo_env
from mentorpay.servers import BackgroundServer
from mentorpay.settings import Settings, get_settings
from sandbox.app import create_app as create_sandbox_app
from tests.support.waiting import wait_until

# Starts real processes and servers on loopback.
pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_answers_the_checkout_return_page(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "MENTORPAY_DATABASE_URL": f"sqlite:///{tmp_path}/serve.db"}
    server = subprocess.Popen(
        [sys.executable, "-m", "mentorpay.cli", "serve", "--no-workers", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def returned() -> httpx.Response | None:
            try:
                return httpx.get(
                    f"http://127.0.0.1:{port}/return",
                    params={"session_id": "cs_test_<b>1</b>"},
                    timeout=2,
                )
            except httpx.HTTPError:
                return None

        page = wait_until(returned, timeout=30)
    finally:
        server.terminate()
        server.wait(timeout=20)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "cs_test_&lt;b&gt;1&lt;/b&gt;" in page.text  # escaped, never markup


def test_the_demo_env_points_the_cli_at_its_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale = tmp_path / "var" / "demo.db"
    stale.parent.mkdir(parents=True)
    for name in ("demo.db", "demo.db-wal", "demo.db.follower-bookings.lock"):
        (stale.parent / name).write_text("left by the last demo")
    url = fresh_demo_database(stale)
    assert url == f"sqlite:///{stale}" and not list(stale.parent.iterdir())

    with BackgroundServer(create_sandbox_app()) as sandbox:
        settings = Settings(
            database_url=url, stripe_api_base=sandbox.url, calcom_api_base=sandbox.url
        )
        env_file = write_demo_env(settings, tmp_path / "var" / "demo.env")
        for line in env_file.read_text().splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.partition("=")
                monkeypatch.setenv(key, value)
        assert os.environ["MENTORPAY_STRIPE_API_BASE"] == sandbox.url
        get_settings.cache_clear()
        try:
            for command in (["ledger", "reconcile"], ["payouts", "run"]):
                result = CliRunner().invoke(cli_app, command)
                assert result.exit_code == 0, (command, result.output)
        finally:
            get_settings.cache_clear()
