"""``mentorpay ledger ...``: finance's export, verify and reconcile (stub: being built)."""

from __future__ import annotations

import typer

ledger_app = typer.Typer(
    help="Finance: export, verify and reconcile the ledger.", no_args_is_help=True
)
