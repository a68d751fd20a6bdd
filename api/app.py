"""The FastAPI application: sync endpoints (the ledger has no async API), problem+json errors."""

from __future__ import annotations

from fastapi import FastAPI

from api import (
    routes_bookings,
    routes_cancellations,
    routes_finance,
    routes_health,
    routes_lifecycle,
    routes_mentors,
    routes_payouts,
    routes_webhooks,
)
from api.dependencies import ApiServices
from api.limits import BodyLimitMiddleware
from api.metrics import Metrics, MetricsMiddleware
from api.problems import Problem, install_problem_handlers
from ledger import (
    BookingNotFound,
    ConflictingRecord,
    InvalidTransition,
    LedgerError,
    PaymentNotFound,
)
from processes.services.errors import ServiceError


def create_app(services: ApiServices) -> FastAPI:
    app = FastAPI(title="mentorpay", version="0.1.0")
    app.state.services = services
    app.state.metrics = Metrics()
    install_problem_handlers(app)
    _install_domain_handlers(app)
    app.include_router(routes_bookings.router)
    app.include_router(routes_cancellations.router)
    app.include_router(routes_lifecycle.router)
    app.include_router(routes_mentors.router)
    app.include_router(routes_payouts.router)
    app.include_router(routes_finance.router)
    app.include_router(routes_webhooks.router)
    app.include_router(routes_health.router)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(BodyLimitMiddleware)
    return app


def _install_domain_handlers(app: FastAPI) -> None:
    handlers = app.exception_handlers
    problem_handler = handlers[Problem]

    async def service_error(request, exc: ServiceError):  # type: ignore[no-untyped-def]
        return await problem_handler(request, Problem(exc.status, exc.title, str(exc)))

    async def ledger_error(request, exc: LedgerError):  # type: ignore[no-untyped-def]
        status = 422
        if isinstance(exc, BookingNotFound | PaymentNotFound):
            status = 404
        elif isinstance(exc, ConflictingRecord | InvalidTransition):
            status = 409
        return await problem_handler(
            request, Problem(status, type(exc).__name__, str(exc), code=getattr(exc, "code", None))
        )

    app.add_exception_handler(ServiceError, service_error)
    app.add_exception_handler(LedgerError, ledger_error)
