"""A real prefork Celery worker runs provisioning against the Kubernetes stub: it retries a 500 with backoff, and
a pool child SIGKILLed in the middle of a step is replaced and the run finishes exactly once.

The worker is a subprocess on the test database pytest-django created and on this suite's Redis; everything it
does is seen through the database and the stub's call log, as in production.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
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

from integrations.kubernetes.stub import KubernetesStub
from provisioning import services
from provisioning.choices import RunStatus, StepStatus
from provisioning.models import ProvisioningRun
from provisioning.tests.helpers import in_progress

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
QUEUE = "celery"
QUOTAS = "/api/v1/namespaces/*/resourcequotas"


def _test_database_url() -> str:
    """The database pytest-django created (test_<name>), for the worker process."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _wait_until(condition: Callable[[], object], *, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return bool(condition())


class Worker:
    """A running `celery worker --pool=prefork -c 1` and its log."""

    def __init__(self, process: subprocess.Popen, log: Path) -> None:
        self.process = process
        self.log = log

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def pool_children(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []


@pytest.fixture
def k8s_stub() -> Iterator[KubernetesStub]:
    with KubernetesStub() as stub:
        yield stub


@pytest.fixture
def worker(world, k8s_stub, connect, tmp_path: Path) -> Iterator[Worker]:
    """The environment connected to the stub (token in this process's environment, inherited by the worker),
    the queue purged, and a worker started; it is always killed afterwards."""
    connect(world, "kubernetes", k8s_stub)
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete(QUEUE, "unacked", "unacked_index")
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": settings.CELERY_BROKER_URL,
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("CELERY_BROKER_URL", None)
    command = [
        str(Path(sys.executable).parent / "celery"), "-A", "portal", "worker",
        "--pool=prefork", "-c", "1", "-Q", QUEUE, "--loglevel=INFO",
        "--without-mingle", "--without-gossip", "--without-heartbeat",
        f"--hostname=prov-{uuid.uuid4().hex[:8]}@%h",
    ]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603
    running = Worker(process, log)
    try:
        ready = _wait_until(lambda: " ready." in running.text() or process.poll() is not None, seconds=30)
        assert ready and process.poll() is None, f"the worker did not start:\n{running.text()[-3000:]}"
        yield running
    finally:
        children = running.pool_children()  # read before the main process goes, /proc forgets them then
        process.kill()  # SIGKILL: nothing may outlive the test
        process.wait(timeout=10)
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        broker.delete(QUEUE, "unacked", "unacked_index")
        broker.close()


def _finished(run: ProvisioningRun) -> bool:
    run.refresh_from_db()
    return run.is_finished


def test_a_500_is_retried_by_the_worker_with_backoff_and_the_run_succeeds(world, worker, k8s_stub):
    k8s_stub.fail(QUOTAS, 500, method="POST")
    run = services.run_start(in_progress(world), actor=world.vendor_engineer)  # committed: queued at once

    assert _wait_until(lambda: _finished(run)), worker.text()[-3000:]

    assert run.status == RunStatus.SUCCEEDED, run.error_message
    assert run.attempts == 2
    assert len(k8s_stub.calls_to("POST", QUOTAS)) == 2
    assert k8s_stub.count("resourcequotas", "mgramseva-uat") == 1
    assert re.search(r"provisioning_run_execute\[[^\]]+\] retry: Retry in", worker.text()), worker.text()[-3000:]


def test_a_pool_child_killed_mid_step_is_replaced_and_the_run_finishes_exactly_once(world, worker, k8s_stub):
    k8s_stub.slow(QUOTAS, 5, method="POST")
    run = services.run_start(in_progress(world), actor=world.vendor_engineer)
    assert _wait_until(lambda: k8s_stub.calls_to("POST", QUOTAS)), worker.text()[-3000:]
    children = worker.pool_children()
    assert len(children) == 1, children

    os.kill(children[0], signal.SIGKILL)  # mid-step: the quota POST is in flight

    assert _wait_until(lambda: _finished(run), seconds=30), worker.text()[-3000:]
    assert run.status == RunStatus.SUCCEEDED, run.error_message
    assert run.attempts == 2  # the killed delivery and the requeued one
    assert set(run.steps.values_list("status", flat=True)) == {StepStatus.SUCCEEDED}
    assert worker.pool_children() and worker.pool_children() != children  # the pool replaced its child
    assert "WorkerLostError" in worker.text()
    assert len(k8s_stub.calls_to("POST", "/api/v1/namespaces")) == 1  # done before the kill: never repeated
    assert len(k8s_stub.calls_to("POST", QUOTAS)) == 2  # the killed call and its one idempotent retry
    assert sum(1 for (p, _, n) in k8s_stub.objects if p == "namespaces" and n == "mgramseva-uat") == 1
    assert k8s_stub.count("resourcequotas", "mgramseva-uat") == 1
    assert ProvisioningRun.objects.filter(service_request=run.service_request).count() == 1
