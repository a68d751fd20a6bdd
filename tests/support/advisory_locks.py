"""What a dropped connection does to an advisory lock, done on purpose: the server ends the
session holding it."""

from __future__ import annotations

import psycopg

from projections.leadership import AdvisoryLockLeadership


def end_sessions_holding(postgres_url: str, name: str) -> int:
    """Terminate the backends holding the lock ``name``; how many there were."""
    unsigned = AdvisoryLockLeadership.key_of(name) & 0xFFFFFFFFFFFFFFFF
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        ended = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
            " AND granted AND classid = %s::oid AND objid = %s::oid AND objsubid = 1",
            (unsigned >> 32, unsigned & 0xFFFFFFFF),
        ).fetchall()
    assert all(terminated for (terminated,) in ended), ended
    return len(ended)
