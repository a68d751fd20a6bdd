"""The product's long-running commands and operator tools (``serve``, ``worker``, ``catalog``,
``replay``), kept apart from the CLI's declarations."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import typer
import uvicorn

from mentorpay.bootstrap import Container, build_container
from mentorpay.settings import Settings
from projections.catalog_file import CatalogError, read_catalog_file


def serve(settings: Settings, host: str, port: int, with_workers: bool) -> None:
    from api.app import create_app

    container = build_container(settings)
    if with_workers:
        container.start_workers()
    try:
        uvicorn.run(create_app(container), host=host, port=port, log_level="info")
    finally:
        container.close()


def worker(settings: Settings) -> None:
    container = build_container(settings)
    container.start_workers()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    typer.echo(f"worker: {len(container.followers)} followers running; Ctrl-C stops")
    stop.wait()
    container.close()


def load_catalog(container: Container, path: Path) -> None:
    try:
        catalog = read_catalog_file(path, known_mentor_ids=container.catalog.mentor_ids())
    except CatalogError as error:
        typer.echo(f"catalogue not loaded: {error}", err=True)
        raise typer.Exit(code=2) from None
    result = container.catalog.load(catalog)
    typer.echo(f"catalogue loaded: {result.mentors} mentors, {result.event_types} event types")


def replay(container: Container, name: str | None) -> None:
    followers = container.projections
    names = [name] if name else list(followers)
    for projection_name in names:
        if projection_name not in followers:
            typer.echo(
                f"unknown projection {projection_name!r}; one of {', '.join(followers)}", err=True
            )
            raise typer.Exit(code=2)

        def progress(done: int, total: int, name: str = projection_name) -> None:
            typer.echo(f"\r{name}: {done}/{total}", nl=False, err=True)

        position = followers[projection_name].replay(progress=progress)
        typer.echo("", err=True)
        typer.echo(f"{projection_name}: rebuilt up to position {position}")
