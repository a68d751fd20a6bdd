"""The ``mentorpay`` command line (DESIGN.md §9). Imports are lazy so ``--help`` stays fast."""

from __future__ import annotations

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
def demo() -> None:
    """Run the product on the embedded default (SQLite under ./var) and show what it records."""
    from mentorpay.demo import run_demo

    run_demo()


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
