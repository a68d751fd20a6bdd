"""``mentorpay payouts ...``: run the payouts by hand or from an external scheduler."""

from __future__ import annotations

import signal

import typer

payouts_app = typer.Typer(help="Mentor payouts through Stripe Connect.", no_args_is_help=True)


@payouts_app.callback()
def _payouts() -> None:
    """Mentor payouts through Stripe Connect."""


@payouts_app.command("run")
def run() -> None:
    """Pay out, once, every payment whose hold has passed; print the counts.

    Waits while another run is in progress. Exits 1 if any payout failed (each is listed).
    """
    from mentorpay.bootstrap import build_container
    from mentorpay.settings import get_settings
    from processes.services.payouts import PayoutsStopping

    container = build_container(get_settings())
    # Ctrl-C or SIGTERM: no new payout is begun, those in flight finish, the rest stay due.
    # The caller's handlers come back afterwards (the CLI may run inside another program).
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = [signal.signal(signum, lambda *_: container.stopping.set()) for signum in signals]
    try:
        result = container.payouts.run(
            on_wait=lambda: typer.echo(
                "payouts: waiting for the run in progress (another process); Ctrl-C stops",
                err=True,
            )
        )
    except PayoutsStopping:
        # Stopped while the other run held the lock: nothing was begun, nothing failed.
        typer.echo("payouts: stopped before starting; every due payment is left for the next run")
        return
    finally:
        for signum, handler in zip(signals, previous, strict=True):
            if handler is not None:  # None: not set from Python, nothing to restore
                signal.signal(signum, handler)
        container.close()
    left = f", {result.left} left for the next run (stopped)" if result.left else ""
    typer.echo(
        f"payouts: {result.eligible} eligible, {result.paid_out} paid out, {result.failed} failed"
        + left
    )
    for failure in result.failures:
        typer.echo(f"failed: {failure}", err=True)
    if result.failed:
        raise typer.Exit(code=1)
