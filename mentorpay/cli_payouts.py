"""``mentorpay payouts ...`` (stub: being built)."""

from __future__ import annotations

import typer

payouts_app = typer.Typer(help="Mentor payouts through Stripe Connect.", no_args_is_help=True)
