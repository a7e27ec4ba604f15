"""A real prefork Celery worker runs provisioning against the Kubernetes stub, on Redis and on RabbitMQ: it retries
a 500 with backoff; a pool child SIGKILLed in the middle of a step is replaced and the run finishes exactly once;
and on RabbitMQ a worker killed whole (its process group: main process and pool, as an OOM kill or a lost node
does) hands its task to the next worker at once, which finishes the run exactly once.

The worker is a subprocess on the test database pytest-django created and on the test's broker; everything it
does is seen through the database and the stub's call log, as in production.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from provisioning import services
from provisioning.choices import RunStatus, StepStatus
from provisioning.models import ProvisioningRun
from provisioning.tests.helpers import in_progress
from tests.support.brokers import Broker
from tests.support.waiting import wait_until
from tests.support.worker import QUEUE, Worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

QUOTAS = "/api/v1/namespaces/*/resourcequotas"
RUN = "provisioning.tasks.provisioning_run_execute"


@pytest.fixture
def worker(world, k8s_stub, connect, start_worker) -> Worker:
    """The environment connected to the stub (token in this process's environment, inherited by the worker), and
    a prefork worker with one pool child on the test's broker; it is killed afterwards, children and all."""
    connect(world, "kubernetes", k8s_stub)
    return start_worker(pool="prefork")


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

    assert wait_until(lambda: _finished(run)), worker.text()[-3000:]

    assert run.status == RunStatus.SUCCEEDED, run.error_message
    assert run.attempts == 2
    assert len(k8s_stub.calls_to("POST", QUOTAS)) == 2
    assert k8s_stub.count("resourcequotas", "mgramseva-uat") == 1
    assert re.search(r"provisioning_run_execute\[[^\]]+\] retry: Retry in", worker.text()), worker.text()[-3000:]


def test_a_pool_child_killed_mid_step_is_replaced_and_the_run_finishes_exactly_once(world, worker, k8s_stub):
    k8s_stub.slow(QUOTAS, 5, method="POST")
    run = services.run_start(in_progress(world), actor=world.vendor_engineer)
    assert wait_until(lambda: k8s_stub.calls_to("POST", QUOTAS)), worker.text()[-3000:]
    children = worker.pool_children()
    assert len(children) == 1, children

    os.kill(children[0], signal.SIGKILL)  # mid-step: the quota POST is in flight

    assert wait_until(lambda: _finished(run)), worker.text()[-3000:]
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
    world, k8s_stub, connect, start_worker: Callable[..., Worker], celery_broker: Broker
):
    connect(world, "kubernetes", k8s_stub)
    k8s_stub.slow(QUOTAS, 5, method="POST")
    first = start_worker(pool="prefork")
    run = services.run_start(in_progress(world), actor=world.vendor_engineer)
    assert wait_until(lambda: k8s_stub.calls_to("POST", QUOTAS)), first.text()[-3000:]

    pool = first.pool_children()
    first.kill_group()  # mid-step, main process and pool at once: nobody is left to hand the message back
    assert pool and wait_until(lambda: not any(_alive(pid) for pid in pool))
    second = start_worker(pool="prefork")
    restarted = time.monotonic()

    # RabbitMQ requeued the unacknowledged message when the dead worker's connection closed; Redis would keep it
    # for the visibility timeout (hours). "At once" is the deadline: a loaded machine's seconds, not hours.
    assert wait_until(lambda: _finished(run)), second.text()[-3000:]
    assert time.monotonic() - restarted < 60
    assert run.status == RunStatus.SUCCEEDED, run.error_message
    assert run.attempts == 2  # the killed delivery and the redelivered one
    assert set(run.steps.values_list("status", flat=True)) == {StepStatus.SUCCEEDED}
    assert second.task_count(RUN, "received") >= 1
    assert first.task_count(RUN, "succeeded") == 0  # killed before it could
    assert len(k8s_stub.calls_to("POST", "/api/v1/namespaces")) == 1  # done before the kill: never repeated
    assert len(k8s_stub.calls_to("POST", QUOTAS)) == 2  # the killed call and its one idempotent retry
    assert k8s_stub.count("resourcequotas", "mgramseva-uat") == 1
    assert ProvisioningRun.objects.filter(service_request=run.service_request).count() == 1
    # Whatever the dead worker had prefetched (the run's notices) came back too; once the second worker has drained
    # the queue, the run must still have run twice only.
    assert wait_until(lambda: celery_broker.depth(QUEUE) == 0), second.text()[-3000:]
    run.refresh_from_db()
    assert run.attempts == 2
    assert len(k8s_stub.calls_to("POST", QUOTAS)) == 2
    assert celery_broker.queue_types()[QUEUE] == "quorum"  # the production setup, replicated on a real cluster
