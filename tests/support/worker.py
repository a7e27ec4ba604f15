"""A real Celery worker for tests marked `worker`: a `celery -A portal worker` subprocess on the test database
pytest-django created and on the suite's Redis, so everything it does is seen through the database and its log,
as in production.

    def test_something(world, start_worker):
        worker = start_worker(pool="prefork")   # waits until the worker says it is ready; stopped after the test

`start_worker(pool="prefork", own_group=True)` makes the worker the leader of its own process group, so
`worker.kill_group()` can SIGKILL it whole (main process and pool children at once, as the OOM killer or a lost
node does); `settings=` runs it on another settings module (say, with a shorter lease).
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
import redis
from django.conf import settings
from django.db import connection

from .waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
QUEUE = "celery"
READY_SECONDS = 30


def worker_database_url() -> str:
    """The URL of the database pytest-django created (test_<name>), for the worker process."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    """A running worker process and its log."""

    def __init__(self, process: subprocess.Popen, log: Path, *, pool: str, own_group: bool = False) -> None:
        self.process = process
        self.log = log
        self.pool = pool
        self.own_group = own_group

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
        """SIGKILL the whole process group at once (`own_group` workers): nothing gets to clean up or requeue."""
        assert self.own_group, "start the worker with own_group=True to kill it whole"
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def group_alive(self) -> list[int]:
        """Processes of an `own_group` worker's group still running; zombies waiting for whoever inherited them to
        reap them are dead already."""
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
        """Stop the worker; nothing it started may outlive the test."""
        if self.own_group:
            self.kill_group()
            return
        if self.pool == "solo":
            # A warm shutdown, SIGKILL if it does not finish in time.
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
            return
        # Prefork: SIGKILL the main process, then its pool children, read before it goes (/proc forgets them then;
        # killed this way they are orphans, still alive, so their ids are still theirs).
        children = self.pool_children()
        self.process.kill()
        self.process.wait(timeout=10)
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)


def worker_start(
    *,
    log: Path,
    pool: str = "solo",
    queue: str = QUEUE,
    own_group: bool = False,
    settings_module: str = "portal.settings.test",
) -> Worker:
    """Start one worker process with one slot on `queue` and wait until it is ready (bounded)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "DATABASE_URL": worker_database_url(),
        "REDIS_URL": settings.CELERY_BROKER_URL,
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("CELERY_BROKER_URL", None)  # the test settings take the broker from REDIS_URL
    command = [
        sys.executable, "-m", "celery", "-A", "portal", "worker",
        f"--pool={pool}", "-c", "1", "-Q", queue, "--loglevel=INFO",
        "--without-mingle", "--without-gossip", "--without-heartbeat",
        f"--hostname=pytest-{uuid.uuid4().hex[:8]}@%h",
    ]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=own_group
        )
    worker = Worker(process, log, pool=pool, own_group=own_group)
    ready = wait_until(lambda: " ready." in worker.text() or process.poll() is not None, seconds=READY_SECONDS)
    if not ready or process.poll() is not None:
        worker.stop()
        raise RuntimeError(f"the worker did not start:\n{worker.text()[-3000:]}")
    return worker


@pytest.fixture
def broker() -> Iterator[redis.Redis]:
    """The Redis the tests and the worker share, with the queue purged before and after the test."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete(QUEUE, "unacked", "unacked_index")
    yield client
    client.delete(QUEUE, "unacked", "unacked_index")
    client.close()


@pytest.fixture
def start_worker(broker: redis.Redis, tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    """start_worker(pool="solo" | "prefork", own_group=False, settings=...): a worker on a purged queue, stopped
    after the test, its log kept in tests/artifacts/ when that folder exists (as in CI)."""
    started: list[Worker] = []

    def start(*, pool: str = "solo", own_group: bool = False, settings: str = "portal.settings.test") -> Worker:
        log = tmp_path / f"worker-{len(started)}.log"
        worker = worker_start(log=log, pool=pool, own_group=own_group, settings_module=settings)
        started.append(worker)
        return worker

    yield start
    artifacts = ROOT / "tests" / "artifacts"
    for worker in started:
        worker.stop()
        if artifacts.is_dir():
            (artifacts / f"{tmp_path.name}-{worker.log.name}").write_text(worker.text())
