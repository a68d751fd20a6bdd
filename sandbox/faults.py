"""Fault and latency injection for the emulated services (``POST /_sandbox/faults``)."""

from __future__ import annotations

import asyncio
import fnmatch
import json
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.calcom.envelopes import CalcomError

Service = Literal["stripe", "calcom"]


@dataclass
class Fault:
    service: Service
    method: str | None  # None matches every method
    path: str  # exact path or a glob such as /v1/transfers*
    status: int | None  # None: only delay; 0: drop the connection
    message: str | None
    times: int
    delay_ms: int
    # With status 0: let the emulator do the work, then drop the connection before the response
    # reaches the client (a lost response: the side effect happened, the caller never heard).
    after_processing: bool = False


def service_of(path: str) -> Service | None:
    if path.startswith("/v1/"):
        return "stripe"
    if path.startswith("/v2/"):
        return "calcom"
    return None


class FaultInjector:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def reset(self) -> None:
        with self._lock:
            self._faults.clear()

    def armed(self) -> list[Fault]:
        """Faults with uses left, as they stand now."""
        with self._lock:
            return [replace(fault) for fault in self._faults if fault.times > 0]

    def take(self, method: str, path: str) -> Fault | None:
        """The first armed fault matching this call, with one use consumed."""
        service = service_of(path)
        with self._lock:
            for fault in self._faults:
                if fault.service != service or fault.times <= 0:
                    continue
                if fault.method and fault.method.upper() != method.upper():
                    continue
                if not fnmatch.fnmatchcase(path, fault.path):
                    continue
                fault.times -= 1
                return fault
        return None


def error_body(service: Service, status: int, message: str | None, path: str) -> dict[str, Any]:
    """An error body in the shape the named service uses."""
    if service == "stripe":
        kind = "api_error" if status >= 500 else "invalid_request_error"
        if status == 429:
            kind = "invalid_request_error"
        return {
            "error": {
                "type": kind,
                "code": "rate_limit" if status == 429 else None,
                "message": message or f"Injected fault ({status}).",
            }
        }
    return {
        "status": "error",
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "path": path,
        "error": {
            "code": CalcomError(status, "").code,
            "message": message or f"Injected fault ({status}).",
        },
    }


class FaultMiddleware:
    """ASGI middleware: applies armed faults before the emulator sees the request."""

    def __init__(self, app: ASGIApp, injector: FaultInjector) -> None:
        self.app = app
        self.injector = injector

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        fault = self.injector.take(scope["method"], scope["path"])
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.delay_ms:
            await asyncio.sleep(fault.delay_ms / 1000)
        if fault.status is None:
            await self.app(scope, receive, send)
            return
        if fault.status == 0 and fault.after_processing:

            async def swallow(_message: Message) -> None:
                return None

            await self.app(scope, receive, swallow)
        if fault.status == 0:
            # Promise a body, then break off: the client sees a dropped connection.
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-length", b"1024")],
                }
            )
            raise ConnectionAbortedError("sandbox fault: connection dropped")
        body = json.dumps(error_body(fault.service, fault.status, fault.message, scope["path"]))
        await send(
            {
                "type": "http.response.start",
                "status": fault.status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body.encode()})
