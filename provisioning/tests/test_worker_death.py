"""A worker killed whole in the middle of a run (main process and pool child at once: the OOM killer, a lost node)
leaves the run `running` and its message unacknowledged in Redis until the visibility timeout (an hour in the
test settings, two by default). The sweeper notices the lapsed lease and resumes the run on a fresh worker: it
finishes exactly once, within two minutes of the death, and the broker's late redelivery of the dead worker's
message afterwards does nothing.

Real workers (`tests.support.worker`, each the leader of its own process group), the real Kubernetes adapter
against its stub server, whose object store and call log say what reached "Kubernetes" and how often.
"""

from __future__ import annotations

import re
import time

import pytest
import redis

from integrations.kubernetes.stub import KubernetesStub
from integrations.models import Connection
from portal.celery import app
from provisioning import services
from provisioning.choices import RunStatus, StepStatus
from provisioning.models import ProvisioningRun
from provisioning.tasks import provisioning_runs_resume_stuck as provisioning_runs_resume_stuck_task
from provisioning.tests.helpers import in_progress
from requests_app.choices import EventKind
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

NS = "mgramseva-uat"
QUOTAS = "/api/v1/namespaces/*/resourcequotas"
# A 3 s lease and a 0.5 s heartbeat: short enough for a test, the mechanism of production's 60 s and 10 s.
WORKER_SETTINGS = "provisioning.tests.worker_settings"
RESUME_DEADLINE = 120  # the promise: resumed and finished within two minutes of the worker's death


@pytest.fixture
def k8s(world, k8s_stub, connect) -> KubernetesStub:
    connect(world, "kubernetes", k8s_stub)
    Connection.objects.filter(system="kubernetes").update(timeout=60)  # a hung call stays hung until the kill
    return k8s_stub


def _run(run_id: int) -> ProvisioningRun:
    return ProvisioningRun.objects.get(pk=run_id)


def _restore_unacked(tag: str) -> None:
    """What Redis's visibility timeout eventually does to the dead worker's message: put it back in the queue."""
    with app.connection_for_write() as conn:
        conn.default_channel.qos.restore_by_tag(tag)


# Redis: the point is that the sweeper resumes the run long before Redis's visibility timeout would (RabbitMQ
# redelivers at once, which tests/test_celery_worker.py and provisioning/tests/test_worker.py cover).
@pytest.mark.parametrize("celery_broker", ["redis"], indirect=True)
def test_a_worker_killed_whole_mid_run_is_resumed_by_the_sweeper_and_the_run_finishes_exactly_once(
    world, k8s, celery_broker, start_worker, settings
):
    broker = redis.Redis.from_url(celery_broker.url)
    settings.PORTICO_PROVISIONING_LEASE_SECONDS = 3.0  # as WORKER_SETTINGS has it; this process starts the run
    k8s.slow(QUOTAS, 30, method="POST")  # the first quota call hangs: the worker dies with it in flight

    first = start_worker(pool="prefork", own_group=True, settings=WORKER_SETTINGS)
    run = services.run_start(in_progress(world), actor=world.vendor_engineer)  # committed: sent at once
    assert wait_until(lambda: k8s.calls_to("POST", QUOTAS)), first.text()[-3000:]
    first.kill_group()
    killed_at = time.monotonic()
    assert wait_until(lambda: not first.group_alive(), seconds=10), first.group_alive()

    dead = _run(run.pk)
    assert dead.status == RunStatus.RUNNING and dead.lease_owner  # left in the dead worker's name
    assert dead.steps.get(key="namespace").status == StepStatus.SUCCEEDED
    assert dead.steps.get(key="resource_quota").status == StepStatus.RUNNING
    unacked = broker.hkeys("unacked")
    assert len(unacked) == 1  # the dead worker's message, held by Redis until the visibility timeout

    second = start_worker(pool="prefork", own_group=True, settings=WORKER_SETTINGS)

    def finished() -> bool:
        if _run(run.pk).is_finished:
            return True
        provisioning_runs_resume_stuck_task.delay()  # what beat sends every 30 s
        return False

    assert wait_until(finished, seconds=RESUME_DEADLINE, interval=1.0), second.text()[-3000:]
    assert time.monotonic() - killed_at < RESUME_DEADLINE
    run = _run(run.pk)
    assert run.status == RunStatus.SUCCEEDED, run.error_message
    assert run.resumes == 1 and run.attempts == 2 and run.lease_owner == ""
    assert set(run.steps.values_list("status", flat=True)) == {StepStatus.SUCCEEDED}
    # The sweeper did it, not the broker: the dead worker's message is still waiting for its visibility timeout.
    # (Once the second worker has finished what the run's events queued — notifications — it is the only one left.)
    assert wait_until(lambda: broker.hkeys("unacked") == unacked, seconds=60), broker.hkeys("unacked")
    assert re.search(r"provisioning_runs_resume_stuck\[[^\]]+\] succeeded in [0-9.e-]+s: 1", second.text())

    # Each step's effect reached Kubernetes once: the namespace (done before the death) was never created
    # again; the quota in flight was sent again, and the create-or-update left one object.
    assert len(k8s.calls_to("POST", "/api/v1/namespaces")) == 1
    assert sum(1 for (plural, _, name) in k8s.objects if plural == "namespaces" and name == NS) == 1
    assert k8s.count("resourcequotas", NS) == 1
    assert len(k8s.calls_to("POST", "/api/v1/namespaces/*/limitranges")) == 1
    assert len(k8s.calls_to("POST", "/apis/networking.k8s.io/v1/namespaces/*/networkpolicies")) == 1
    assert len(k8s.calls_to("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/*/rolebindings")) == 1
    events = run.service_request.events
    resumed = events.get(kind=EventKind.PROVISIONING_RESUMED)
    assert resumed.actor is None and resumed.payload["worker"] == dead.lease_owner
    assert events.filter(kind=EventKind.PROVISIONING_SUCCEEDED).count() == 1

    # An hour later Redis hands the dead worker's message out again: the run is done, so nothing happens.
    calls = len(k8s.calls)
    _restore_unacked(unacked[0].decode())
    done = rf"provisioning_run_execute\[{re.escape(dead.lease_owner)}\] succeeded in [0-9.e-]+s: 'done'"
    assert wait_until(lambda: re.search(done, second.text()), seconds=60), second.text()[-3000:]
    assert len(k8s.calls) == calls
    assert _run(run.pk).attempts == 2
    assert events.filter(kind=EventKind.PROVISIONING_SUCCEEDED).count() == 1
