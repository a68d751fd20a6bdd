"""Real ``mentorpay worker`` processes on PostgreSQL around an API without workers of its own,
for the kill -9 and chaos tests (helpers, no tests here)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from api.app import create_app
from mentorpay.bootstrap import build_container
from mentorpay.servers import BackgroundServer
from projections.catalog_file import read_catalog_file
from sandbox.app import create_app as create_sandbox_app
from sandbox.state import SandboxState
from tests.support.stack import (
    DEMO_CATALOG,
    FLOW_WORK,
    JWT_SECRET,
    WEBHOOK_SECRET,
    Stack,
    settings_for,
)
from tests.support.waiting import wait_until


@dataclass
class Worker:
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def started(self) -> bool:
        return any(line.startswith("worker:") for line in self.lines)

    def kill(self) -> None:
        """``kill -9``: no clean-up of any kind runs in the worker."""
        os.kill(self.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@dataclass
class Cluster:
    stack: Stack
    env: dict[str, str]
    workers: list[Worker] = field(default_factory=list)

    def start_worker(self) -> Worker:
        process = subprocess.Popen(
            [sys.executable, "-m", "mentorpay.cli", "worker"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        worker = Worker(process)
        threading.Thread(target=_collect, args=(worker,), daemon=True).start()
        self.workers.append(worker)
        # A minute: on a loaded machine a new Python process takes long to import the product.
        wait_until(lambda: worker.started or worker.process.poll() is not None, timeout=60)
        assert worker.process.poll() is None, "\n".join(worker.lines)
        return worker

    def alive(self) -> list[Worker]:
        return [w for w in self.workers if w.process.poll() is None]

    def running_leases(self) -> dict[int, int]:
        """Work rows being run right now, per worker pid."""
        with self.stack.container.store.transaction(readonly=True) as tx:
            rows = tx.execute(
                "SELECT lease_owner FROM work_items WHERE status = 'running'"
            ).fetchall()
        counts: dict[int, int] = {}
        for row in rows:
            pid = int(row["lease_owner"].split(":")[1])
            counts[pid] = counts.get(pid, 0) + 1
        return counts


def _collect(worker: Worker) -> None:
    assert worker.process.stdout is not None
    for line in worker.process.stdout:
        worker.lines.append(line.rstrip("\n"))


@contextmanager
def worker_cluster(postgres_url: str) -> Iterator[Cluster]:
    """The sandbox and the API (no workers in-process) in this process; workers are started
    with ``Cluster.start_worker`` and all ended when the block ends."""
    sandbox_state = SandboxState()
    with BackgroundServer(create_sandbox_app(sandbox_state)) as sandbox_server:
        settings = settings_for(postgres_url, sandbox_server.url)
        container = build_container(settings, poll_interval=0.2, work=FLOW_WORK)
        container.catalog.load(read_catalog_file(DEMO_CATALOG))
        env = {
            **os.environ,
            "MENTORPAY_DATABASE_URL": postgres_url,
            "MENTORPAY_STRIPE_API_BASE": sandbox_server.url,
            "MENTORPAY_CALCOM_API_BASE": sandbox_server.url,
            "MENTORPAY_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "MENTORPAY_JWT_SECRET": JWT_SECRET,
            "MENTORPAY_WORKER_THREADS": "3",
            "MENTORPAY_WORK_LEASE_SECONDS": "2",
            "MENTORPAY_WORK_MAX_ATTEMPTS": "8",
            "MENTORPAY_WORK_RETRY_INITIAL_SECONDS": "0.1",
            "MENTORPAY_WORK_RETRY_MAX_SECONDS": "0.5",
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("MENTORPAY_SMTP_URL", None)
        cluster: Cluster | None = None
        try:
            with BackgroundServer(create_app(container.api_services())) as api_server:
                sandbox_state.add_webhook_endpoint(
                    f"{api_server.url}/api/webhooks/stripe", WEBHOOK_SECRET
                )
                cluster = Cluster(
                    Stack(api_server.url, sandbox_server.url, container, sandbox_state), env
                )
                yield cluster
        finally:
            if cluster is not None:
                for worker in cluster.alive():
                    worker.kill()
            container.close()
