"""``MENTORPAY_DATABASE_URL``: which store, and how to reach it.

PostgreSQL URLs are parsed by libpq itself (``psycopg.conninfo``), so every libpq spelling and
parameter works; the one addition is ``?schema=NAME`` for the event and read-model tables.
SQLite URLs are spelled as SQLAlchemy does (``sqlite:///relative``, ``sqlite:////absolute``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo


class UnsupportedDatabaseURL(ValueError):
    """The database URL names a store this product does not support."""


@dataclass(frozen=True)
class DatabaseTarget:
    kind: Literal["sqlite", "postgres", "memory"]
    sqlite_path: str | None = None
    schema: str = ""
    libpq_params: dict[str, str] = field(default_factory=dict)

    @property
    def host(self) -> str:
        return self.libpq_params.get("host", "127.0.0.1")

    @property
    def port(self) -> int:
        return int(self.libpq_params.get("port", 5432))

    @property
    def user(self) -> str:
        return self.libpq_params.get("user", "postgres")

    @property
    def password(self) -> str:
        return self.libpq_params.get("password", "")

    @property
    def dbname(self) -> str:
        return self.libpq_params.get("dbname", "")

    @property
    def psycopg_conninfo(self) -> str:
        """A libpq connection string for read models and tooling (PostgreSQL only)."""
        if self.kind != "postgres":
            raise UnsupportedDatabaseURL("only PostgreSQL has a libpq connection string")
        return make_conninfo(**{"host": self.host, "user": self.user, **self.libpq_params})


def parse_database_url(url: str) -> DatabaseTarget:
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme == "sqlite":
        path = unquote(url.split("://", 1)[1])
        path = path[1:] if path.startswith("/") else path
        if not path:
            raise UnsupportedDatabaseURL(
                "sqlite URL needs a file path, e.g. sqlite:///./var/mentorpay.db"
            )
        return DatabaseTarget(kind="sqlite", sqlite_path=path)
    if scheme in ("postgres", "postgresql"):
        query = parse_qsl(parts.query)
        schema = next((value for key, value in query if key == "schema"), "")
        rest = urlencode([(key, value) for key, value in query if key != "schema"])
        libpq_url = urlunsplit(parts._replace(scheme="postgresql", query=rest))
        try:
            params = {key: str(value) for key, value in conninfo_to_dict(libpq_url).items()}
        except psycopg.ProgrammingError as error:
            raise UnsupportedDatabaseURL(f"invalid postgresql URL: {error}") from None
        if not params.get("dbname"):
            raise UnsupportedDatabaseURL("postgresql URL needs a database name")
        return DatabaseTarget(kind="postgres", schema=schema, libpq_params=params)
    if scheme == "memory":
        return DatabaseTarget(kind="memory")
    raise UnsupportedDatabaseURL(f"unsupported database URL scheme {parts.scheme!r}")
