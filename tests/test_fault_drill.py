"""The fault drill "200 concurrent flows with a worker restart", on Redis and on RabbitMQ: nothing lost, nothing
done twice.

200 requests are filed at once from eight threads, in two waves; between the waves a provisioning run starts whose
quota call hangs at the Kubernetes stub, so the worker is caught in the middle of a step (the moment a real kill
lands is not left to chance: with one slot, nothing else is half-done then). The worker is SIGKILLed whole, process
group and all, and a new one started. Then, within deadlines, every flow must have finished (each request's
"filed" e-mail sent, its notifications recorded, the run succeeded) and nothing may have happened twice (one
e-mail per person and event in the worker's mail files, one notification per person and event, each Kubernetes object
created once, one "succeeded" event).

On RabbitMQ the dead worker's message comes back at once; on Redis it waits for the visibility timeout, and the
run's lease lets the sweeper (sent here the way beat sends it) resume it long before that.
"""

from __future__ import annotations

import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connections

from conversations.emails import notice_subject
from conversations.models import Channel, Delivery, DeliveryState
from integrations.kubernetes.stub import KubernetesStub
from integrations.models import Connection
from portal.models import OutboxMessage
from portal.outbox import outbox_dispatch
from provisioning import services
from provisioning.choices import RunStatus, StepStatus
from provisioning.models import ProvisioningRun
from provisioning.tasks import provisioning_runs_resume_stuck as provisioning_runs_resume_stuck_task
from provisioning.tests.conftest import connect  # noqa: F401  (the fixture that points Connections at stubs)
from provisioning.tests.helpers import in_progress
from requests_app.choices import EventKind
from requests_app.models import Notification, RequestEvent, ServiceRequest
from requests_app.testing.workflow import file_request
from tests.support.brokers import Broker
from tests.support.waiting import wait_until
from tests.support.worker import QUEUE

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

FLOWS = 200
THREADS = 8
NS = "mgramseva-uat"
QUOTAS = "/api/v1/namespaces/*/resourcequotas"
DRILL_SETTINGS = "tests.support.drill_settings"
DEADLINE = 240  # a broken drill fails here; a healthy one needs a fraction of it, even on a 2-core machine at load 20


@pytest.fixture
def k8s(world, k8s_stub, connect) -> KubernetesStub:  # noqa: F811  (the fixture imported above)
    connect(world, "kubernetes", k8s_stub)
    Connection.objects.filter(system="kubernetes").update(timeout=60)  # the hung call stays hung until the kill
    return k8s_stub


@pytest.fixture
def mail_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the drill's workers write each e-mail they send (tests/support/drill_settings.py)."""
    folder = tmp_path / "mail"
    folder.mkdir()
    monkeypatch.setenv("PORTICO_TEST_MAIL_DIR", str(folder))
    return folder


def _file_wave(world, numbers: range) -> list[str]:
    """File one request per number from THREADS threads at once; their references."""

    def file_one(number: int) -> str:
        try:
            return file_request(world, title=f"Drill flow {number:03d}").reference
        finally:
            connections.close_all()  # this thread's own connections

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(file_one, numbers))


def _sent(mail_dir: Path) -> Counter[tuple[str, str]]:
    """Every e-mail the workers wrote, as (recipient, subject), with how often each was sent. Django's file backend
    separates the messages of one connection by a line of dashes."""
    text = "\n".join(path.read_text(errors="replace") for path in sorted(mail_dir.iterdir()))
    sent: Counter[tuple[str, str]] = Counter()
    for message in re.split(r"^-{79}$", text, flags=re.MULTILINE):
        recipient = re.search(r"^To: (.*)$", message, flags=re.MULTILINE)
        subject = re.search(r"^Subject: (.*)$", message, flags=re.MULTILINE)
        if recipient and subject:
            sent[(recipient.group(1).strip(), subject.group(1).strip())] += 1
    return sent


def _flows_notified(references: list[str]) -> int:
    """Filings whose e-mails have all gone out."""
    filings = RequestEvent.objects.filter(kind=EventKind.FILED, service_request__reference__in=references)
    emails = Delivery.objects.filter(event__in=filings, channel=Channel.EMAIL)
    return (
        filings.filter(deliveries__in=emails)
        .exclude(deliveries__in=emails.exclude(state=DeliveryState.SENT))
        .distinct()
        .count()
    )


def test_200_concurrent_flows_survive_a_worker_restart_with_nothing_lost_or_done_twice(
    world, k8s, mail_dir, celery_broker: Broker, start_worker, settings
):
    settings.PORTICO_PROVISIONING_LEASE_SECONDS = 3.0  # as the drill's workers have it; this process starts the run
    k8s.slow(QUOTAS, 30, method="POST")  # the run's first quota call hangs: the worker is killed with it in flight
    first = start_worker(pool="solo", settings=DRILL_SETTINGS)

    references = _file_wave(world, range(FLOWS // 2))
    run = services.run_start(in_progress(world), actor=world.vendor_engineer)
    references += _file_wave(world, range(FLOWS // 2, FLOWS))
    assert len(set(references)) == FLOWS

    assert wait_until(lambda: k8s.calls_to("POST", QUOTAS), seconds=DEADLINE), first.text()[-3000:]
    first.kill_group()
    assert wait_until(lambda: not first.group_alive(), seconds=10), first.group_alive()
    # The restart really is in the middle: the first wave was worked through (all of it, unless a publish timed
    # out under load and left a flow in the outbox), the second waits for a worker.
    done_before = _flows_notified(references)
    assert 0 < done_before < FLOWS, done_before
    assert ProvisioningRun.objects.get(pk=run.pk).status == RunStatus.RUNNING

    second = start_worker(pool="solo", settings=DRILL_SETTINGS)

    def everything_finished() -> bool:
        # What beat does every 30 s: send what a slow publish left in the outbox (a loaded machine can exceed the
        # publish timeout), and sweep for runs whose worker died.
        outbox_dispatch()
        if not ProvisioningRun.objects.get(pk=run.pk).is_finished:
            provisioning_runs_resume_stuck_task.delay()
            return False
        if _flows_notified(references) != FLOWS:
            return False
        # The run's own notices (started, succeeded) are e-mailed too: wait for them, not only for the filings'.
        emails = Delivery.objects.filter(
            event__service_request__reference__in=[*references, run.service_request.reference], channel=Channel.EMAIL
        )
        return not emails.exclude(state=DeliveryState.SENT).exists()

    assert wait_until(everything_finished, seconds=DEADLINE, interval=1.0), second.text()[-3000:]
    assert wait_until(lambda: celery_broker.depth(QUEUE) == 0, seconds=DEADLINE), second.text()[-3000:]

    # Nothing lost: every flow's work was sent to the broker and done.
    assert not OutboxMessage.objects.filter(dispatched_at__isnull=True).exists()
    run = ProvisioningRun.objects.get(pk=run.pk)
    assert run.status == RunStatus.SUCCEEDED, run.error_message
    assert set(run.steps.values_list("status", flat=True)) == {StepStatus.SUCCEEDED}

    # Nothing done twice: one in-portal notification per person and event, one e-mail delivery per person, event and
    # channel (a unique key), every one of them sent, and exactly one message in the mail files for each.
    requests = ServiceRequest.objects.filter(reference__in=[*references, run.service_request.reference])
    pairs = Counter(Notification.objects.filter(event__service_request__in=requests).values_list("event_id", "user_id"))
    assert pairs and set(pairs.values()) == {1}
    deliveries = Delivery.objects.filter(event__service_request__in=requests, channel=Channel.EMAIL).select_related(
        "event__service_request", "user"
    )
    assert {d.state for d in deliveries} == {DeliveryState.SENT}
    filed = deliveries.filter(event__kind=EventKind.FILED, event__service_request__reference__in=references)
    assert filed.values("event").distinct().count() == FLOWS
    expected = Counter((d.user.email, notice_subject(d.event)) for d in deliveries)
    sent = _sent(mail_dir)
    assert sent == expected, set(sent) ^ set(expected)
    # Each Kubernetes object was created once; the one step in flight at the kill left one quota, not two.
    assert len(k8s.calls_to("POST", "/api/v1/namespaces")) == 1
    assert k8s.count("resourcequotas", NS) == 1
    assert len(k8s.calls_to("POST", "/api/v1/namespaces/*/limitranges")) == 1
    assert run.service_request.events.filter(kind=EventKind.PROVISIONING_SUCCEEDED).count() == 1
