"""Development JWTs (HS256) with the claims the API reads: ``sub``, ``role``, ``exp``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt

ROLES = ("user", "mentor", "finance", "admin")


def issue_token(secret: str, sub: str, role: str, ttl_minutes: int = 60) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    expires = datetime.now(UTC) + timedelta(minutes=ttl_minutes)
    return jwt.encode({"sub": sub, "role": role, "exp": expires}, secret, algorithm="HS256")
