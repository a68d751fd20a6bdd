"""The test fixtures never leak a PostgreSQL database: a failed test's is dropped at once, and
a killed run's (whose clean-up never ran) by the next run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]

INNER = """
import os
from pathlib import Path

from tests.conftest import postgres_server_url, postgres_url  # noqa: F401


def test_fails(postgres_url):
    Path(os.environ["RECORD"]).write_text(postgres_url.rsplit("/", 1)[1])
    raise AssertionError("this test fails on purpose")


def test_killed(postgres_url):
    Path(os.environ["RECORD"]).write_text(postgres_url.rsplit("/", 1)[1])
    os._exit(9)  # no finally, no fixture teardown: as if the run were killed


def test_nothing(postgres_server_url):
    pass
"""


def _run(tmp_path: Path, test: str) -> str:
    inner = tmp_path / "test_inner_fixtures.py"
    inner.write_text(INNER)
    record = tmp_path / f"{test}.txt"
    # Only the plugin the inner tests need (pyproject's timeout): hypothesis and schemathesis
    # would add two seconds to each of the three runs.
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "pytest_timeout",
    ]
    subprocess.run(
        [*command, f"{inner}::{test}"],
        cwd=ROOT,
        env={**os.environ, "RECORD": str(record), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        capture_output=True,
        timeout=120,
        check=False,
    )
    return record.read_text() if record.exists() else ""


def _exists(server_url: str, name: str) -> bool:
    with psycopg.connect(server_url, autocommit=True) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return row is not None


def test_failed_and_killed_runs_leave_no_database(postgres_server_url: str, tmp_path: Path) -> None:
    failed = _run(tmp_path, "test_fails")
    assert failed and not _exists(postgres_server_url, failed)
    killed = _run(tmp_path, "test_killed")
    assert killed and _exists(postgres_server_url, killed)  # nothing could clean up
    _run(tmp_path, "test_nothing")  # the next run's session start
    assert not _exists(postgres_server_url, killed)
