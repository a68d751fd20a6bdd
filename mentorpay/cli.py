"""The ``mentorpay`` command line (README, "Command line"); lazy imports keep ``--help`` fast."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="mentorpay",
    help="Paid mentor sessions: checkout, booking, refunds and payouts on one event ledger.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def sandbox(
    host: Annotated[
        str, typer.Option(help="Interface to bind; loopback by default.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port for both emulated APIs.")] = 12111,
    webhook_url: Annotated[
        str | None, typer.Option(help="Deliver signed Stripe events to this URL.")
    ] = None,
    webhook_secret: Annotated[
        str | None, typer.Option(help="Signing secret for --webhook-url (whsec_...).")
    ] = None,
) -> None:
    """Serve the offline Stripe (/v1) and Cal.com (/v2) emulators on one port."""
    import uvicorn

    from sandbox.app import create_app

    sandbox_app = create_app()
    if webhook_url:
        sandbox_app.state.sandbox.add_webhook_endpoint(
            webhook_url, webhook_secret or "whsec_sandbox"
        )
    typer.echo(f"sandbox: Stripe at http://{host}:{port}/v1, Cal.com at http://{host}:{port}/v2")
    uvicorn.run(sandbox_app, host=host, port=port, log_level="warning")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="HTTP port.")] = 8000,
    workers: Annotated[
        bool, typer.Option("--workers/--no-workers", help="Run followers in this process too.")
    ] = True,
) -> None:
    """Serve the HTTP API (with the followers and process managers unless --no-workers)."""
    from mentorpay.cli_commands import serve as run_serve
    from mentorpay.settings import get_settings

    run_serve(get_settings(), host, port, workers)


@app.command()
def worker() -> None:
    """Run the followers and process managers only (projections, fulfilment, refunds)."""
    from mentorpay.cli_commands import worker as run_worker
    from mentorpay.settings import get_settings

    run_worker(get_settings())


from mentorpay.cli_attention import attention_app  # noqa: E402 - sub-apps register after the root
from mentorpay.cli_ledger import ledger_app  # noqa: E402
from mentorpay.cli_payouts import payouts_app  # noqa: E402

app.add_typer(ledger_app, name="ledger")
app.add_typer(attention_app, name="attention")
app.add_typer(payouts_app, name="payouts")

catalog_app = typer.Typer(help="The catalogue of mentors and event types.", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")


@catalog_app.command("load")
def catalog_load(
    file: Annotated[Path, typer.Argument(help="Catalogue file, YAML or JSON.")],
) -> None:
    """Validate the whole file, then upsert it (nothing loads if anything is wrong)."""
    from mentorpay.bootstrap import build_container
    from mentorpay.cli_commands import load_catalog
    from mentorpay.settings import get_settings

    container = build_container(get_settings())
    try:
        load_catalog(container, file)
    finally:
        container.close()


@app.command()
def replay(
    projections: Annotated[
        list[str] | None,
        typer.Argument(help="Any of bookings, payments, journal, no_shows; all if omitted."),
    ] = None,
) -> None:
    """Drop and rebuild read models from ledger position 0, all named in one pass."""
    from mentorpay.bootstrap import build_container
    from mentorpay.cli_commands import replay as run_replay
    from mentorpay.settings import get_settings

    container = build_container(get_settings())
    try:
        run_replay(container, projections or [])
    finally:
        container.close()


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the API and demo page.")] = 8000,
    sandbox_port: Annotated[int, typer.Option(help="Port of the sandbox.")] = 12111,
) -> None:
    """Sandbox + API + workers on the embedded default (SQLite under ./var), with a demo page."""
    from mentorpay.demo_stack import run_demo_stack
    from mentorpay.settings import get_settings

    run_demo_stack(get_settings(), host, port, sandbox_port)


@app.command()
def token(
    sub: Annotated[str, typer.Option(help="User or mentor id (the JWT subject).")],
    role: Annotated[str, typer.Option(help="user, mentor, finance or admin.")] = "user",
    ttl_minutes: Annotated[int, typer.Option(help="Lifetime of the token.")] = 60,
) -> None:
    """Print a development JWT signed with MENTORPAY_JWT_SECRET."""
    from mentorpay.auth_tokens import issue_token
    from mentorpay.settings import get_settings

    typer.echo(issue_token(get_settings().jwt_secret.get_secret_value(), sub, role, ttl_minutes))


if __name__ == "__main__":  # pragma: no cover
    app()
