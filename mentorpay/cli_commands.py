"""The product's long-running commands and operator tools (``serve``, ``worker``, ``catalog``,
``replay``), kept apart from the CLI's declarations."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from types import FrameType

import typer
import uvicorn
from uvicorn.config import STARTUP_FAILURE

from mentorpay.bootstrap import Container, build_container
from mentorpay.return_page import mount_return_page
from mentorpay.settings import Settings
from projections.catalog_file import CatalogError, read_catalog_file
from projections.follower import FollowerBusy


class _ServerStoppingRuns(uvicorn.Server):
    """uvicorn's server, whose shutdown signal also sets the process's ``stopping``.

    uvicorn waits for the requests in flight before it returns, and a payout run a cron request
    started may last many minutes: told at once, the run starts no new payout, finishes those in
    flight and answers with the count it left, so the shutdown goes on.
    """

    def __init__(self, config: uvicorn.Config, stopping: threading.Event) -> None:
        super().__init__(config)
        self._stopping = stopping

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._stopping.set()
        super().handle_exit(sig, frame)


def serve(settings: Settings, host: str, port: int, with_workers: bool) -> None:
    from api.app import create_app

    container = build_container(settings)
    if with_workers:
        container.start_workers()
    try:
        app = create_app(container.api_services())
        if not settings.checkout_return_url:
            mount_return_page(app)  # no frontend page configured: Stripe returns here
        # uvicorn's C HTTP parser and event loop: pure-Python h11 on asyncio's loop was a large
        # share of the API's CPU per request (README, "CPU per booking").
        config = uvicorn.Config(
            app, host=host, port=port, log_level="info", http="httptools", loop="uvloop"
        )
        # uvicorn raises the signal again, once it has shut down, to the handler it found: this
        # one, so that the process then closes the container (the payout schedule, the workers)
        # and ends with status 0, as `worker` does, instead of dying of the signal first.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: container.stopping.set())
        server = _ServerStoppingRuns(config, container.stopping)
        server.run()
        if not server.started:  # the port taken, the app failed to start: as uvicorn.run exits
            raise typer.Exit(code=STARTUP_FAILURE)
    finally:
        container.close()


def worker(settings: Settings) -> None:
    container = build_container(settings)
    container.start_workers()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    typer.echo(
        f"worker: {len(container.followers)} followers and {container.work.settings.threads}"
        " work threads running; Ctrl-C stops"
    )
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


def replay(container: Container, names: list[str], *, batch_size: int = 10_000) -> None:
    """Drop and rebuild read models from position 0 in one pass over the log (each batch read
    and decoded once, then one transaction per read model with its tracking position), with a
    progress bar when stderr is a terminal."""
    from mentorpay.progress import progress_bar
    from projections.replay import replay_together

    followers = container.projections
    names = list(dict.fromkeys(names)) or list(followers)
    unknown = [n for n in names if n not in followers]
    if unknown:
        typer.echo(f"unknown projection {unknown[0]!r}; one of {', '.join(followers)}", err=True)
        raise typer.Exit(code=2)
    started = time.perf_counter()
    try:
        with progress_bar(f"replaying {', '.join(names)}") as progress:
            positions = replay_together(
                [followers[n] for n in names], batch_size=batch_size, progress=progress
            )
    except FollowerBusy as busy:
        typer.echo(
            f"replay: {busy}: a running worker keeps it (mentorpay worker, or serve without"
            " --no-workers); stop them, then replay",
            err=True,
        )
        raise typer.Exit(code=1) from None
    elapsed = time.perf_counter() - started
    for name, position in positions.items():
        typer.echo(
            f"{name}: rebuilt up to position {position} in {elapsed:.1f}s"
            f" ({position / elapsed if elapsed else 0:,.0f} positions/s)"
        )
