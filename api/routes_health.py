"""Liveness, readiness (database reachable, follower lag) and Prometheus metrics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from api.dependencies import ApiServices, services
from api.openapi_docs import METRICS_RESPONSES, READYZ_RESPONSES

router = APIRouter()
MAX_READY_LAG = 1000


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses=READYZ_RESPONSES)
def readyz(c: Annotated[ApiServices, Depends(services)]) -> Response:
    try:
        head = c.head_position()
        c.store.ping()
    except Exception as error:
        return JSONResponse({"status": "unavailable", "error": type(error).__name__}, 503)
    lag = {name: max(0, head - f.position) for name, f in c.read_models.items()}
    ready = all(value <= MAX_READY_LAG for value in lag.values())
    return JSONResponse(
        {"status": "ready" if ready else "lagging", "head": head, "lag": lag}, 200 if ready else 503
    )


@router.get("/metrics", response_class=PlainTextResponse, responses=METRICS_RESPONSES)
def metrics(request: Request, c: Annotated[ApiServices, Depends(services)]) -> Response:
    registry = request.app.state.metrics
    head = c.head_position()
    registry.ledger_events.set(head)
    for follower in c.followers:
        registry.follower_lag.labels(follower.name).set(max(0, head - follower.position))
    return Response(registry.render(), media_type="text/plain; version=0.0.4")
