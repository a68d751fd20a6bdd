"""``mentorpay demo``: the sandbox, the API and its workers in one process on the embedded
default, the demo catalogue loaded, and the web app (``web/dist``) where a person can book
and pay, see their bookings and cancel, and a mentor sees their sessions."""

from __future__ import annotations

import threading
from pathlib import Path

import typer

from mentorpay.bootstrap import build_container
from mentorpay.servers import BackgroundServer
from mentorpay.settings import Settings
from mentorpay.web_app import mount_web_app
from projections.catalog_file import read_catalog_file
from sandbox.app import create_app as create_sandbox_app

DEMO_CATALOG = Path(__file__).with_name("demo_catalog.yaml")


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
            mount_web_app(app, container, sandbox_server.url)
            with BackgroundServer(app, host=host, port=port) as api_server:
                sandbox_app.state.sandbox.add_webhook_endpoint(
                    f"{api_server.url}/api/webhooks/stripe",
                    settings.stripe_webhook_secret.get_secret_value(),
                )
                typer.echo(f"mentorpay demo on {settings.database_url}")
                typer.echo(f"  book and pay:   {api_server.url}/")
                typer.echo(f"  my bookings:    {api_server.url}/bookings")
                typer.echo(f"  mentor:         {api_server.url}/mentor")
                typer.echo(f"  API docs:       {api_server.url}/docs")
                typer.echo(f"  sandbox:        {sandbox_server.url} (Stripe /v1, Cal.com /v2)")
                typer.echo("  Ctrl-C stops")
                try:
                    threading.Event().wait()
                except KeyboardInterrupt:
                    typer.echo("stopping")
        finally:
            container.close()
