"""``mentorpay ledger ...``: finance's export, verify and reconcile.

Thin: each command builds the container from the environment, calls one function of
``projections.event_log``, ``processes.finance.audit`` or ``processes.finance.reconcile``,
prints the outcome, closes the container, and exits 1 when something is wrong.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from mentorpay.bootstrap import Container, build_container
from mentorpay.settings import get_settings

ledger_app = typer.Typer(
    help="Finance: export, verify and reconcile the ledger.", no_args_is_help=True
)
_PROGRESS_EVERY = 1000


class ExportFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"


@contextmanager
def _container() -> Iterator[Container]:
    container = build_container(get_settings())
    try:
        yield container
    finally:
        container.close()


@ledger_app.command()
def export(
    format: Annotated[
        ExportFormat, typer.Option("--format", help="jsonl: one event per line; csv.")
    ] = ExportFormat.jsonl,
    after: Annotated[int, typer.Option(min=0, help="Start after this log position.")] = 0,
    out: Annotated[
        Path | None, typer.Option(help="Write to this file instead of standard output.")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Events read per query.")] = 1000,
) -> None:
    """Stream every event (position, time, aggregate, type, data) in log order."""
    from mentorpay.progress import progress_bar
    from projections.event_log import EventRecord, head_position, iter_events, write_events

    with _container() as c:
        head = head_position(c.ledger)
        with progress_bar("exporting") as progress:

            def records() -> Iterator[EventRecord]:
                for count, record in enumerate(
                    iter_events(c.ledger, after=after, stop=head, batch_size=batch_size), 1
                ):
                    if count % _PROGRESS_EVERY == 0:
                        progress(record["position"], head)
                    yield record
                progress(head, head)

            if out is None:
                written = write_events(records(), sys.stdout, format.value)
            else:
                with out.open("w", encoding="utf-8", newline="") as file:
                    written = write_events(records(), file, format.value)
    typer.echo(f"exported {written} events up to position {head}", err=True)


@ledger_app.command()
def verify() -> None:
    """Rebuild the read models and the journal from the events in memory, compare them with
    the stored tables, and check the ledger's invariants. Exit 1 on any difference."""
    from mentorpay.bootstrap import read_models
    from processes.finance.audit import verify as run_verify

    with _container() as c:
        projections = read_models()  # fresh instances: verify writes them to memory
        report = run_verify(c.ledger, c.store, projections)
    for finding in report.findings:
        typer.echo(str(finding))
    names = ", ".join(p.name for p in projections)
    typer.echo(
        f"checked {report.events} events up to position {report.position} and read models"
        f" {names}: {len(report.findings)} problem(s)",
        err=True,
    )
    if not report.ok:
        raise typer.Exit(code=1)


@ledger_app.command()
def reconcile() -> None:
    """Compare the ledger's payments, refunds and transfers with Stripe's lists. Exit 1 if
    anything is on one side only or has a different amount."""
    from processes.finance.reconcile import reconcile as run_reconcile
    from processes.gateways.stripe_errors import StripeGatewayError

    with _container() as c:
        try:
            report = run_reconcile(c.ledger, c.stripe)
        except StripeGatewayError as error:
            typer.echo(f"could not list Stripe's objects: {error}", err=True)
            raise typer.Exit(code=2) from None
    for discrepancy in report.discrepancies:
        typer.echo(str(discrepancy))
    counts = ", ".join(
        f"{kind} {report.ledger_counts[kind]}/{report.stripe_counts[kind]}"
        for kind in report.ledger_counts
    )
    typer.echo(f"ledger/Stripe: {counts}; {len(report.discrepancies)} discrepancy(ies)", err=True)
    if not report.ok:
        raise typer.Exit(code=1)


def _register_statement() -> None:
    from mentorpay.cli_statement import statement

    ledger_app.command("statement")(statement)


_register_statement()
