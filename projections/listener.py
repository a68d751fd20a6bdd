"""PostgreSQL LISTEN, calling back on each NOTIFY; one connection per process, not one each.

Every ``NotificationListener`` built with the same ``connect`` (a store's
``dedicated_connection``) subscribes to one shared hub: one dedicated connection on one thread
LISTENs to the union of their channels and hands each NOTIFY to the listeners that asked for
its channel. Only a hint to wake up: followers also poll, so a NOTIFY lost while reconnecting
costs at most one poll interval. Stopping is prompt: the hub is woken by a NOTIFY on a channel
private to it.
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
Connect = Callable[[], psycopg.Connection[Any]]


class _Hub:
    """One LISTEN connection and thread serving every subscribed listener of a process."""

    def __init__(self, connect: Connect, reconnect_delay: float, idle_timeout: float) -> None:
        self._connect = connect
        self._reconnect_delay = reconnect_delay
        self._idle_timeout = idle_timeout
        self._wake_channel = f"mentorpay_listener_wake_{uuid.uuid4().hex}"
        self._lock = threading.Lock()
        self._subscribers: dict[NotificationListener, frozenset[str]] = {}
        self._stopping = threading.Event()
        self._listening = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def listening(self) -> bool:
        return self._listening.is_set()

    def subscribe(self, listener: NotificationListener) -> None:
        with self._lock:
            self._subscribers[listener] = frozenset(listener.channels)
            if self._thread is None:
                self._stopping.clear()
                self._thread = threading.Thread(target=self._run, name="pg-listener", daemon=True)
                self._thread.start()
                return
        if self._listening.is_set():
            # New channels are LISTENed by the hub's own thread (it owns the connection).
            listener.on_notify("", "")
            self._wake()

    def unsubscribe(self, listener: NotificationListener, timeout: float) -> bool:
        """Drop ``listener``; True when it was the last one (the hub then stops)."""
        with self._lock:
            self._subscribers.pop(listener, None)
            if self._subscribers or self._thread is None:
                return False
            thread, self._thread = self._thread, None
            self._stopping.set()
        self._wake()
        thread.join(timeout)
        return True

    def _wake(self) -> None:
        if not self._listening.is_set():
            return
        with contextlib.suppress(psycopg.Error), self._connect() as connection:
            connection.execute(sql.SQL("NOTIFY {}").format(sql.Identifier(self._wake_channel)))

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
            listened: set[str] = set()
            self._listen_to({self._wake_channel}, connection, listened)
            announced = False
            while not self._stopping.is_set():
                with self._lock:
                    subscribers = dict(self._subscribers)
                wanted = set().union(*subscribers.values()) if subscribers else set()
                self._listen_to(wanted, connection, listened)
                if not announced:
                    self._listening.set()
                    announced = True
                    for listener in subscribers:
                        listener.on_notify("", "")
                # The timeout only bounds how long a dead connection can go unnoticed.
                for notify in connection.notifies(timeout=self._idle_timeout):
                    if self._stopping.is_set():
                        return
                    if notify.channel == self._wake_channel:
                        break  # subscribers changed: LISTEN to any new channel
                    with self._lock:
                        targets = [
                            each
                            for each, channels in self._subscribers.items()
                            if notify.channel in channels
                        ]
                    for listener in targets:
                        listener.on_notify(notify.channel, notify.payload)

    @staticmethod
    def _listen_to(
        channels: set[str], connection: psycopg.Connection[Any], listened: set[str]
    ) -> None:
        for channel in sorted(channels - listened):
            connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
            listened.add(channel)


_HUBS: dict[Connect, _Hub] = {}
_HUBS_LOCK = threading.Lock()


class NotificationListener:
    def __init__(
        self,
        connect: Connect,
        channels: Sequence[str],
        on_notify: NotifyCallback,
        *,
        reconnect_delay: float = 1.0,
        idle_timeout: float = 60.0,
    ) -> None:
        self._connect = connect
        self.channels = list(channels)
        self.on_notify = on_notify
        self._reconnect_delay = reconnect_delay
        self._idle_timeout = idle_timeout
        self._hub: _Hub | None = None

    @property
    def listening(self) -> bool:
        return self._hub is not None and self._hub.listening

    def start(self) -> None:
        with _HUBS_LOCK:
            # Bound methods of one store compare equal: its followers share one hub.
            hub = _HUBS.get(self._connect)
            if hub is None:
                hub = _HUBS[self._connect] = _Hub(
                    self._connect, self._reconnect_delay, self._idle_timeout
                )
            self._hub = hub
            hub.subscribe(self)

    def stop(self, timeout: float = 5.0) -> None:
        hub, self._hub = self._hub, None
        if hub is None:
            return
        with _HUBS_LOCK:
            if hub.unsubscribe(self, timeout) and _HUBS.get(self._connect) is hub:
                del _HUBS[self._connect]
