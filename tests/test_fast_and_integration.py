"""Every test is either a fast unit test or ``integration``, without the author having to say so."""

from __future__ import annotations

import re
import socket
import subprocess
import sys

import pytest

from tests.support.in_process import LeftTheProcess


def test_a_test_on_a_store_is_marked_integration(
    request: pytest.FixtureRequest, sqlite_url: str
) -> None:
    assert request.node.get_closest_marker("integration")


def test_a_test_on_nothing_outside_the_process_is_fast(request: pytest.FixtureRequest) -> None:
    assert not request.node.get_closest_marker("integration")


def test_a_fast_test_that_dials_out_fails_and_says_how_to_mark_it() -> None:
    with pytest.raises(LeftTheProcess, match=re.escape("mark it @pytest.mark.integration")):
        socket.create_connection(("127.0.0.1", 9), timeout=1)


def test_a_fast_test_that_starts_a_server_or_a_process_fails() -> None:
    with socket.socket() as server, pytest.raises(LeftTheProcess):
        server.bind(("127.0.0.1", 0))
    with pytest.raises(LeftTheProcess):
        subprocess.run([sys.executable, "-c", "pass"], check=True)


def test_a_fast_test_may_still_use_a_local_socket_pair() -> None:
    left, right = socket.socketpair()  # what an asyncio event loop makes for itself
    with left, right:
        left.sendall(b"x")
        assert right.recv(1) == b"x"
