"""Test-only controls under ``/_sandbox`` that belong to neither emulated service."""

from __future__ import annotations

from dataclasses import asdict
from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from sandbox.faults import Fault
from sandbox.state import SandboxState


class FaultRequest(BaseModel):
    service: Literal["stripe", "calcom"]
    method: str | None = None
    path: str
    status: int | None = Field(default=None, ge=0, le=599)
    message: str | None = None
    times: int = Field(default=1, ge=1, le=10_000)
    delayMs: int = Field(default=0, ge=0, le=120_000)
    afterProcessing: bool = False  # with status 0: the call takes effect, its response is lost


class ClockAdvance(BaseModel):
    seconds: float = Field(gt=0, le=400 * 24 * 3600)


def build_controls_router(state: SandboxState) -> APIRouter:
    router = APIRouter(prefix="/_sandbox", tags=["sandbox controls"])

    @router.post("/faults", status_code=201)
    def add_fault(body: FaultRequest) -> dict[str, object]:
        state.faults.add(
            Fault(
                service=body.service,
                method=body.method,
                path=body.path,
                status=body.status,
                message=body.message,
                times=body.times,
                delay_ms=body.delayMs,
                after_processing=body.afterProcessing,
            )
        )
        return {"armed": body.model_dump()}

    @router.get("/faults")
    def list_faults() -> dict[str, object]:
        return {"faults": [asdict(fault) for fault in state.faults.armed()]}

    @router.delete("/faults", status_code=204)
    def clear_faults() -> Response:
        state.faults.reset()
        return Response(status_code=204)

    @router.post("/clock/advance")
    def advance_clock(body: ClockAdvance) -> dict[str, str]:
        """Move the sandbox's time forward (session and reservation expiry without waiting)."""
        return {"now": state.clock.advance(body.seconds).isoformat()}

    @router.delete("/state", status_code=204)
    def reset_state() -> Response:
        state.reset()
        return Response(status_code=204)

    router.include_router(state.stripe.controls_router())
    router.include_router(state.calcom.controls_router())
    return router
