"""What a fast (unit) test may not do: open a network socket or start a process.

``tests/conftest.py`` marks a test ``integration`` from the fixtures it uses; this guard catches
the test that starts a server, dials one or runs a subprocess by itself without being marked, so
``-m "not integration"`` stays fast and needs nothing outside the process.
"""

from __future__ import annotations

import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

NETWORK_FAMILIES = (socket.AF_INET, socket.AF_INET6)


class LeftTheProcess(AssertionError):
    """A test not marked ``integration`` reached outside the process."""


@contextmanager
def staying_in_process(monkeypatch: pytest.MonkeyPatch, nodeid: str) -> Iterator[None]:
    # Only the test's own thread is watched: a worker left by an earlier integration test (a
    # webhook delivery retrying, say) must not fail the unit test that happens to run next.
    test_thread = threading.get_ident()

    def refuse(what: str) -> LeftTheProcess:
        return LeftTheProcess(
            f"{nodeid} {what}: mark it @pytest.mark.integration, or give it a fixture"
            " that makes it one (see INTEGRATION_FIXTURES in tests/conftest.py)"
        )

    def guard_socket(name: str) -> None:
        original = getattr(socket.socket, name)

        def guarded(self: socket.socket, address: Any) -> Any:
            if self.family in NETWORK_FAMILIES and threading.get_ident() == test_thread:
                raise refuse(f"used a network socket ({name} {address!r})")
            return original(self, address)

        monkeypatch.setattr(socket.socket, name, guarded)

    for name in ("connect", "connect_ex", "bind"):
        guard_socket(name)

    original_popen_init = subprocess.Popen.__init__

    def guarded_popen_init(self: subprocess.Popen[Any], args: Any, *rest: Any, **kw: Any) -> None:
        if threading.get_ident() == test_thread:
            raise refuse(f"started a process ({args!r})")
        original_popen_init(self, args, *rest, **kw)

    monkeypatch.setattr(subprocess.Popen, "__init__", guarded_popen_init)
    yield
