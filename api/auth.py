"""Bearer JWT (HS256) authentication: who is calling, in which role."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.problems import Problem

ROLES = frozenset({"user", "mentor", "finance", "admin"})
_bearer = HTTPBearer(auto_error=False)


@dataclass(frozen=True)
class Principal:
    sub: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "Unauthorized", detail, headers={"WWW-Authenticate": "Bearer"})


def decode_principal(token: str, secret: str) -> Principal:
    try:
        claims = jwt.decode(
            token, secret, algorithms=["HS256"], options={"require": ["sub", "role", "exp"]}
        )
    except jwt.PyJWTError as error:
        raise _unauthorized(f"Invalid token: {error}") from None
    sub, role = claims["sub"], claims["role"]
    if not isinstance(sub, str) or not sub or role not in ROLES:
        raise _unauthorized("Token has an unusable subject or role.")
    return Principal(sub=sub, role=role)


async def current_principal(  # async: no I/O, so no worker-thread hop (api/dependencies.py)
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise _unauthorized("A Bearer token is required.")
    secret: str = request.app.state.services.jwt_secret
    return decode_principal(credentials.credentials, secret)


def require_roles(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    async def _check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role not in roles:
            raise Problem(403, "Forbidden", "Your role may not do this.")
        return principal

    return _check
