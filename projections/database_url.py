"""``MENTORPAY_DATABASE_URL``: which store, and how to reach it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit


class UnsupportedDatabaseURL(ValueError):
    """The database URL names a store this product does not support."""


@dataclass(frozen=True)
class DatabaseTarget:
    kind: Literal["sqlite", "postgres", "memory"]
    sqlite_path: str | None = None
    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "postgres"
    password: str = ""
    dbname: str = ""
    schema: str = ""

    @property
    def psycopg_conninfo(self) -> str:
        """A libpq connection string for read models and tooling (PostgreSQL only)."""
        if self.kind != "postgres":
            raise UnsupportedDatabaseURL("only PostgreSQL has a libpq connection string")
        parts = [
            f"host={self.host}",
            f"port={self.port}",
            f"user={self.user}",
            f"dbname={self.dbname}",
        ]
        if self.password:
            parts.append(f"password={self.password}")
        return " ".join(parts)


def parse_database_url(url: str) -> DatabaseTarget:
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme == "sqlite":
        # sqlite:///relative/path and sqlite:////absolute/path, as SQLAlchemy spells them.
        path = unquote(url.split("://", 1)[1])
        path = path[1:] if path.startswith("/") else path
        if not path:
            raise UnsupportedDatabaseURL(
                "sqlite URL needs a file path, e.g. sqlite:///./var/mentorpay.db"
            )
        return DatabaseTarget(kind="sqlite", sqlite_path=path)
    if scheme in ("postgres", "postgresql"):
        dbname = parts.path.lstrip("/")
        if not dbname:
            raise UnsupportedDatabaseURL("postgresql URL needs a database name")
        schema = parse_qs(parts.query).get("schema", [""])[0]
        return DatabaseTarget(
            kind="postgres",
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
            dbname=dbname,
            schema=schema,
        )
    if scheme == "memory":
        return DatabaseTarget(kind="memory")
    raise UnsupportedDatabaseURL(f"unsupported database URL scheme {parts.scheme!r}")
