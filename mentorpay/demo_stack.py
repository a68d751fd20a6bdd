"""``mentorpay demo``: the sandbox, the API and its workers in one process on a fresh SQLite
database of its own (``var/demo.db``), the demo catalogue loaded, and the web app (``web/dist``)
where a person can book and pay, see their bookings and cancel, and a mentor sees their
sessions. It writes ``var/demo.env``, the environment the CLI needs to act on it."""

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
# The demo's own database: its sandbox keeps Stripe and Cal.com in memory, so the ledger must
# start empty with it each time (a ledger that outlived its sandbox would disagree with it).
DEMO_DATABASE = Path("var/demo.db")
DEMO_ENV_FILE = Path("var/demo.env")


def fresh_demo_database(path: Path = DEMO_DATABASE) -> str:
    """Remove the last demo's database (and its WAL, lock files); return the new URL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for leftover in path.parent.glob(path.name + "*"):
        leftover.unlink()
    return f"sqlite:///{path}"


def write_demo_env(settings: Settings, path: Path = DEMO_ENV_FILE) -> Path:
    """The environment the CLI needs to act on this demo (and never on the real Stripe)."""
    values = {
        "MENTORPAY_DATABASE_URL": settings.database_url,
        "MENTORPAY_STRIPE_API_BASE": settings.stripe_api_base or "",
        "MENTORPAY_CALCOM_API_BASE": settings.calcom_api_base or "",
        "MENTORPAY_STRIPE_SECRET_KEY": settings.stripe_secret_key.get_secret_value(),
        "MENTORPAY_CALCOM_API_KEY": settings.calcom_api_key.get_secret_value(),
        "MENTORPAY_STRIPE_WEBHOOK_SECRET": settings.stripe_webhook_secret.get_secret_value(),
        "MENTORPAY_JWT_SECRET": settings.jwt_secret.get_secret_value(),
        "MENTORPAY_CRON_SECRET": settings.cron_secret.get_secret_value(),
        "MENTORPAY_PUBLIC_BASE_URL": settings.public_base_url,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# Written by `mentorpay demo`: `set -a; . var/demo.env; set +a` before the CLI."]
    lines += [f"{key}={value}" for key, value in values.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_demo_stack(settings: Settings, host: str, port: int, sandbox_port: int) -> None:
    from api.app import create_app

    sandbox_app = create_sandbox_app()
    with BackgroundServer(sandbox_app, host=host, port=sandbox_port) as sandbox_server:
        settings = settings.model_copy(
            update={
                "stripe_api_base": sandbox_server.url,
                "calcom_api_base": sandbox_server.url,
                "public_base_url": f"http://{host}:{port}",
                "database_url": fresh_demo_database(),
            }
        )
        env_file = write_demo_env(settings)
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
                typer.echo(f"  CLI on it:      set -a; . {env_file}; set +a")
                typer.echo("  Ctrl-C stops")
                try:
                    threading.Event().wait()
                except KeyboardInterrupt:
                    typer.echo("stopping")
        finally:
            container.close()
