"""``mentorpay demo``: the sandbox, the API and its workers in one process on the embedded
default, the demo catalogue loaded, and a page where a person can book and pay."""

from __future__ import annotations

import threading
from importlib import resources
from pathlib import Path

import typer
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from mentorpay.auth_tokens import issue_token
from mentorpay.bootstrap import Container, build_container
from mentorpay.servers import BackgroundServer
from mentorpay.settings import Settings
from projections.catalog_file import read_catalog_file
from sandbox.app import create_app as create_sandbox_app

DEMO_USER = "demo-user"
DEMO_CATALOG = Path(__file__).with_name("demo_catalog.yaml")


def mount_demo_page(app: FastAPI, container: Container, sandbox_url: str) -> None:
    page = resources.files("mentorpay").joinpath("demo_page.html").read_text(encoding="utf-8")
    token = issue_token(
        container.settings.jwt_secret.get_secret_value(), DEMO_USER, "user", ttl_minutes=24 * 60
    )

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    @app.get("/return", response_class=HTMLResponse, include_in_schema=False)
    def demo_page() -> str:
        return page

    @app.get("/demo/config", include_in_schema=False)
    def demo_config() -> dict[str, object]:
        return {
            "token": token,
            "sandbox": sandbox_url,
            "eventTypes": [
                {
                    "id": e.id,
                    "title": e.title,
                    "amount": e.price.amount,
                    "currency": e.price.currency,
                }
                for e in container.catalog.event_types()
            ],
        }


def run_demo_stack(settings: Settings, host: str, port: int, sandbox_port: int) -> None:
    from api.app import create_app

    sandbox_app = create_sandbox_app()
    with BackgroundServer(sandbox_app, host=host, port=sandbox_port) as sandbox_server:
        settings = settings.model_copy(
            update={
                "stripe_api_base": sandbox_server.url,
                "calcom_api_base": sandbox_server.url,
                "public_base_url": f"http://{host}:{port}",
            }
        )
        container = build_container(settings)
        try:
            container.catalog.load(read_catalog_file(DEMO_CATALOG))
            container.start_workers()
            app = create_app(container.api_services())
            mount_demo_page(app, container, sandbox_server.url)
            with BackgroundServer(app, host=host, port=port) as api_server:
                sandbox_app.state.sandbox.add_webhook_endpoint(
                    f"{api_server.url}/api/webhooks/stripe",
                    settings.stripe_webhook_secret.get_secret_value(),
                )
                typer.echo(f"mentorpay demo on {settings.database_url}")
                typer.echo(f"  book and pay:   {api_server.url}/")
                typer.echo(f"  API docs:       {api_server.url}/docs")
                typer.echo(f"  sandbox:        {sandbox_server.url} (Stripe /v1, Cal.com /v2)")
                typer.echo("  Ctrl-C stops")
                try:
                    threading.Event().wait()
                except KeyboardInterrupt:
                    typer.echo("stopping")
        finally:
            container.close()
