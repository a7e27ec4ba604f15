"""Real Celery workers for tests, each in its own process group so a test can kill one whole (main process and
pool children at once, as the OOM killer or a lost node does), on the test database pytest-django created and on
this suite's Redis. Waits are conditions with deadlines, never bare sleeps.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
QUEUE = "celery"


def worker_database_url() -> str:
    """The database pytest-django created (test_<name>), for the worker process."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def wait_until(condition: Callable[[], object], *, seconds: float = 30, every: float = 0.1) -> bool:
    """Poll `condition` until it is truthy or `seconds` pass; bounded, so a broken worker fails the test."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return bool(condition())


class Worker:
    """A running `celery worker --pool=prefork -c 1`, leader of its own process group, and its log."""

    def __init__(self, process: subprocess.Popen, log: Path) -> None:
        self.process = process
        self.log = log

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def kill_group(self) -> None:
        """SIGKILL the main process and its pool children together: nothing gets to clean up or requeue."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def alive(self) -> list[int]:
        """Processes of the group still running (the main process, or a pool child it left behind); zombies waiting
        for whoever inherited them to reap them are dead already."""
        running = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rpartition(")")[2].split()
            except OSError:
                continue  # gone while we looked
            state, pgrp = fields[0], int(fields[2])
            if pgrp == self.process.pid and state not in ("Z", "X"):
                running.append(int(stat.parent.name))
        return running


@contextlib.contextmanager
def celery_worker(log: Path, *, env: dict[str, str] | None = None, startup: float = 60) -> Iterator[Worker]:
    """Start a prefork worker (one pool child) in a new session, wait until it is ready, and kill its whole
    process group afterwards whatever happened."""
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "DATABASE_URL": worker_database_url(),
        "REDIS_URL": settings.CELERY_BROKER_URL,
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    environment.pop("CELERY_BROKER_URL", None)  # the test settings take the broker from REDIS_URL
    command = [
        str(Path(sys.executable).parent / "celery"), "-A", "portal", "worker",
        "--pool=prefork", "-c", "1", "-Q", QUEUE, "--loglevel=INFO",
        "--without-mingle", "--without-gossip", "--without-heartbeat",
        f"--hostname=test-{uuid.uuid4().hex[:8]}@%h",
    ]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own celery, fixed arguments
            command, cwd=ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    worker = Worker(process, log)
    try:
        ready = wait_until(lambda: " ready." in worker.text() or process.poll() is not None, seconds=startup)
        assert ready and process.poll() is None, f"the worker did not start:\n{worker.text()[-3000:]}"
        yield worker
    finally:
        worker.kill_group()
