"""The product as operations run it, for benchmarks: the sandbox, ``mentorpay serve
--no-workers`` and ``mentorpay worker`` processes, each in a process of its own, so the
operating system's accounting tells each one's CPU time and memory apart."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (all its threads), from /proc."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # Fields after the command name, which is in parentheses and may hold spaces.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def rss_bytes(pid: int) -> int:
    """Resident set size now, from /proc."""
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE


def _wait_http(url: str, process: subprocess.Popen[bytes], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, timeout=1).raise_for_status()
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit(f"{what} did not start") from None
            time.sleep(0.1)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _mentorpay(args: list[str], env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "mentorpay.cli", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
        )


@contextmanager
def sandbox_process() -> Iterator[tuple[str, int]]:
    """``mentorpay sandbox`` in a process of its own (its CPU is not the API's): URL and pid."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mentorpay.cli", "sandbox", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{url}/_sandbox/faults", process, "the sandbox", 90)
        yield url, process.pid
    finally:
        _stop(process)


@dataclass(frozen=True)
class Product:
    api_url: str
    api_pid: int
    worker_pids: list[int]
    logs: Path

    def pids(self) -> dict[str, int]:
        named = {"api": self.api_pid}
        for number, pid in enumerate(self.worker_pids, start=1):
            named[f"worker{number}" if len(self.worker_pids) > 1 else "worker"] = pid
        return named

    def cpu(self) -> dict[str, float]:
        return {name: cpu_seconds(pid) for name, pid in self.pids().items()}


def product_env(database_url: str, sandbox_url: str, **settings: str) -> dict[str, str]:
    """The environment of every product process: its settings, as operations give them."""
    env = {
        "MENTORPAY_DATABASE_URL": database_url,
        "MENTORPAY_STRIPE_API_BASE": sandbox_url,
        "MENTORPAY_CALCOM_API_BASE": sandbox_url,
    }
    env.update({f"MENTORPAY_{name.upper()}": value for name, value in settings.items()})
    return env


def settings_of(env: Mapping[str, str]) -> dict[str, str]:
    """``product_env``'s variables as ``Settings`` keyword arguments (for a bench's own reads)."""
    return {name.removeprefix("MENTORPAY_").lower(): value for name, value in env.items()}


@contextmanager
def product_processes(env: Mapping[str, str], *, workers: int = 1) -> Iterator[Product]:
    """``serve --no-workers`` and ``workers`` ``worker`` processes; their output goes to log
    files in a temporary folder (named in ``Product.logs``), kept while they run."""
    port = free_port()
    with ExitStack() as stack:
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mentorpay-bench-")))
        env = {**env, "MENTORPAY_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
        worker_processes = []
        for number in range(workers):
            process = _mentorpay(["worker"], env, logs / f"worker{number + 1}.log")
            stack.callback(_stop, process)
            worker_processes.append(process)
        api = _mentorpay(["serve", "--no-workers", "--port", str(port)], env, logs / "api.log")
        stack.callback(_stop, api)
        url = f"http://127.0.0.1:{port}"
        _wait_http(f"{url}/healthz", api, "the API", 90)
        for number, process in enumerate(worker_processes, start=1):
            _wait_for_line(logs / f"worker{number}.log", "worker:", process)
        yield Product(url, api.pid, [p.pid for p in worker_processes], logs)


def _wait_for_line(log: Path, text: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while text not in log.read_text(errors="replace"):
        if time.monotonic() > deadline or process.poll() is not None:
            raise SystemExit(f"a worker did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.1)
