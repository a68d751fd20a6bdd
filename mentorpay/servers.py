"""Run an ASGI app with uvicorn on a background thread (demo, tests, benchmarks)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import uvicorn

# uvicorn looks for a stop request once per tick (0.1 s); the demo, the tests and the benchmarks
# start and stop hundreds of these servers, so ours looks ten times as often.
_STOP_CHECKS_PER_TICK = 10
_STOP_CHECK_SECONDS = 0.1 / _STOP_CHECKS_PER_TICK


class _PromptlyStoppingServer(uvicorn.Server):
    async def main_loop(self) -> None:
        # uvicorn's own loop, with the wait between ticks cut into short checks of should_exit.
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            for _ in range(_STOP_CHECKS_PER_TICK):
                if self.should_exit:
                    break
                await asyncio.sleep(_STOP_CHECK_SECONDS)
            should_exit = await self.on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # uvicorn's shutdown waits a fixed 0.1 s after asking connections to close, then polls
        # them every 0.1 s; the same steps here, each waiting only as long as it must.
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        try:
            await asyncio.wait_for(
                self._until_idle(), timeout=self.config.timeout_graceful_shutdown
            )
        except TimeoutError:
            for task in self.server_state.tasks:
                task.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")
        if not self.force_exit:
            await self.lifespan.shutdown()

    async def _until_idle(self) -> None:
        while (self.server_state.connections or self.server_state.tasks) and not self.force_exit:
            await asyncio.sleep(_STOP_CHECK_SECONDS)
        for server in self.servers:
            await server.wait_closed()


class BackgroundServer:
    """A uvicorn server on its own thread, bound to loopback; port 0 picks a free port."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        # A request still in flight at stop (say one the sandbox delays by 20 s) is given two
        # seconds, not its whole delay.
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=2,
        )
        self._server = _PromptlyStoppingServer(config)
        self._thread = threading.Thread(target=self._server.run, name="uvicorn", daemon=True)
        self.host = host
        self.port = port

    def start(self, timeout: float = 15.0) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("server thread exited before it started")
            if time.monotonic() > deadline:
                raise TimeoutError("server did not start in time")
            time.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self, timeout: float = 15.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
