"""Start-up waits for the database, within a deadline, instead of exiting at once."""

from __future__ import annotations

import selectors
import socket
import threading
import time

import pytest

from mentorpay.persistence import wait_for_database

# Starts real processes and servers on loopback.
pytestmark = pytest.mark.integration


def test_an_unreachable_database_is_waited_for_until_the_deadline() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once closed
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=r"within 1\.5 s"):
        wait_for_database(f"postgresql://postgres@127.0.0.1:{port}/test", 1.5)
    assert time.monotonic() - started >= 1.5


@pytest.mark.postgres
def test_a_database_that_comes_up_late_is_waited_for(postgres_url: str) -> None:
    # A port that refuses connections at first, then forwards to the real server.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    url = postgres_url.replace("127.0.0.1:5432", f"127.0.0.1:{port}")

    def come_up_later() -> None:
        time.sleep(1.0)  # the database's own start-up time, not synchronisation
        server = socket.create_server(("127.0.0.1", port))
        with server:
            client, _ = server.accept()
            with client, socket.create_connection(("127.0.0.1", 5432)) as upstream:
                _pipe(client, upstream)

    thread = threading.Thread(target=come_up_later, daemon=True)
    thread.start()
    wait_for_database(url, 20)  # returns once it answers
    thread.join(10)


def _pipe(a: socket.socket, b: socket.socket) -> None:

    selector = selectors.DefaultSelector()
    selector.register(a, selectors.EVENT_READ, b)
    selector.register(b, selectors.EVENT_READ, a)
    while True:
        for key, _ in selector.select(timeout=5):
            data = key.fileobj.recv(65536)  # type: ignore[union-attr]
            if not data:
                return
            key.data.sendall(data)
