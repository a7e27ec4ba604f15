"""A real prefork Celery worker runs provisioning against the Kubernetes stub, on Redis and on RabbitMQ: it retries
a 500 with backoff; a pool child SIGKILLed in the middle of a step is replaced and the run finishes exactly once;
and on RabbitMQ a worker killed whole (its process group: main process and pool, as an OOM kill or a lost node
does) hands its task to the next worker at once, which finishes the run exactly once.

The worker is a subprocess on the test database pytest-django created and on the test's broker; everything it
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
from django.db import connection

from integrations.kubernetes.stub import KubernetesStub
from portal.testing.brokers import Broker
from provisioning import services
from provisioning.choices import RunStatus, StepStatus
from provisioning.models import ProvisioningRun
from provisioning.tests.helpers import in_progress

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
QUEUE = "celery"
QUOTAS = "/api/v1/namespaces/*/resourcequotas"
# Generous: a loaded CI machine starts a worker and runs a run in seconds; a broken one fails here, never hangs.
WAIT_SECONDS = 60


def _test_database_url() -> str:
    """The database pytest-django created (test_<name>), for the worker process."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _wait_until(condition: Callable[[], object], *, seconds: float = WAIT_SECONDS) -> bool:
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

    def kill_group(self) -> None:
        """SIGKILL the whole process group, main process and pool alike, as the OOM killer or a lost node does."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@pytest.fixture
def k8s_stub() -> Iterator[KubernetesStub]:
    with KubernetesStub() as stub:
        yield stub


@pytest.fixture
def start_worker(world, k8s_stub, connect, celery_broker: Broker, tmp_path: Path) -> Iterator[Callable[[], Worker]]:
    """start_worker() starts a worker, each in a process group of its own, with the environment connected to the
    stub (token in this process's environment, inherited by the worker); every one is killed afterwards."""
    connect(world, "kubernetes", k8s_stub)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "DATABASE_URL": _test_database_url(),
        **celery_broker.worker_env(),
        "PYTHONUNBUFFERED": "1",
    }
    started: list[Worker] = []

    def start() -> Worker:
        log = tmp_path / f"worker-{len(started)}.log"
        command = [
            str(Path(sys.executable).parent / "celery"), "-A", "portal", "worker",
            "--pool=prefork", "-c", "1", "-Q", QUEUE, "--loglevel=INFO",
            "--without-mingle", "--without-gossip", "--without-heartbeat",
            f"--hostname=prov-{uuid.uuid4().hex[:8]}@%h",
        ]  # fmt: skip
        with log.open("wb") as output:
            process = subprocess.Popen(  # noqa: S603
                command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
        running = Worker(process, log)
        started.append(running)
        ready = _wait_until(lambda: " ready." in running.text() or process.poll() is not None)
        assert ready and process.poll() is None, f"the worker did not start:\n{running.text()[-3000:]}"
        return running

    try:
        yield start
    finally:
        for running in started:
            running.kill_group()  # nothing may outlive the test


@pytest.fixture
def worker(start_worker: Callable[[], Worker]) -> Worker:
    return start_worker()


def _alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


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

    assert _wait_until(lambda: _finished(run)), worker.text()[-3000:]
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


@pytest.mark.parametrize("celery_broker", ["amqp"], indirect=True)
def test_a_worker_killed_whole_mid_step_hands_its_run_to_the_next_worker_at_once(
    world, start_worker, k8s_stub, celery_broker
):
    k8s_stub.slow(QUOTAS, 5, method="POST")
    first = start_worker()
    run = services.run_start(in_progress(world), actor=world.vendor_engineer)
    assert _wait_until(lambda: k8s_stub.calls_to("POST", QUOTAS)), first.text()[-3000:]

    pool = first.pool_children()
    first.kill_group()  # mid-step, main process and pool at once: nobody is left to hand the message back
    assert pool and _wait_until(lambda: not any(_alive(pid) for pid in pool))
    second = start_worker()
    restarted = time.monotonic()

    # RabbitMQ requeued the unacknowledged message when the dead worker's connection closed; Redis would keep it
    # for the visibility timeout (hours). "At once" here is the deadline: a loaded machine's seconds, not hours.
    assert _wait_until(lambda: _finished(run)), second.text()[-3000:]
    assert time.monotonic() - restarted < WAIT_SECONDS
    assert run.status == RunStatus.SUCCEEDED, run.error_message
    assert run.attempts == 2  # the killed delivery and the redelivered one
    assert set(run.steps.values_list("status", flat=True)) == {StepStatus.SUCCEEDED}
    assert re.search(r"provisioning_run_execute\[[^\]]+\] received", second.text()), second.text()[-3000:]
    assert not re.search(r"provisioning_run_execute\[[^\]]+\] succeeded", first.text())  # killed before it could
    assert len(k8s_stub.calls_to("POST", "/api/v1/namespaces")) == 1  # done before the kill: never repeated
    assert len(k8s_stub.calls_to("POST", QUOTAS)) == 2  # the killed call and its one idempotent retry
    assert k8s_stub.count("resourcequotas", "mgramseva-uat") == 1
    assert ProvisioningRun.objects.filter(service_request=run.service_request).count() == 1
    assert celery_broker.depth(QUEUE) == 0  # nothing left over to run a third time
    assert celery_broker.queue_types()[QUEUE] == "quorum"  # the production setup, replicated on a real cluster
