"""The one place where ``MENTORPAY_DATABASE_URL`` becomes the eventsourcing library's settings."""

from __future__ import annotations

from pathlib import Path

from projections.database_url import parse_database_url


def eventsourcing_env(url: str) -> dict[str, str]:
    """The environment an eventsourcing ``Application`` needs for this database URL."""
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
        "POSTGRES_POOL_SIZE": "10",
        "POSTGRES_MAX_OVERFLOW": "20",
        "POSTGRES_CONN_MAX_AGE": "",
        "POSTGRES_LOCK_TIMEOUT": "0",
    }
    if target.schema:
        env["POSTGRES_SCHEMA"] = target.schema
    return env
