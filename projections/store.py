"""One small adapter over the read-model database: SQLite (same file as the events) or PostgreSQL.

Projections write their SQL once, in a portable subset, with ``%s`` (or ``%(name)s``)
placeholders; this module is the only place that knows the two dialects apart.

Portable subset (works the same on both):
- types ``TEXT``, ``BIGINT``/``INTEGER``, ``BOOLEAN``, ``TIMESTAMPTZ`` (read back as aware UTC
  ``datetime``; naive datetimes are refused); ids as ``TEXT`` (``UUID`` parameters become text);
  ``Enum`` parameters are stored by value; money as ``BIGINT`` minor units plus a ``TEXT`` currency.
- ``INSERT ... ON CONFLICT (...) DO UPDATE SET col = excluded.col`` / ``DO NOTHING``, ``RETURNING``.
- literal ``%`` is written ``%%`` (as psycopg requires when parameters are given).
- an error ends the transaction (PostgreSQL aborts it): use ``ON CONFLICT`` rather than catching
  ``IntegrityError`` and carrying on.
"""

from __future__ import annotations

import enum
import hashlib
import re
import sqlite3
import threading
import time
import uuid
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any, Literal

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from projections.database_url import DatabaseTarget, parse_database_url

Row = dict[str, Any]
Params = Sequence[Any] | Mapping[str, Any]
Kind = Literal["sqlite", "postgres", "memory"]

SQLITE_BUSY_TIMEOUT_SECONDS = 10.0
_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%s|%%")
# Serialises DDL of all read models on PostgreSQL: concurrent CREATE TABLE IF NOT EXISTS races.
_DDL_LOCK_NAME = "mentorpay.read-model-ddl"


class StoreError(Exception):
    """The read-model database refused or failed an operation.

    ``retryable``: the database was away, busy or locked (worth another try), as opposed to
    data it cannot store or a statement it refuses (the same again fails the same way).
    """

    retryable = True

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class StoreUnavailable(StoreError):
    """No connection could be had in time (pool busy, database down): try again shortly."""


class IntegrityError(StoreError):
    """A constraint (unique, not null, foreign key, check) was violated."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


def advisory_lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_lock`` (Python's ``hash`` is salted)."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _to_sqlite_sql(sql: str) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(1):
            return f":{match.group(1)}"
        return "?" if match.group(0) == "%s" else "%"

    return _PLACEHOLDER.sub(replace, sql)


def _adapt_value(value: Any, kind: Kind) -> Any:
    if isinstance(value, enum.Enum):
        # psycopg would dump an Enum by *name*, sqlite3 a StrEnum by value: store values on both.
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: read models store aware UTC datetimes")
        if kind != "postgres":
            # Fixed-width UTC text, so ORDER BY and range comparisons work on SQLite too.
            return value.astimezone(UTC).isoformat(timespec="microseconds")
    return value


def _adapt_params(params: Params, kind: Kind) -> Params:
    if isinstance(params, Mapping):
        return {key: _adapt_value(value, kind) for key, value in params.items()}
    return [_adapt_value(value, kind) for value in params]


def _convert_timestamptz(raw: bytes) -> datetime:
    value = datetime.fromisoformat(raw.decode())
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Converters are chosen by declared column type (PARSE_DECLTYPES) on our connections only.
sqlite3.register_converter("TIMESTAMPTZ", _convert_timestamptz)
sqlite3.register_converter("BOOLEAN", lambda raw: raw not in (b"0", b""))


def _sqlite_dict_row(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> Row:
    return {column[0]: value for column, value in zip(cursor.description, row, strict=True)}


class Transaction:
    """An open transaction: ``execute``, then ``fetchone``/``fetchall`` (dict rows)."""

    def __init__(self, kind: Kind, cursor: sqlite3.Cursor | psycopg.Cursor[Row]) -> None:
        self.kind: Kind = kind
        self._cursor = cursor

    def execute(self, sql: str, params: Params = ()) -> Transaction:
        adapted = _adapt_params(params, self.kind)
        with _translated_errors():
            if isinstance(self._cursor, sqlite3.Cursor):
                self._cursor.execute(_to_sqlite_sql(sql), adapted)
            else:
                self._cursor.execute(sql, adapted)
        return self

    def executemany(self, sql: str, rows: Sequence[Params]) -> Transaction:
        adapted = [_adapt_params(params, self.kind) for params in rows]
        with _translated_errors():
            if isinstance(self._cursor, sqlite3.Cursor):
                self._cursor.executemany(_to_sqlite_sql(sql), adapted)
            else:
                self._cursor.executemany(sql, adapted)
        return self

    def copy_rows(
        self,
        table: str,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        *,
        types: Sequence[str] | None = None,
    ) -> None:
        """PostgreSQL only: ``COPY table (columns) FROM STDIN`` of these rows, the fastest way
        to load many (no per-row statement, parameter or round trip). With ``types`` (the
        columns' PostgreSQL type names) in binary format: the server parses no text, and
        values are dumped as the column's type (a ``str`` for a text column, as given)."""
        if isinstance(self._cursor, sqlite3.Cursor):
            raise TypeError("COPY is PostgreSQL's; use executemany on SQLite")
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        if types is not None:
            statement += " (FORMAT BINARY)"
        with _translated_errors(), self._cursor.copy(statement) as copy:
            if types is not None:
                copy.set_types(types)
            for row in rows:
                copy.write_row(row)

    def fetchone(self) -> Row | None:
        with _translated_errors():
            return self._cursor.fetchone()

    def fetchall(self) -> list[Row]:
        with _translated_errors():
            return list(self._cursor.fetchall())

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    def notify(self, channel: str, payload: str = "") -> None:
        """PostgreSQL NOTIFY, delivered when this transaction commits; nothing on SQLite."""
        if self.kind == "postgres":
            self.execute("SELECT pg_notify(%s, %s)", (channel, payload))


# ``CREATE [UNIQUE] INDEX IF NOT EXISTS name`` / ``CREATE TABLE IF NOT EXISTS name``.
_CREATE_IF_NOT_EXISTS = re.compile(
    r"^\s*CREATE\s+(?:UNIQUE\s+)?(?:INDEX|TABLE)\s+IF\s+NOT\s+EXISTS\s+([A-Za-z_][A-Za-z0-9_]*)",
    re.IGNORECASE,
)


class _DdlTransaction(Transaction):
    """Skips ``CREATE ... IF NOT EXISTS`` of what exists already (PostgreSQL).

    ``CREATE INDEX IF NOT EXISTS`` takes a SHARE lock on its table before it looks for the
    index: a restarting follower's set-up would then queue behind the active one's batch, and
    deadlock with it over the tracking row. Looking first takes no table lock at all.
    """

    def execute(self, sql: str, params: Params = ()) -> Transaction:
        match = _CREATE_IF_NOT_EXISTS.match(sql)
        if match and self.kind == "postgres":
            found = super().execute("SELECT to_regclass(%s) IS NOT NULL AS found", (match[1],))
            row = found.fetchone()
            if row and row["found"]:
                return self
        return super().execute(sql, params)


@contextmanager
def _translated_errors() -> Iterator[None]:
    try:
        yield
    except (sqlite3.IntegrityError, psycopg.IntegrityError) as error:
        raise IntegrityError(str(error)) from error
    except (PoolTimeout, psycopg.OperationalError) as error:
        raise StoreUnavailable(str(error)) from error
    except (sqlite3.Error, psycopg.Error) as error:
        raise StoreError(str(error), retryable=_retryable(error)) from error


_PERMANENT_DATABASE_ERRORS = (
    sqlite3.DataError,
    sqlite3.ProgrammingError,
    sqlite3.NotSupportedError,
    psycopg.DataError,  # e.g. "PostgreSQL text fields cannot contain NUL (0x00) bytes"
    psycopg.ProgrammingError,
    psycopg.NotSupportedError,
)


def _retryable(error: Exception) -> bool:
    """Away, busy, locked or cancelled: worth another try; bad data or SQL: not."""
    return not isinstance(error, _PERMANENT_DATABASE_ERRORS)


class _SQLiteBackend:
    """One connection per thread on a WAL file; a single locked connection for ``memory://``."""

    def __init__(self, path: str | None, busy_timeout: float) -> None:
        self._path = path
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._registry_lock = threading.Lock()
        # In-memory databases are private to their connection, so all threads share one.
        self._shared_lock = threading.RLock() if path is None else None
        self._closed = False

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self._path or ":memory:",
            timeout=self._busy_timeout,
            isolation_level=None,  # we issue BEGIN/COMMIT ourselves
            detect_types=sqlite3.PARSE_DECLTYPES,
            check_same_thread=False,  # only so close() may close every thread's connection
        )
        connection.row_factory = _sqlite_dict_row
        connection.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
        connection.execute("PRAGMA foreign_keys = ON")
        if self._path is not None:
            connection.execute("PRAGMA journal_mode = WAL")
        return connection

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError("the read-model store is closed")
        if self._shared_lock is not None:
            with self._registry_lock:
                if not self._connections:
                    self._connections.append(self._connect())
                return self._connections[0]
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            with _translated_errors():
                connection = self._connect()
            with self._registry_lock:
                self._connections.append(connection)
            self._local.connection = connection
        return connection

    @contextmanager
    def transaction(self, readonly: bool) -> Iterator[Transaction]:
        connection = self._connection()
        with self._shared_lock or nullcontext():
            # IMMEDIATE takes the write lock up front (waiting up to the busy timeout) instead
            # of failing with SQLITE_BUSY when a read transaction later tries to write.
            with _translated_errors():
                connection.execute(f"PRAGMA query_only = {int(readonly)}")
                connection.execute("BEGIN" if readonly else "BEGIN IMMEDIATE")
            try:
                yield Transaction("memory" if self._path is None else "sqlite", connection.cursor())
            except BaseException:
                connection.rollback()
                raise
            with _translated_errors():
                try:
                    connection.commit()
                except BaseException:
                    connection.rollback()
                    raise

    def close(self) -> None:
        self._closed = True
        with self._registry_lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()


class _PostgresBackend:
    def __init__(self, target: DatabaseTarget, pool_size: int, pool_timeout: float) -> None:
        self.conninfo = target.psycopg_conninfo
        # Sessions in UTC, so timestamptz values come back as UTC whatever the server's zone.
        options = "-c TimeZone=UTC"
        if target.schema:
            options += f" -c search_path={target.schema}"
        self._connect_kwargs: dict[str, Any] = {"options": options}
        self._used_at: weakref.WeakKeyDictionary[psycopg.Connection[Row], float] = (
            weakref.WeakKeyDictionary()
        )
        self._pool: ConnectionPool[psycopg.Connection[Row]] = ConnectionPool(
            self.conninfo,
            min_size=1,
            max_size=pool_size,
            timeout=pool_timeout,  # then PoolTimeout: StoreUnavailable, a 503 in the API
            max_idle=60,  # connections opened under load close again a minute after it
            kwargs={**self._connect_kwargs, "row_factory": dict_row},
            check=self._check,  # drop connections a DB restart broke
            name="mentorpay-read-models",
            open=True,
        )

    # A connection that worked this recently is not checked again before its next use: the
    # check is a round trip, and followers and the work pool take a connection many times a
    # second. One a restart broke meanwhile fails its next statement, which is retryable
    # (``StoreUnavailable``), and the pool then discards it.
    _CHECK_AFTER_IDLE_SECONDS = 2.0

    def _check(self, connection: psycopg.Connection[Row]) -> None:
        used_at = self._used_at.get(connection)
        if used_at is not None and time.monotonic() - used_at < self._CHECK_AFTER_IDLE_SECONDS:
            return
        ConnectionPool.check_connection(connection)

    @contextmanager
    def transaction(self, readonly: bool) -> Iterator[Transaction]:
        with _translated_errors(), self._pool.connection() as connection:
            # BEGIN READ ONLY: no separate SET TRANSACTION round trip.
            connection.read_only = readonly
            try:
                with connection.transaction(), connection.cursor() as cursor:
                    yield Transaction("postgres", cursor)
            finally:
                if not connection.broken:
                    self._used_at[connection] = time.monotonic()

    @property
    def max_connections(self) -> int:
        return self._pool.max_size

    def connect(self) -> psycopg.Connection[Row]:
        """A dedicated autocommit connection, outside the pool (locks, LISTEN)."""
        return psycopg.connect(
            self.conninfo, autocommit=True, row_factory=dict_row, **self._connect_kwargs
        )

    def close(self) -> None:
        self._pool.close()


class ReadModelStore:
    """Thread-safe access to the read-model database named by ``MENTORPAY_DATABASE_URL``."""

    def __init__(
        self,
        database_url: str,
        *,
        pool_size: int = 4,
        pool_timeout: float = 5.0,
        busy_timeout: float = SQLITE_BUSY_TIMEOUT_SECONDS,
    ) -> None:
        self.target = parse_database_url(database_url)
        self.kind: Kind = self.target.kind
        self._local = threading.local()
        self._backend: _SQLiteBackend | _PostgresBackend
        if self.target.kind == "postgres":
            self._backend = _PostgresBackend(self.target, pool_size, pool_timeout)
        else:
            self._backend = _SQLiteBackend(self.target.sqlite_path, busy_timeout)

    @property
    def max_connections(self) -> int:
        """How many transactions may be open at once without waiting for a connection (SQLite:
        one writer at a time)."""
        if isinstance(self._backend, _PostgresBackend):
            return self._backend.max_connections
        return 1

    @property
    def sqlite_path(self) -> str | None:
        return self.target.sqlite_path

    @contextmanager
    def transaction(self, *, readonly: bool = False) -> Iterator[Transaction]:
        """Commit when the block ends normally, roll back when it raises.

        ``readonly`` refuses writes and, on SQLite, does not take the write lock. Transactions
        do not nest: a second one on the same thread would wait for the first (SQLite) or not
        see its writes (PostgreSQL), so it is refused.
        """
        if getattr(self._local, "in_transaction", False):
            raise StoreError("nested read-model transactions are not supported", retryable=False)
        self._local.in_transaction = True
        try:
            with self._backend.transaction(readonly) as tx:
                yield tx
        finally:
            self._local.in_transaction = False

    @contextmanager
    def ddl_transaction(self) -> Iterator[Transaction]:
        """A transaction for CREATE/DROP, serialised with every other process's DDL."""
        with self.transaction() as tx:
            if tx.kind == "postgres":
                tx.execute("SELECT pg_advisory_xact_lock(%s)", (advisory_lock_key(_DDL_LOCK_NAME),))
            yield _DdlTransaction(tx.kind, tx._cursor)

    def ping(self) -> None:
        """Raise ``StoreError`` unless the database answers."""
        with self.transaction(readonly=True) as tx:
            tx.execute("SELECT 1").fetchone()

    def dedicated_connection(self) -> psycopg.Connection[Row]:
        """PostgreSQL only: an autocommit connection of its own (advisory locks, LISTEN)."""
        if not isinstance(self._backend, _PostgresBackend):
            raise StoreError("dedicated connections exist only on PostgreSQL", retryable=False)
        return self._backend.connect()

    def close(self) -> None:
        self._backend.close()

    def __enter__(self) -> ReadModelStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
