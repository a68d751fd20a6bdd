"""Run the ``mentorpay`` CLI in-process, configured by the environment like a real run."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner, Result

from mentorpay.cli import app as cli_app
from mentorpay.settings import get_settings


def run_cli(monkeypatch: pytest.MonkeyPatch, database_url: str, *args: str, **env: str) -> Result:
    """``mentorpay ARGS`` in-process, configured by the environment like a real run."""
    monkeypatch.setenv("MENTORPAY_DATABASE_URL", database_url)
    for name, value in env.items():
        monkeypatch.setenv(f"MENTORPAY_{name.upper()}", value)
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli_app, list(args))
    finally:
        get_settings.cache_clear()
