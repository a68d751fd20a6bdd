"""A PostgreSQL database of the benchmark's own, created fresh and dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

SERVER_URL = os.environ.get(
    "MENTORPAY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


@contextmanager
def scratch_database(label: str = "run") -> Iterator[str]:
    """Yield the URL of a new, empty database on ``SERVER_URL``; drop it at the end."""
    name = f"mentorpay_bench_{label}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(SERVER_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunsplit(urlsplit(SERVER_URL)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(SERVER_URL, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
