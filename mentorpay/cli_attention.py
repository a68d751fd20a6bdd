"""``mentorpay attention ...``: the operations' attention queue on the command line.

The same items and actions as ``/api/ops/attention`` (see ``processes.services.attention``);
each retry and resolution is recorded in the ledger with ``--by`` (default ``cli:$USER``) and
``--reason``.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from mentorpay.bootstrap import Container, build_container
from mentorpay.settings import get_settings
from processes.services.attention import KINDS, AttentionItem
from processes.services.errors import ServiceError

attention_app = typer.Typer(
    help="Operations: parked work, halted read models, failed payouts and missing refunds.",
    no_args_is_help=True,
)
ItemId = Annotated[str, typer.Argument(help="The item's id, as `attention list` shows it.")]
Reason = Annotated[str, typer.Option(help="Why: recorded in the ledger.")]
By = Annotated[str | None, typer.Option(help="Who acts (default cli:$USER).")]


@contextmanager
def _container() -> Iterator[Container]:
    container = build_container(get_settings())
    try:
        yield container
    finally:
        container.close()


def _as_dict(item: AttentionItem) -> dict[str, Any]:
    return item.as_dict()


def _by(by: str | None) -> str:
    return by or f"cli:{getpass.getuser()}"


def _fail(error: ServiceError) -> typer.Exit:
    typer.echo(f"{error.title}: {error}", err=True)
    return typer.Exit(code=1)


@attention_app.command("list")
def list_items(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    kind: Annotated[
        str | None, typer.Option(help=f"Only this kind's items: {', '.join(KINDS)}.")
    ] = None,
    offset: Annotated[int, typer.Option(min=0, help="Items of each kind to skip.")] = 0,
) -> None:
    """The open items, at most 500 of each kind, oldest first, after --offset of each (an item
    is also shown, retried or resolved by its id; the last line names the kinds that have more:
    ask again with --kind and a larger --offset); exit 0 even when there are some (a list, not
    a check)."""
    if kind is not None and kind not in KINDS:
        typer.echo(f"--kind must be one of {', '.join(KINDS)}", err=True)
        raise typer.Exit(code=2)
    with _container() as c:
        listing = c.attention.listing(kind=kind, offset=offset)
    items = listing.items
    for item in items:
        if as_json:
            typer.echo(json.dumps(_as_dict(item)))
        else:
            attempts = f" attempts={item.attempts}" if item.attempts is not None else ""
            typer.echo(f"{item.id}  {item.kind}  {item.subject}{attempts}  {item.detail}")
    more = (
        f"; more of {', '.join(listing.truncated)} past the {listing.limit} shown of each"
        f" (next: --offset {listing.offset + listing.limit})"
        if listing.truncated
        else ""
    )
    typer.echo(f"{len(items)} item(s) need attention{more}", err=True)


@attention_app.command()
def show(item_id: ItemId) -> None:
    """One item with everything known about it and what was done so far (JSON)."""
    with _container() as c:
        try:
            item = c.attention.get(item_id)
        except ServiceError as error:
            raise _fail(error) from None
    typer.echo(json.dumps(_as_dict(item), indent=2))


@attention_app.command()
def retry(item_id: ItemId, reason: Reason, by: By = None) -> None:
    """Try again once the cause is fixed (parked work, a halt, a payout, a refund)."""
    with _container() as c:
        try:
            item = c.attention.retry(item_id, by=_by(by), reason=reason)
        except ServiceError as error:
            raise _fail(error) from None
    typer.echo(f"retry of {item.id} recorded and started")


@attention_app.command()
def resolve(item_id: ItemId, reason: Reason, by: By = None) -> None:
    """Close an item without another try (e.g. settled by hand)."""
    with _container() as c:
        try:
            item = c.attention.resolve(item_id, by=_by(by), reason=reason)
        except ServiceError as error:
            raise _fail(error) from None
    typer.echo(f"{item.id} resolved")
