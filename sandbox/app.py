"""The sandbox ASGI app: Stripe (/v1), Cal.com (/v2), test controls (/_sandbox) on one port."""

from __future__ import annotations

from fastapi import FastAPI

from sandbox.controls import build_controls_router
from sandbox.faults import FaultMiddleware
from sandbox.state import SandboxState


def create_app(state: SandboxState | None = None) -> FastAPI:
    state = state or SandboxState()
    app = FastAPI(
        title="mentorpay sandbox",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=state.lifespan,
    )
    app.state.sandbox = state
    app.include_router(state.stripe_router())
    app.include_router(state.calcom_router())
    app.include_router(build_controls_router(state))
    app.add_middleware(FaultMiddleware, injector=state.faults)
    return app
