"""Worker and beat log as the web does: with LOG_FORMAT=json one JSON object per line, each with its request id;
Celery must not replace the root logger's handlers with its own plain-text one.

Real `celery worker` and `celery beat` subprocesses on the test database and the suite's Redis, as in
tests/test_celery_worker.py; every wait is on a condition with a deadline.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from requests_app.choices import Priority, RequestType

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
QUEUE = "celery"
START_SECONDS = 30
TASK_SECONDS = 30
# Celery's own format, "[2026-01-05 09:30:00,123: INFO/MainProcess] ...": what the logs looked like before.
CELERY_PLAIN_LINE = re.compile(r"^\[\d{4}-\d\d-\d\d [\d:,]+: [A-Z]+/", re.MULTILINE)


def _wait_until(condition: Callable[[], object], *, seconds: float) -> bool:
    """Poll `condition` until it is truthy or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return bool(condition())


def _test_database_url() -> str:
    db = connection.settings_dict
    credentials = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _records(text: str) -> list[dict]:
    """The JSON log records among a process's output lines (Celery's start-up banner is printed, not logged)."""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


class CeleryProcess:
    """A running `celery -A portal <command>` and its output (stdout and stderr)."""

    def __init__(self, process: subprocess.Popen, log: Path) -> None:
        self.process = process
        self.log = log

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def records(self) -> list[dict]:
        return _records(self.text())

    def logged(self, message_end: str) -> bool:
        return any(str(record.get("message", "")).endswith(message_end) for record in self.records())


@pytest.fixture
def queue() -> Iterator[None]:
    """The suite's Redis queue, purged before and after, so no test leaves work for another."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete(QUEUE, "unacked", "unacked_index")
    yield
    client.delete(QUEUE, "unacked", "unacked_index")
    client.close()


@pytest.fixture
def start_celery(tmp_path: Path, queue: None) -> Iterator[Callable[..., CeleryProcess]]:
    """start_celery("worker", ...): a Celery process with LOG_FORMAT=json, stopped after the test."""
    started: list[CeleryProcess] = []

    def start(*arguments: str) -> CeleryProcess:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings.test",
            "DATABASE_URL": _test_database_url(),
            "REDIS_URL": settings.CELERY_BROKER_URL,
            "LOG_FORMAT": "json",
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("CELERY_BROKER_URL", None)  # the test settings take the broker from REDIS_URL
        log = tmp_path / f"celery-{len(started)}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "portal", *arguments],
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        started.append(CeleryProcess(process, log))
        return started[-1]

    yield start
    for celery in started:
        celery.process.terminate()
        try:
            celery.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            celery.process.kill()
            celery.process.wait(timeout=5)


def test_the_worker_logs_json_lines_with_the_request_id_of_the_request_that_sent_the_task(world, start_celery):
    worker = start_celery(
        "worker", "--pool=solo", "-c", "1", "-Q", QUEUE, "--loglevel=INFO",
        "--without-mingle", "--without-gossip", "--without-heartbeat", f"--hostname=pytest-{uuid.uuid4().hex[:8]}@%h",
    )  # fmt: skip
    started = _wait_until(lambda: worker.logged(" ready.") or worker.process.poll() is not None, seconds=START_SECONDS)
    assert started and worker.process.poll() is None, f"no JSON 'ready.' line from the worker:\n{worker.text()[-3000:]}"
    request_id = f"req-{uuid.uuid4().hex[:12]}"
    api = APIClient()
    api.force_authenticate(world.requester)
    body = {
        "title": "Namespace for UAT",
        "description": "4 CPUs please.",
        "request_type": RequestType.INFRA_PROVISION,
        "priority": Priority.P2,
        "environment": world.environment.code,
        "stack": world.stack.code,
    }

    response = api.post("/api/v1/requests/", body, format="json", HTTP_X_REQUEST_ID=request_id)

    assert response.status_code == 201, response.content
    assert response["X-Request-ID"] == request_id

    def task_done() -> list[dict]:
        return [
            record
            for record in worker.records()
            if record.get("request_id") == request_id and " succeeded in " in str(record.get("message"))
        ]

    assert _wait_until(task_done, seconds=TASK_SECONDS), worker.text()[-3000:]
    done = task_done()[0]
    assert done["logger"] == "celery.app.trace"
    assert {"time", "level", "logger", "request_id", "message"} <= set(done)
    assert not CELERY_PLAIN_LINE.search(worker.text()), worker.text()[-3000:]


def test_beat_logs_json_lines(start_celery, tmp_path):
    beat = start_celery("beat", "--loglevel=INFO", "--schedule", str(tmp_path / "celerybeat-schedule"))

    started = _wait_until(lambda: beat.logged("beat: Starting...") or beat.process.poll() is not None, seconds=30)

    assert started and beat.process.poll() is None, f"no JSON 'beat: Starting...' line:\n{beat.text()[-3000:]}"
    record = next(r for r in beat.records() if r["message"] == "beat: Starting...")
    assert (record["logger"], record["level"], record["request_id"]) == ("celery.beat", "INFO", "-")
    assert not CELERY_PLAIN_LINE.search(beat.text()), beat.text()[-3000:]
