"""One whole product on loopback for a test module: the sandbox, the API and its workers on
SQLite, the demo catalogue loaded (the contract and browser tests share one per module)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from api.app import create_app
from mentorpay.auth_tokens import issue_token
from mentorpay.bootstrap import Container, build_container
from mentorpay.servers import BackgroundServer
from projections.catalog_file import read_catalog_file
from sandbox.app import create_app as create_sandbox_app
from sandbox.state import SandboxState
from tests.support.stack import DEMO_CATALOG, FLOW_WORK, JWT_SECRET, WEBHOOK_SECRET, settings_for

CRON_SECRET = "live-stack-cron-secret"


@dataclass
class LiveStack:
    api_url: str
    sandbox_url: str
    container: Container
    sandbox: SandboxState
    app: FastAPI

    def token(self, sub: str = "user-1", role: str = "user") -> str:
        return issue_token(JWT_SECRET, sub, role, ttl_minutes=120)


@contextmanager
def live_stack(
    database_url: str,
    mount: Callable[[FastAPI, Container, str], None] | None = None,
    confirm_wait_seconds: float = 10.0,
    **settings: Any,
) -> Iterator[LiveStack]:
    """``mount(app, container, sandbox_url)`` adds routes (the web app) before serving."""
    sandbox_state = SandboxState()
    with BackgroundServer(create_sandbox_app(sandbox_state)) as sandbox_server:
        container = build_container(
            settings_for(database_url, sandbox_server.url, cron_secret=CRON_SECRET, **settings),
            poll_interval=0.2,
            confirm_wait_seconds=confirm_wait_seconds,
            work=FLOW_WORK,
        )
        try:
            container.catalog.load(read_catalog_file(DEMO_CATALOG))
            container.start_workers()
            app = create_app(container.api_services())
            if mount is not None:
                mount(app, container, sandbox_server.url)
            with BackgroundServer(app) as api_server:
                sandbox_state.add_webhook_endpoint(
                    f"{api_server.url}/api/webhooks/stripe", WEBHOOK_SECRET
                )
                yield LiveStack(api_server.url, sandbox_server.url, container, sandbox_state, app)
        finally:
            container.close()
