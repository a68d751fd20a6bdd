"""Fixtures several folders share: a fresh database per test (SQLite file or PostgreSQL), a live
sandbox, the whole stack; and which tests are ``integration`` (the rest are fast unit tests).
Helpers they build on are in tests/support."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from tests.support.in_process import staying_in_process

if TYPE_CHECKING:
    from projections.work_pool import WorkSettings
    from tests.support.sandbox_server import RunningSandbox
    from tests.support.stack import Stack

# A test whose fixtures include any of these (directly or through another fixture) needs a store or
# a server: it is marked ``integration``. A new fixture built on one of them is covered; one that
# reaches outside the process otherwise belongs in this set (or its tests get the mark by hand).
TESTS = Path(__file__).parent
INTEGRATION_FIXTURES = frozenset(
    {"postgres_server_url", "sqlite_url", "database_url", "shared_sandbox", "sandbox", "stack"}
)

# Folders whose every test runs the product (servers, browsers, processes): integration as a whole.
INTEGRATION_FOLDERS = frozenset({"flow", "browser", "contract", "footprint"})

POSTGRES_SERVER_URL = os.environ.get(
    "MENTORPAY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        in_folder = INTEGRATION_FOLDERS.intersection(item.path.relative_to(TESTS).parts[:1])
        if (
            in_folder
            or INTEGRATION_FIXTURES.intersection(fixtures)
            or item.get_closest_marker("postgres")
        ):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True)
def _unit_tests_stay_in_process(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """A test not marked ``integration`` fails if it opens a network socket or a process."""
    if request.node.get_closest_marker("integration"):
        yield
        return
    with staying_in_process(monkeypatch, request.node.nodeid):
        yield


def _with_dbname(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{dbname}"))


# Test databases are named after the process that made them, so a later run can drop those
# of a run that was killed (its ``finally`` never ran) without touching a live run's.
_DB_PREFIX = "mentorpay_test_p"


# How long a drop waits for the test's own connections to finish closing before it forces them.
_CLOSING_GRACE_SECONDS = 1.0


def _wait_for_connections_to_close(conn: psycopg.Connection[Any], dbname: str) -> None:
    """Wait until no session is left on ``dbname``, or the grace period ends.

    A DROP that finds a session, even one already closing, waits for it in steps of 100 ms
    (PostgreSQL's own poll), and every test's stack closes its connections just before its
    drop: waiting here in short steps saves most of that tenth of a second per test.
    """
    deadline = time.monotonic() + _CLOSING_GRACE_SECONDS
    query = "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = %s)"
    while time.monotonic() < deadline:
        row = conn.execute(query, (dbname,)).fetchone()
        if row is None or not row[0]:
            return
        time.sleep(0.005)  # polling the server's view of the sessions; WITH (FORCE) follows


def _drop_database(server_url: str, dbname: str, attempts: int = 5) -> None:
    """Drop ``dbname``, retrying a crowded server ("too many clients") a few times."""
    for attempt in range(attempts):
        try:
            with psycopg.connect(server_url, autocommit=True, connect_timeout=5) as conn:
                _wait_for_connections_to_close(conn, dbname)
                statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                conn.execute(statement.format(sql.Identifier(dbname)))
            return
        except psycopg.OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5 * (attempt + 1))  # back-off between tries, not synchronisation


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _drop_orphans(server_url: str) -> None:
    """Drop test databases left by runs on this machine whose process is gone."""
    with psycopg.connect(server_url, autocommit=True, connect_timeout=5) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (_DB_PREFIX + "%",)
        ).fetchall()
    for (name,) in rows:
        pid = name[len(_DB_PREFIX) :].split("_", 1)[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            _drop_database(server_url, name)


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    try:
        with psycopg.connect(POSTGRES_SERVER_URL, connect_timeout=5):
            pass
    except psycopg.OperationalError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL must be reachable in CI: {error}")
        pytest.skip(f"PostgreSQL not reachable: {error}")
    _drop_orphans(POSTGRES_SERVER_URL)
    return POSTGRES_SERVER_URL


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A database of its own for this test, dropped afterwards: after a failure too, and by
    the next run if this process was killed first."""
    dbname = f"{_DB_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    try:
        yield _with_dbname(postgres_server_url, dbname)
    finally:
        _drop_database(postgres_server_url, dbname)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path}/mentorpay.db"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Every storage test runs on both stores."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")


# The sandbox and the stack import the web apps (about a second): only when a test asks for them.


@pytest.fixture(scope="session")
def shared_sandbox() -> Iterator[RunningSandbox]:
    """One sandbox server for the session; tests get it through ``sandbox`` or ``stack``."""
    from tests.support.sandbox_server import running_sandbox

    with running_sandbox() as running:
        yield running


@pytest.fixture
def sandbox(shared_sandbox: RunningSandbox) -> Iterator[RunningSandbox]:
    """A live sandbox on an ephemeral loopback port, as fresh for each test as a new one."""
    from tests.support.sandbox_server import reset_for_one_test

    with reset_for_one_test(shared_sandbox) as running:
        yield running


@pytest.fixture
def stack_settings() -> dict[str, Any]:
    """Override in a test module to change the stack's settings (e.g. SMTP)."""
    return {}


@pytest.fixture
def stack_work() -> WorkSettings:
    """Override in a test module to change the work pool's threads, lease or retries."""
    from tests.support.stack import FLOW_WORK

    return FLOW_WORK


@pytest.fixture
def stack(
    database_url: str,
    stack_settings: dict[str, Any],
    stack_work: WorkSettings,
    sandbox: RunningSandbox,
) -> Iterator[Stack]:
    """The sandbox, the API and its workers over real HTTP, on both stores."""
    from tests.support.stack import running_stack

    with running_stack(database_url, stack_work, sandbox=sandbox, **stack_settings) as running:
        yield running
