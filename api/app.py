"""The FastAPI application: sync endpoints (the ledger has no async API), problem+json errors."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import cast

from eventsourcing.persistence import OperationalError as PersistenceOperationalError
from fastapi import FastAPI, Request, Response

from api import (
    routes_bookings,
    routes_cancellations,
    routes_catalog,
    routes_finance,
    routes_health,
    routes_lifecycle,
    routes_mentors,
    routes_ops,
    routes_payouts,
    routes_webhooks,
)
from api.dependencies import ApiServices
from api.docs import install_offline_docs
from api.limits import BodyLimitMiddleware
from api.metrics import Metrics, MetricsMiddleware
from api.openapi_docs import install_openapi, operation_id
from api.problems import Problem, install_problem_handlers
from ledger import (
    BookingNotFound,
    ConflictingRecord,
    InvalidTransition,
    LedgerError,
    PaymentNotFound,
)
from processes.services.errors import ServiceError
from projections.store import StoreUnavailable

log = logging.getLogger("mentorpay.api")


def create_app(services: ApiServices) -> FastAPI:
    app = FastAPI(
        title="mentorpay",
        version="0.1.0",
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=operation_id,
    )
    app.state.services = services
    # ``services`` is None only where the OpenAPI document is generated (no ledger behind it).
    app.state.metrics = (
        Metrics(services.ledger, services.checkout_limits) if services is not None else Metrics()
    )
    install_problem_handlers(app)
    _install_domain_handlers(app)
    install_offline_docs(app)
    app.include_router(routes_bookings.router)
    app.include_router(routes_cancellations.router)
    app.include_router(routes_catalog.router)
    app.include_router(routes_lifecycle.router)
    app.include_router(routes_mentors.router)
    app.include_router(routes_payouts.router)
    app.include_router(routes_finance.router)
    app.include_router(routes_webhooks.router)
    app.include_router(routes_health.router)
    app.include_router(routes_ops.router)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(BodyLimitMiddleware)
    install_openapi(app)
    return app


def _install_domain_handlers(app: FastAPI) -> None:
    handlers = app.exception_handlers
    # install_problem_handlers registered an async handler for Problem.
    problem_handler = cast(Callable[[Request, Problem], Awaitable[Response]], handlers[Problem])

    async def service_error(request: Request, exc: ServiceError) -> Response:
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        return await problem_handler(
            request, Problem(exc.status, exc.title, str(exc), headers=headers)
        )

    async def ledger_error(request: Request, exc: LedgerError) -> Response:
        status = 422
        if isinstance(exc, BookingNotFound | PaymentNotFound):
            status = 404
        elif isinstance(exc, ConflictingRecord | InvalidTransition):
            status = 409
        return await problem_handler(
            request, Problem(status, type(exc).__name__, str(exc), code=getattr(exc, "code", None))
        )

    async def database_busy(request: Request, exc: Exception) -> Response:
        # Pool exhausted or database unreachable: a moment later the same request may work.
        log.warning("database unavailable for %s %s: %s", request.method, request.url.path, exc)
        return await problem_handler(
            request,
            Problem(
                503,
                "Service busy",
                "no database connection could be had in time; try again",
                headers={"Retry-After": "2"},
            ),
        )

    # FastAPI's decorator form takes a handler for a subclass of Exception as it is.
    app.exception_handler(StoreUnavailable)(database_busy)
    app.exception_handler(PersistenceOperationalError)(database_busy)
    app.exception_handler(ServiceError)(service_error)
    app.exception_handler(LedgerError)(ledger_error)
