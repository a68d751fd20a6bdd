"""The FastAPI application: sync endpoints (the ledger has no async API), problem+json errors."""

from __future__ import annotations

from fastapi import FastAPI

from api import (
    routes_bookings,
    routes_cancellations,
    routes_finance,
    routes_health,
    routes_payouts,
    routes_webhooks,
)
from api.docs import install_offline_docs
from api.limits import BodyLimitMiddleware
from api.metrics import Metrics, MetricsMiddleware
from api.problems import Problem, install_problem_handlers
from ledger import (
    BookingNotFound,
    ConflictingRecord,
    InvalidTransition,
    LedgerError,
    LedgerValidationError,
    PaymentNotFound,
)
from mentorpay.bootstrap import Container
from processes.errors import ServiceError


def create_app(container: Container) -> FastAPI:
    app = FastAPI(title="mentorpay", version="0.1.0", docs_url=None, redoc_url=None)
    app.state.container = container
    app.state.jwt_secret = container.settings.jwt_secret.get_secret_value()
    app.state.metrics = Metrics()
    install_problem_handlers(app)
    _install_domain_handlers(app)
    install_offline_docs(app)
    app.include_router(routes_bookings.router)
    app.include_router(routes_cancellations.router)
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
        elif isinstance(exc, LedgerValidationError):
            status = 422
        return await problem_handler(
            request, Problem(status, type(exc).__name__, str(exc), code=getattr(exc, "code", None))
        )

    app.add_exception_handler(ServiceError, service_error)
    app.add_exception_handler(LedgerError, ledger_error)
