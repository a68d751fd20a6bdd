"""Liveness, readiness (database, halted read models, follower lag) and Prometheus metrics."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from api.dependencies import ApiServices, services
from api.openapi_docs import METRICS_RESPONSES, READYZ_RESPONSES
from projections import halts, work_queue
from projections.store import StoreError

router = APIRouter()


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses=READYZ_RESPONSES)
def readyz(c: Annotated[ApiServices, Depends(services)]) -> Response:
    """503 with the reasons when the database is away, a read model is halted, or one is more
    than ``READY_MAX_LAG`` positions behind the head."""
    try:
        head = c.head_position()
        with c.store.transaction(readonly=True) as tx:
            halted = halts.all_halts(tx)
        lag = {name: follower.lag() for name, follower in c.read_models.items()}
    except Exception as error:
        return JSONResponse({"status": "unavailable", "error": type(error).__name__}, 503)
    reasons = [
        f"read model {h.name} is halted at position {h.position}: event {h.failed_position}"
        f" cannot be applied ({h.error})"
        for h in halted
    ]
    reasons += [
        f"read model {name} is {value} positions behind the head (limit {c.ready_max_lag})"
        for name, value in lag.items()
        if value > c.ready_max_lag
    ]
    status = "halted" if halted else "lagging" if reasons else "ready"
    body: dict[str, Any] = {
        "status": status,
        "head": head,
        "lag": lag,
        "halted": [
            {
                "name": h.name,
                "position": h.position,
                "failedPosition": h.failed_position,
                "error": h.error,
                "haltedAt": h.halted_at.isoformat(),
            }
            for h in halted
        ],
        "reasons": reasons,
    }
    return JSONResponse(body, 503 if reasons else 200)


@router.get("/metrics", response_class=PlainTextResponse, responses=METRICS_RESPONSES)
def metrics(request: Request, c: Annotated[ApiServices, Depends(services)]) -> Response:
    registry = request.app.state.metrics
    head = c.head_position()
    registry.ledger_events.set(head)
    for follower in c.followers:
        registry.follower_lag.labels(follower.name).set(max(0, head - follower.position))
    try:
        with c.store.transaction(readonly=True) as tx:
            halted = {h.name for h in halts.all_halts(tx)}
            queue = work_queue.stats(tx)
    except StoreError:  # no worker has created the work tables yet
        halted, queue = set(), work_queue.QueueStats({}, {}, {}, {})
    for name in {*c.read_models, *halted}:
        registry.read_model_halted.labels(name).set(1 if name in halted else 0)
    for process in queue.queued:
        registry.work_queued.labels(process).set(queue.queued[process])
        registry.work_oldest_age.labels(process).set(queue.oldest_age_seconds.get(process, 0.0))
        registry.work_parked.labels(process).set(queue.parked.get(process, 0))
        registry.work_retries.labels(process).set(queue.retries.get(process, 0))
    return Response(registry.render(), media_type="text/plain; version=0.0.4")
