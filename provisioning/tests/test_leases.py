"""Runs under a lease: the sweeper resumes a run whose worker died (once, without repeating done steps), a late
delivery stands down while another holds the run, a heartbeat keeps a slow step's lease, and people cancel or
resume a run. Real adapters against the Kubernetes stub; no worker process here (see test_worker_death.py).
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import pytest
from django.conf import settings as django_settings
from django.db import close_old_connections, connection
from django.utils import timezone

from integrations.errors import TransientIntegrationError
from integrations.models import Connection
from portal.celery import app
from portal.exceptions import Conflict, Forbidden, NotFound
from portal.models import OutboxMessage
from provisioning import services
from provisioning.choices import RunStatus, StepStatus
from provisioning.models import ProvisioningRun
from provisioning.services.execute import _claim
from provisioning.tasks import provisioning_runs_resume_stuck as provisioning_runs_resume_stuck_task
from provisioning.tests.helpers import NAMESPACE_PARAMETERS, drive, in_progress
from requests_app.choices import EventKind, RequestType
from tests.support.locking import sweep_past_a_locked_row
from tests.support.waiting import wait_until

pytestmark = pytest.mark.django_db

QUOTAS = "/api/v1/namespaces/*/resourcequotas"
NAMESPACES = "/api/v1/namespaces"
LIMITS = "/api/v1/namespaces/*/limitranges"


def _later(seconds: float = 0) -> datetime:
    """A moment past every lease taken now (PORTICO_PROVISIONING_LEASE_SECONDS), plus `seconds`."""
    return timezone.now() + timedelta(seconds=django_settings.PORTICO_PROVISIONING_LEASE_SECONDS + 1 + seconds)


def _sends(run) -> int:
    return OutboxMessage.objects.filter(task=services.EXECUTE_TASK, kwargs={"run_id": run.pk}).count()


def _dead_worker_left(run, *, owner="worker-that-died") -> None:
    """What a worker killed mid-step leaves: the run running in its name, the lease lapsed, the step running."""
    past = timezone.now() - timedelta(minutes=5)
    ProvisioningRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, lease_owner=owner, lease_expires_at=past, heartbeat_at=past
    )


def _slow_quota(stub, seconds: float) -> None:
    """The next quota POST takes `seconds`; the connection waits for it rather than timing out."""
    Connection.objects.filter(system="kubernetes").update(timeout=seconds + 10)
    stub.slow(QUOTAS, seconds, method="POST")


@pytest.fixture
def k8s(world, k8s_stub, connect):
    connect(world, "kubernetes", k8s_stub)
    return k8s_stub


# --- the sweeper ---------------------------------------------------------------------------------------------
def test_a_run_whose_worker_died_is_resumed_by_the_sweeper_and_done_steps_are_not_repeated(world, k8s):
    k8s.fail(QUOTAS, 500, method="POST")
    run = services.run_start(in_progress(world), actor=world.vendor_engineer)
    with pytest.raises(TransientIntegrationError):
        services.run_execute(run_id=run.pk, owner="worker-1")  # the namespace is done; the quota is to be retried
    # ...and the worker holding the retry died with it: nothing will deliver the run again but the sweeper.

    assert services.runs_resume_stuck(now=timezone.now()) == 0  # the lease still holds
    assert services.runs_resume_stuck(now=_later()) == 1

    run.refresh_from_db()
    assert run.resumes == 1 and run.lease_owner == "" and run.status == RunStatus.RUNNING
    assert _sends(run) == 2  # the start, and the sweeper's
    resumed = run.service_request.events.get(kind=EventKind.PROVISIONING_RESUMED)
    assert resumed.actor is None and "its worker stopped reporting" in resumed.message
    assert resumed.payload["run"] == run.pk and resumed.payload["resumes"] == 1
    finished = drive(run).run
    assert finished.status == RunStatus.SUCCEEDED
    assert len(k8s.calls_to("POST", NAMESPACES)) == 1  # done before the worker died: never repeated
    assert k8s.count("resourcequotas", "mgramseva-uat") == 1
    assert run.service_request.events.filter(kind=EventKind.PROVISIONING_SUCCEEDED).count() == 1


def test_the_sweeper_leaves_runs_alone_while_their_lease_holds(world, k8s):
    queued = services.run_start(in_progress(world), actor=world.vendor_engineer)
    held = services.run_start(
        in_progress(world, **{**NAMESPACE_PARAMETERS, "namespace": "other-ns"}), actor=world.vendor_engineer
    )
    assert _claim(held.pk, continuation=False, owner="live-worker") is not None

    assert services.runs_resume_stuck() == 0

    assert _sends(queued) == 1 and _sends(held) == 1
    held.refresh_from_db()
    assert held.lease_owner == "live-worker" and held.resumes == 0


def test_a_queued_run_nobody_claimed_is_sent_again_quietly(world, k8s):
    run = services.run_start(in_progress(world), actor=world.vendor_engineer)

    assert services.runs_resume_stuck(now=_later()) == 0  # not a resume: no worker had it

    run.refresh_from_db()
    assert _sends(run) == 2 and run.status == RunStatus.QUEUED and run.resumes == 0
    assert not run.service_request.events.filter(kind=EventKind.PROVISIONING_RESUMED).exists()
    assert services.runs_resume_stuck(now=_later()) == 0 and _sends(run) == 2  # its new lease holds


def test_a_run_that_keeps_losing_its_worker_is_failed_instead_of_resumed_for_ever(world, k8s, settings):
    settings.PORTICO_PROVISIONING_MAX_RESUMES = 1
    run = services.run_start(in_progress(world), actor=world.vendor_engineer)
    _dead_worker_left(run)
    assert services.runs_resume_stuck() == 1
    _dead_worker_left(run)

    assert services.runs_resume_stuck() == 0

    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "stopped 2 times" in run.error_message
    failed = run.service_request.events.get(kind=EventKind.PROVISIONING_FAILED)
    assert "no longer resumes it" in failed.message and "retry the run" in failed.message


def test_the_sweeper_is_on_the_beat_schedule_and_resumes_within_two_minutes(settings):
    entry = app.conf.beat_schedule["provisioning-runs-resume-stuck"]

    assert entry["task"] == provisioning_runs_resume_stuck_task.name
    # Worst case: the worker dies right after a heartbeat; its lease runs out, then the next sweep finds it.
    assert settings.PORTICO_PROVISIONING_LEASE_SECONDS + float(entry["schedule"]) < 120
    assert settings.PORTICO_PROVISIONING_HEARTBEAT_SECONDS * 3 <= settings.PORTICO_PROVISIONING_LEASE_SECONDS


# --- one delivery at a time ----------------------------------------------------------------------------------
def test_a_late_delivery_stands_down_while_another_holds_the_run(world, k8s):
    run = services.run_start(in_progress(world), actor=world.vendor_engineer)
    assert _claim(run.pk, continuation=False, owner="sweepers-delivery") is not None

    assert services.run_execute(run_id=run.pk, owner="brokers-late-redelivery") is None

    run.refresh_from_db()
    assert run.lease_owner == "sweepers-delivery" and run.attempts == 1
    assert k8s.calls_to("POST") == []
    # The holder's own message delivered again (its pool child was killed) takes the run back and finishes it.
    assert services.run_execute(run_id=run.pk, owner="sweepers-delivery") is None
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.attempts == 2 and run.lease_owner == ""


def test_a_poll_lets_go_of_the_run_and_its_lease_covers_the_countdown(world, jenkins_stub, connect, settings):
    settings.PORTICO_PROVISIONING_POLL_SECONDS = 30
    connect(world, "jenkins", jenkins_stub)
    service_request = in_progress(world, request_type=RequestType.DEPLOYMENT_SUPPORT, job="deploy")
    run = services.run_start(service_request, actor=world.vendor_engineer)

    poll_after = services.run_execute(run_id=run.pk, owner="first")

    run.refresh_from_db()
    assert poll_after is not None and run.lease_owner == ""
    assert run.lease_expires_at >= timezone.now() + timedelta(seconds=poll_after)
    assert services.runs_resume_stuck(now=timezone.now() + timedelta(seconds=poll_after)) == 0


# --- concurrency, with real transactions ---------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_a_sweeper_skips_a_run_another_sweeper_has_locked(world, k8s):
    run = services.run_start(in_progress(world), actor=world.vendor_engineer)
    _dead_worker_left(run)
    # The lock is what another sweeper holds while it resumes the run.
    assert sweep_past_a_locked_row(ProvisioningRun, run.pk, services.runs_resume_stuck) == 0

    assert services.runs_resume_stuck() == 1
    assert services.runs_resume_stuck() == 0  # resumed once: its new lease holds
    assert run.service_request.events.filter(kind=EventKind.PROVISIONING_RESUMED).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_heartbeat_keeps_a_slow_steps_lease_so_the_sweeper_leaves_it_alone(world, k8s, settings):
    settings.PORTICO_PROVISIONING_LEASE_SECONDS = 2.0
    settings.PORTICO_PROVISIONING_HEARTBEAT_SECONDS = 0.25
    _slow_quota(k8s, 6)
    run = services.run_start(in_progress(world), actor=world.vendor_engineer)
    outcome: list[object] = []

    def worker() -> None:
        try:
            outcome.append(services.run_execute(run_id=run.pk, owner="slow-worker"))
        finally:
            connection.close()

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        assert wait_until(lambda: k8s.calls_to("POST", QUOTAS))
        sweeps = []
        while thread.is_alive():  # sweep through the whole slow step, well past the 2 s lease
            sweeps.append(services.runs_resume_stuck())
            close_old_connections()
            time.sleep(0.3)
    finally:
        thread.join(20)

    run.refresh_from_db()
    assert len(sweeps) >= 5 and sum(sweeps) == 0, sweeps
    assert outcome == [None] and run.status == RunStatus.SUCCEEDED and run.resumes == 0 and run.attempts == 1
    assert len(k8s.calls_to("POST", QUOTAS)) == 1


@pytest.mark.django_db(transaction=True)
def test_cancelling_a_running_run_stops_its_worker_before_the_next_step(world, k8s):
    _slow_quota(k8s, 5)
    run = services.run_start(in_progress(world), actor=world.vendor_engineer)

    def worker() -> None:
        try:
            services.run_execute(run_id=run.pk, owner="worker")
        finally:
            connection.close()

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        assert wait_until(lambda: k8s.calls_to("POST", QUOTAS))
        services.run_cancel(run, actor=world.pm, reason="Wrong quota")
    finally:
        thread.join(20)

    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED and run.error_message == "Cancelled by pm: Wrong quota"
    assert k8s.calls_to("POST", LIMITS) == []  # the step after the one in flight never started
    steps = dict(run.steps.values_list("key", "status"))
    assert steps["namespace"] == StepStatus.SUCCEEDED and steps["limit_range"] == StepStatus.PENDING
    assert not run.service_request.events.filter(kind=EventKind.PROVISIONING_SUCCEEDED).exists()
    cancelled = run.service_request.events.get(kind=EventKind.PROVISIONING_CANCELLED)
    assert cancelled.actor == world.pm and "Wrong quota" in cancelled.message


# --- people stepping in --------------------------------------------------------------------------------------
def test_the_pm_and_the_vendors_engineers_resume_a_stuck_run(world, k8s):
    for user in (world.pm, world.vendor_engineer, world.vendor_lead):
        run = services.run_start(in_progress(world), actor=world.vendor_engineer)
        _dead_worker_left(run)

        resumed = services.run_resume(run, actor=user)

        assert resumed.lease_owner == "" and resumed.resumes == 0  # a person's resume is not the sweeper's
        event = run.service_request.events.get(kind=EventKind.PROVISIONING_RESUMED)
        assert event.actor == user and "it had stopped" in event.message
        assert event.payload["worker"] == "worker-that-died"
        assert drive(resumed).run.status == RunStatus.SUCCEEDED


def test_resuming_is_refused_while_a_worker_holds_the_run_and_once_it_finished(world, k8s):
    run = services.run_start(in_progress(world), actor=world.vendor_engineer)
    _claim(run.pk, continuation=False, owner="live-worker")

    with pytest.raises(Conflict, match="in a worker's hands"):
        services.run_resume(run, actor=world.pm)
    drive_run = services.run_execute(run_id=run.pk, owner="live-worker")
    assert drive_run is None
    with pytest.raises(Conflict, match=r"Only a stuck run can be resumed; run #\d+ is succeeded"):
        services.run_resume(run, actor=world.pm)
    with pytest.raises(Conflict, match="Only a queued or running run can be cancelled"):
        services.run_cancel(run, actor=world.pm)
    assert not run.service_request.events.filter(kind=EventKind.PROVISIONING_RESUMED).exists()


def test_only_the_pm_and_the_vendors_engineers_may_cancel_or_resume(world, k8s):
    run = services.run_start(in_progress(world), actor=world.vendor_engineer)
    _dead_worker_left(run)

    for user in (world.requester, world.approver):
        with pytest.raises(Forbidden):
            services.run_cancel(run, actor=user)
        with pytest.raises(Forbidden):
            services.run_resume(run, actor=user)
    for user in (world.other_vendor_engineer, world.other_requester):
        with pytest.raises(NotFound):
            services.run_cancel(run, actor=user)
        with pytest.raises(NotFound):
            services.run_resume(run, actor=user)

    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING and run.lease_owner == "worker-that-died"


def test_a_cancelled_run_makes_room_for_a_new_one_and_late_deliveries_do_nothing(world, k8s):
    service_request = in_progress(world)
    run = services.run_start(service_request, actor=world.vendor_engineer)

    services.run_cancel(run, actor=world.vendor_engineer)

    assert services.run_execute(run_id=run.pk, owner="late") is None
    assert k8s.calls_to("POST") == []
    again = drive(services.run_start(service_request, actor=world.vendor_engineer)).run
    assert again.status == RunStatus.SUCCEEDED
