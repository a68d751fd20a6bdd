"""A progress bar on stderr for long CLI runs, shown only when stderr is a terminal (so logs,
pipes and CI output stay clean)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

# ``update(done, total)``: positions reached so far, out of the total.
ProgressUpdate = Callable[[int, int], None]


@contextmanager
def progress_bar(label: str, *, enabled: bool | None = None) -> Iterator[ProgressUpdate]:
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield lambda _done, _total: None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    ) as progress:
        task = progress.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update
