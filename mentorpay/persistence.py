"""The one place where ``MENTORPAY_DATABASE_URL`` becomes the eventsourcing library's settings,
and where start-up waits for the database."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import psycopg

from projections.database_url import parse_database_url

log = logging.getLogger(__name__)

# The ledger's pool: connections kept open (min) and opened beyond them under load.
DEFAULT_POOL_SIZE = 2
DEFAULT_MAX_OVERFLOW = 4
DEFAULT_POOL_TIMEOUT = 5  # seconds a caller waits for a connection (then 503)
# Not imported here: only a PostgreSQL ledger loads it (by topic).
ORDERED_INSERT_RECORDER = "mentorpay.ledger_recorder:OrderedInsertFunctionRecorder"


def eventsourcing_env(
    url: str,
    *,
    pool_size: int = DEFAULT_POOL_SIZE,
    max_overflow: int = DEFAULT_MAX_OVERFLOW,
    pool_timeout: int = DEFAULT_POOL_TIMEOUT,
    insert_function: bool = True,
) -> dict[str, str]:
    """The environment an eventsourcing ``Application`` needs for this database URL.

    ``insert_function`` (PostgreSQL, the default): save through one database function call
    that takes the table lock itself (``mentorpay/ledger_recorder.py``), not the library's
    pipelined transaction (about a third of the client CPU a save costs)."""
    target = parse_database_url(url)
    if target.kind == "memory":
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if target.kind == "sqlite":
        assert target.sqlite_path is not None
        Path(target.sqlite_path).parent.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": target.sqlite_path,
            "SQLITE_LOCK_TIMEOUT": "10",
        }
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": target.dbname,
        "POSTGRES_HOST": target.host,
        "POSTGRES_PORT": str(target.port),
        "POSTGRES_USER": target.user,
        "POSTGRES_PASSWORD": target.password,
        # The library keeps POOL_SIZE connections open even when idle: keep it small.
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": str(max_overflow),
        # Also how long a caller waits for a pooled connection before giving up.
        "POSTGRES_CONNECT_TIMEOUT": str(pool_timeout),
        "POSTGRES_CONN_MAX_AGE": "",
        "POSTGRES_LOCK_TIMEOUT": "0",
    }
    if target.schema:
        env["POSTGRES_SCHEMA"] = target.schema
    if insert_function:
        env["APPLICATION_RECORDER_TOPIC"] = ORDERED_INSERT_RECORDER
    return env


def wait_for_database(url: str, deadline_seconds: float) -> None:
    """Block until PostgreSQL accepts a connection, or raise after ``deadline_seconds``.

    A restarted service comes up before (or while) its database does; it waits rather
    than exiting. SQLite and memory need no wait.
    """
    target = parse_database_url(url)
    if target.kind != "postgres":
        return
    deadline = time.monotonic() + deadline_seconds
    delay = 0.2
    while True:
        try:
            with psycopg.connect(target.psycopg_conninfo, connect_timeout=5):
                return
        except psycopg.OperationalError as error:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(
                    f"the database did not accept connections within {deadline_seconds:g} s: "
                    f"{error}"
                ) from error
            log.warning("waiting for the database (%.0f s left): %s", left, error)
            time.sleep(min(delay, left))
            delay = min(delay * 2, 5.0)
