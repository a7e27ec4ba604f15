"""A real Celery worker on Redis and on RabbitMQ: work filed in a committed transaction runs, rolled-back work never
leaves.

The worker is a separate process (`celery -A portal worker --pool=solo`) on the test database pytest-django
created, so everything it does is visible only through the database and its log — as in production.
"""

from __future__ import annotations

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
from django.core import mail
from django.db import connection, transaction

from portal.testing.brokers import Broker
from requests_app.choices import EventKind, RequestState
from requests_app.models import Notification, RequestEvent
from requests_app.tasks import request_notify as request_notify_task
from requests_app.testing.workflow import file_request, walk_to

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
QUEUE = "celery"
# Generous: a loaded CI machine starts a worker and runs a task in seconds; a broken one fails here, never hangs.
WAIT_SECONDS = 60


def _test_database_url() -> str:
    """The URL of the database pytest-django created (test_<name>), for the worker process."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _wait_until(condition: Callable[[], object], *, seconds: float = WAIT_SECONDS) -> bool:
    """Poll `condition` until it is truthy or `seconds` pass; bounded so a broken worker fails, not hangs."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return bool(condition())


class Worker:
    """A running worker process and its log."""

    def __init__(self, process: subprocess.Popen, log: Path) -> None:
        self.process = process
        self.log = log

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def count(self, pattern: str) -> int:
        return len(re.findall(pattern, self.text()))

    def succeeded(self) -> int:
        return self.count(r"Task requests_app\.tasks\.request_notify\[[^\]]+\] succeeded")

    def received(self) -> int:
        return self.count(r"Task requests_app\.tasks\.request_notify\[[^\]]+\] received")


@pytest.fixture
def worker(celery_broker: Broker, tmp_path: Path) -> Iterator[Worker]:
    """Start `celery worker` as a subprocess on the test database and `celery_broker`; always stopped afterwards."""
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "DATABASE_URL": _test_database_url(),
        **celery_broker.worker_env(),
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable, "-m", "celery", "-A", "portal", "worker",
        "--pool=solo", "-Q", QUEUE, "-c", "1", "--loglevel=INFO",
        "--without-mingle", "--without-gossip", "--without-heartbeat",
        f"--hostname=pytest-{uuid.uuid4().hex[:8]}@%h",
    ]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    running = Worker(process, log)
    try:
        ready = _wait_until(lambda: " ready." in running.text() or process.poll() is not None)
        assert ready and process.poll() is None, f"the worker did not start:\n{running.text()[-3000:]}"
        yield running
    finally:
        # The test is over and nothing is in flight. (A warm or cold shutdown on RabbitMQ waits 10-15 s for the
        # worker's event loop to wake up from its poll.)
        process.kill()
        process.wait(timeout=15)
        artifacts = ROOT / "tests" / "artifacts"
        if artifacts.is_dir():
            (artifacts / f"worker-{log.parent.name}.log").write_text(running.text())


def _pm_notified(service_request, world) -> bool:
    return Notification.objects.filter(
        event__service_request=service_request,
        event__kind=EventKind.FILED,
        user=world.pm,
        emailed_at__isnull=False,
    ).exists()


def test_a_request_filed_in_a_committed_transaction_is_notified_by_the_worker(world, worker):
    service_request = file_request(world)

    assert _wait_until(lambda: _pm_notified(service_request, world)), worker.text()[-3000:]
    # The task logs its success just after it commits: wait for the line too rather than race it.
    assert _wait_until(lambda: worker.succeeded() == 1), worker.text()[-3000:]


def test_a_request_filed_in_a_rolled_back_transaction_sends_nothing(world, worker, celery_broker):
    with pytest.raises(RuntimeError), transaction.atomic():
        doomed = file_request(world, title="Never happened")
        raise RuntimeError("roll back")

    # delay_on_commit never published: nothing in the queue, nothing for the worker to receive.
    assert celery_broker.depth(QUEUE) == 0
    assert not RequestEvent.objects.filter(service_request_id=doomed.pk).exists()
    # A committed request after it goes through the same FIFO queue; once the worker has handled that one,
    # anything the rolled-back transaction had sent would have been received first.
    sentinel = file_request(world, title="Committed afterwards")
    assert _wait_until(lambda: _pm_notified(sentinel, world)), worker.text()[-3000:]
    assert worker.received() == 1
    assert not Notification.objects.filter(event__service_request_id=doomed.pk).exists()


def test_a_redelivered_notification_is_not_sent_twice_by_the_worker(world, worker):
    service_request = file_request(world)
    assert _wait_until(lambda: _pm_notified(service_request, world)), worker.text()[-3000:]
    event = service_request.events.get(kind=EventKind.FILED)
    first = Notification.objects.get(event=event, user=world.pm)

    # What a redelivery after a lost acknowledgement looks like: the same message, twice more.
    request_notify_task.apply_async(kwargs={"event_id": event.pk})
    request_notify_task.apply_async(kwargs={"event_id": event.pk})

    assert _wait_until(lambda: worker.succeeded() == 3), worker.text()[-3000:]
    again = Notification.objects.get(event=event, user=world.pm)  # .get(): still exactly one row
    assert again.emailed_at == first.emailed_at
    assert re.findall(
        r"Task requests_app\.tasks\.request_notify\[[^\]]+\] succeeded in [0-9.e-]+s: (\d+)", worker.text()
    ) == [
        "1",
        "0",
        "0",
    ]


def test_running_request_notify_twice_sends_one_email_and_one_notification_per_user(world):
    service_request = walk_to(world, RequestState.QUEUED)  # triage tells the requester and vendor A's people
    event = service_request.events.get(kind=EventKind.TRIAGE)
    mail.outbox.clear()

    first = request_notify_task(event_id=event.pk)
    second = request_notify_task(event_id=event.pk)

    recipients = {world.requester.pk, world.vendor_engineer.pk, world.vendor_lead.pk}
    rows = Notification.objects.filter(event=event)
    assert sorted(rows.values_list("user_id", flat=True)) == sorted(recipients)
    assert all(row.emailed_at is not None for row in rows)
    assert (first, second) == (3, 0)
    assert len(mail.outbox) == 1
    assert sorted(mail.outbox[0].to) == sorted(
        [world.requester.email, world.vendor_engineer.email, world.vendor_lead.email]
    )
