"""PostgreSQL LISTEN on a dedicated connection, on its own thread, calling back on each NOTIFY.

Only a hint to wake up: followers also poll, so a NOTIFY lost while reconnecting costs at most
one poll interval. Stopping is prompt: ``stop()`` NOTIFYs a channel private to this listener.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from psycopg import sql

logger = logging.getLogger(__name__)

# ``on_notify(channel, payload)``; called with ("", "") after each (re)connect, because
# anything sent while we were not listening is lost.
NotifyCallback = Callable[[str, str], None]


class NotificationListener:
    def __init__(
        self,
        connect: Callable[[], psycopg.Connection[Any]],
        channels: Sequence[str],
        on_notify: NotifyCallback,
        *,
        reconnect_delay: float = 1.0,
        idle_timeout: float = 60.0,
    ) -> None:
        self._connect = connect
        self._channels = list(channels)
        self._on_notify = on_notify
        self._reconnect_delay = reconnect_delay
        self._idle_timeout = idle_timeout
        self._stop_channel = f"mentorpay_listener_stop_{uuid.uuid4().hex}"
        self._stopping = threading.Event()
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-listener", daemon=True)

    @property
    def listening(self) -> bool:
        return self._listening.is_set()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._listening.is_set():
            with contextlib.suppress(psycopg.Error), self._connect() as connection:
                connection.execute(sql.SQL("NOTIFY {}").format(sql.Identifier(self._stop_channel)))
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._listen()
            except psycopg.Error as error:
                logger.warning("LISTEN connection failed (%s); reconnecting", error)
            except Exception:
                logger.exception("listener failed; restarting it")
            finally:
                self._listening.clear()
            self._stopping.wait(self._reconnect_delay)

    def _listen(self) -> None:
        with self._connect() as connection:
            for channel in [*self._channels, self._stop_channel]:
                connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
            self._listening.set()
            self._on_notify("", "")
            while not self._stopping.is_set():
                # The timeout only bounds how long a dead connection can go unnoticed.
                for notify in connection.notifies(timeout=self._idle_timeout):
                    if self._stopping.is_set():
                        return
                    if notify.channel != self._stop_channel:
                        self._on_notify(notify.channel, notify.payload)
