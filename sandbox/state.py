"""Everything the sandbox remembers, behind one object the app and the CLI share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter

from sandbox.calcom.emulator import CalcomEmulator
from sandbox.clock import SandboxClock
from sandbox.faults import FaultInjector
from sandbox.stripe.emulator import StripeEmulator


class SandboxState:
    def __init__(self) -> None:
        self.clock = SandboxClock()
        self.faults = FaultInjector()
        self.stripe = StripeEmulator(self.clock)
        self.calcom = CalcomEmulator(self.clock)

    def stripe_router(self) -> APIRouter:
        return self.stripe.router()

    def calcom_router(self) -> APIRouter:
        return self.calcom.router()

    def add_webhook_endpoint(self, url: str, secret: str) -> None:
        self.stripe.add_webhook_endpoint(url, secret)

    def reset(self, *, startup_endpoints_too: bool = False) -> None:
        """Forget everything; seeded demo data comes back. Webhook endpoints given at start-up
        stay, unless ``startup_endpoints_too`` (a process that shares one sandbox among runs)."""
        self.clock.reset()
        self.faults.reset()
        self.stripe.reset(startup_endpoints_too=startup_endpoints_too)
        self.calcom.reset()

    @asynccontextmanager
    async def lifespan(self, _app: Any) -> AsyncIterator[None]:
        # Background work (webhook delivery and retries, session expiry) lives as long as the app.
        self.stripe.start()
        try:
            yield
        finally:
            self.stripe.stop()
