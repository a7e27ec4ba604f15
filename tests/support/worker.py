"""A real Celery worker for tests marked `worker`: a `celery -A portal worker` subprocess on the test database
pytest-django created and on the test's broker, so everything it does is seen through the database and its log,
as in production.

    def test_something(world, start_worker):
        worker = start_worker(pool="prefork")   # waits until the worker says it is ready; stopped after the test

A test that uses `start_worker` runs twice, on Redis and on RabbitMQ (`celery_broker`, tests/support/brokers.py);
`@pytest.mark.parametrize("celery_broker", ["amqp"], indirect=True)` keeps it to one. Each worker runs in a process
group of its own, so `worker.kill_group()` can kill it whole, as the OOM killer or a lost node does.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from .brokers import Broker
from .waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
QUEUE = "celery"
# Generous: a loaded CI machine starts a worker in seconds; a broken one fails here, never hangs.
READY_SECONDS = 60


def worker_database_url() -> str:
    """The URL of the database pytest-django created (test_<name>), for the worker process."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    """A running worker process and its log."""

    def __init__(self, process: subprocess.Popen, log: Path, *, pool: str) -> None:
        self.process = process
        self.log = log
        self.pool = pool

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def count(self, pattern: str) -> int:
        return len(re.findall(pattern, self.text()))

    def task_count(self, task: str, outcome: str) -> int:
        """How often the log says `Task <task>[<id>] <outcome>` (received, succeeded, retry: …)."""
        return self.count(rf"Task {re.escape(task)}\[[^\]]+\] {outcome}")

    def pool_children(self) -> list[int]:
        """The prefork pool's child processes (none for the solo pool)."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []

    def kill_group(self) -> None:
        """SIGKILL the whole process group, main process and pool alike, as the OOM killer or a lost node does."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def group_alive(self) -> list[int]:
        """Processes of the worker's group still running; zombies waiting for whoever inherited them to reap them
        are dead already."""
        running = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rpartition(")")[2].split()
            except OSError:
                continue  # gone while we looked
            if int(fields[2]) == self.process.pid and fields[0] not in ("Z", "X"):
                running.append(int(stat.parent.name))
        return running

    def stop(self) -> None:
        """Stop the worker once the test is over; nothing it started may outlive the test.

        SIGKILL to the group, whatever the pool: nothing is in flight any more, and a warm or cold shutdown on
        RabbitMQ waits 10-15 s for the worker's event loop to wake from its poll."""
        self.kill_group()


def worker_start(
    *, log: Path, broker: Broker, pool: str = "solo", queue: str = QUEUE, settings_module: str = "portal.settings.test"
) -> Worker:
    """Start one worker process with one slot on `queue` of `broker` and wait until it is ready (bounded);
    `settings_module` runs it on other settings (say, with a shorter lease)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "DATABASE_URL": worker_database_url(),
        **broker.worker_env(),
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable, "-m", "celery", "-A", "portal", "worker",
        f"--pool={pool}", "-c", "1", "-Q", queue, "--loglevel=INFO",
        "--without-mingle", "--without-gossip", "--without-heartbeat",
        f"--hostname=pytest-{uuid.uuid4().hex[:8]}@%h",
    ]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    worker = Worker(process, log, pool=pool)
    ready = wait_until(lambda: " ready." in worker.text() or process.poll() is not None, seconds=READY_SECONDS)
    if not ready or process.poll() is not None:
        worker.stop()
        raise RuntimeError(f"the worker did not start:\n{worker.text()[-3000:]}")
    return worker


@pytest.fixture
def start_worker(celery_broker: Broker, tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    """start_worker(pool="solo" | "prefork"): a worker on the test's broker (an emptied Redis queue, or a RabbitMQ
    vhost of the test's own), stopped after the test, its log kept in tests/artifacts/ when that folder exists."""
    started: list[Worker] = []

    def start(*, pool: str = "solo", own_group: bool = True, settings: str = "portal.settings.test") -> Worker:
        # Every worker leads its own process group (`own_group` is accepted for the tests that say so).
        log = tmp_path / f"worker-{len(started)}.log"
        worker = worker_start(log=log, broker=celery_broker, pool=pool, settings_module=settings)
        started.append(worker)
        return worker

    yield start
    artifacts = ROOT / "tests" / "artifacts"
    for worker in started:
        worker.stop()
        if artifacts.is_dir():
            (artifacts / f"{tmp_path.name}-{worker.log.name}").write_text(worker.text())
