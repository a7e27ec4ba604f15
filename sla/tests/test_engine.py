"""The SLA engine on real requests: the clock ledger through a whole life cycle, to the second."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection

from conversations.delivery import notify
from requests_app import services
from requests_app.choices import EventKind, Priority
from requests_app.models import RequestEvent
from requests_app.testing.workflow import file_request
from sla.choices import Clock, ClockStatus, Measure
from sla.defaults import ensure_defaults
from sla.models import BusinessCalendar, ClockLedgerEntry, RequestClock, SlaPolicy
from sla.selectors import requests_with_sla_status, sla_explain, sla_summary
from sla.services import sla_policy_revise, sla_replay, sla_scan

IST = ZoneInfo("Asia/Kolkata")


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=IST)


def clock(service_request, which: str = Clock.SLA, measure: str = Measure.RESOLUTION) -> RequestClock:
    return RequestClock.objects.get(service_request=service_request, clock=which, measure=measure)


@pytest.fixture
def bihar(world):
    ensure_defaults()  # a transactional test's flush removes what the data migration wrote
    world.environment.calendar = BusinessCalendar.objects.get(slug="bihar")
    world.environment.save()
    return world


@pytest.mark.django_db
def test_p2_filed_the_evening_before_a_bihar_holiday(bihar):
    with time_machine.travel(at(1, 17, month=10), tick=False):  # Thursday; Friday 2 Oct is Gandhi Jayanti
        service_request = file_request(bihar)
    # 1 h on Thursday, nothing on the holiday or the weekend, 7 h 30 on Monday.
    assert service_request.response_due_at == at(5, 17, month=10)
    assert clock(service_request, measure=Measure.RESPONSE).goal == timedelta(hours=8, minutes=30)


@pytest.mark.django_db
def test_full_life_cycle_with_pause_priority_change_and_reopen(bihar):
    world = bihar
    with time_machine.travel(at(16, 10), tick=False) as traveller:
        service_request = file_request(world)  # Monday 16 Nov, P2: 8 h 30 to respond, 25 h 30 to resolve
        assert service_request.response_due_at == at(17, 10)
        assert service_request.resolution_due_at == at(19, 10)

        traveller.move_to(at(16, 11))
        service_request = services.request_triage(service_request, actor=world.pm, vendor=world.vendor_a)
        assert clock(service_request, Clock.OLA).due_at == at(19, 11)  # the vendor's clock starts at routing

        traveller.move_to(at(16, 13))
        service_request = services.request_pick_up(service_request, actor=world.vendor_engineer)
        response = clock(service_request, measure=Measure.RESPONSE)
        assert (response.met_at, response.breached) == (at(16, 13), False)

        traveller.move_to(at(16, 15))
        service_request = services.request_request_info(service_request, actor=world.vendor_engineer, reason="Which?")
        paused = clock(service_request)
        assert paused.paused_since == at(16, 15)
        assert paused.elapsed == timedelta(hours=5)

        traveller.move_to(at(17, 12))
        service_request = services.request_provide_info(service_request, actor=world.requester, reason="This one")
        resumed = clock(service_request)
        # Paused 3 h on Monday and 2 h 30 on Tuesday morning: the due time moves by exactly 5 h 30 of working time.
        assert resumed.paused == timedelta(hours=5, minutes=30)
        assert resumed.due_at == at(19, 15, 30)
        assert clock(service_request, Clock.OLA).due_at == at(19, 16, 30)

        traveller.move_to(at(17, 14))
        service_request = services.request_update(
            service_request, actor=world.pm, changes={"priority": Priority.P3}, reason="Not urgent after all"
        )
        # P3 allows 10 working days (85 h) from submission; the pause is kept; Tuesday 24 Nov is a holiday.
        assert clock(service_request).due_at == at(1, 15, 30, month=12)
        assert clock(service_request).paused == timedelta(hours=5, minutes=30)
        assert service_request.resolution_due_at == at(1, 15, 30, month=12)

        traveller.move_to(at(18, 10))
        service_request = services.request_resolve(service_request, actor=world.vendor_engineer, reason="Done")
        assert clock(service_request).elapsed == timedelta(hours=11, minutes=30)

        traveller.move_to(at(19, 10))
        service_request = services.request_reopen(service_request, actor=world.requester, reason="Still failing")
        reopened = clock(service_request)
        assert (reopened.met_at, reopened.running_since) == (None, at(19, 10))
        assert reopened.elapsed == timedelta(hours=11, minutes=30)

        traveller.move_to(at(19, 12))
        service_request = services.request_resolve(service_request, actor=world.vendor_engineer, reason="Fixed")
        final = clock(service_request)
        assert final.elapsed == timedelta(hours=13, minutes=30)
        assert final.met_at == at(19, 12)
        assert final.breached is False
        summary = sla_summary(service_request)
        assert summary["sla"]["resolution"]["status"] == ClockStatus.MET
        assert summary["sla"]["response"]["status"] == ClockStatus.MET
        assert summary["sla"]["policy_version"] == 1
        assert summary["ola"]["vendor"] == world.vendor_a.slug
        ledger = ClockLedgerEntry.objects.filter(service_request=service_request, clock=Clock.SLA)
        kinds = list(ledger.values_list("kind", flat=True))
        assert kinds == ["start", "stop", "pause", "resume", "retarget", "stop", "reopen", "stop"]
        explanation = " ".join(sla_explain(service_request))
        # The requester's wait and the time between resolving and reopening, each under its reason.
        assert "paused 14 h: resolved, then reopened 8 h 30 min, waiting on requester 5 h 30 min" in explanation


@pytest.mark.django_db
def test_a_paused_clock_does_not_breach_and_resolving_from_pause_ignores_the_hold(bihar):
    world = bihar
    with time_machine.travel(at(16, 10), tick=False) as traveller:
        service_request = file_request(world, priority=Priority.P1)  # 24×7: resolve within 12 h
        service_request = services.request_triage(service_request, actor=world.pm, vendor=world.vendor_a)
        service_request = services.request_pick_up(service_request, actor=world.vendor_engineer)
        traveller.move_to(at(16, 12))
        services.request_request_info(service_request, actor=world.vendor_engineer, reason="Logs please")
        traveller.move_to(at(17, 12))  # a day later: long past the 12 h goal, but the clock is paused
        assert sla_scan()["breached"] == 0
        assert sla_summary(service_request)["sla"]["resolution"]["status"] == ClockStatus.PAUSED
        assert sla_summary(service_request)["sla"]["resolution"]["remaining_seconds"] == 10 * 3600


@pytest.mark.django_db
def test_scan_flags_at_risk_then_breach_once_each_and_notifies(bihar, mailoutbox, django_capture_on_commit_callbacks):
    world = bihar
    with time_machine.travel(at(16, 10), tick=False) as traveller:
        service_request = file_request(world, priority=Priority.P0)  # 4 h response, 24 h resolution, 24×7
        services.request_triage(service_request, actor=world.pm, vendor=world.vendor_a)
        traveller.move_to(at(16, 13, 1))  # 75 % of 4 h gone
        with django_capture_on_commit_callbacks() as callbacks:
            assert sla_scan() == {"breached": 0, "at_risk": 2}  # SLA and OLA response
        assert len(callbacks) == 2  # one notification task each, sent on commit
        assert sla_scan() == {"breached": 0, "at_risk": 0}
        traveller.move_to(at(16, 14, 1))
        assert sla_scan()["breached"] == 2  # SLA and OLA response: the OLA started at triage, the same instant
        assert sla_scan()["breached"] == 0
    events = RequestEvent.objects.filter(service_request=service_request)
    assert events.filter(kind=EventKind.SLA_AT_RISK).count() == 2
    breach = events.get(kind=EventKind.SLA_BREACHED, payload__clock=Clock.SLA)
    at_risk = events.get(kind=EventKind.SLA_AT_RISK, payload__clock=Clock.SLA)
    mailoutbox.clear()
    notify(at_risk)
    assert [m.to for m in mailoutbox] == [[world.vendor_lead.email]]  # no assignee yet: the vendor lead hears
    mailoutbox.clear()
    notify(breach)  # one e-mail per person (each has its own reply address)
    assert sorted(m.to[0] for m in mailoutbox) == sorted(
        [world.vendor_lead.email, world.pm.email, world.approver.email]
    )
    assert all("breached" in m.subject for m in mailoutbox)


@pytest.mark.django_db(transaction=True)
def test_two_workers_scanning_at_once_flag_each_breach_once(bihar):
    if connection.vendor != "postgresql":
        pytest.skip("row locks with SKIP LOCKED need PostgreSQL")
    world = bihar
    with time_machine.travel(at(16, 10), tick=False):
        requests = [file_request(world, priority=Priority.P0) for _ in range(12)]
    barrier = threading.Barrier(2)
    results: list[dict] = []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(sla_scan(now=at(17, 12), batch=3))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(r["breached"] for r in results) == 24  # 12 requests × (response + resolution), once each
    flagged = RequestEvent.objects.filter(service_request__in=requests, kind=EventKind.SLA_BREACHED).count()
    assert flagged == 24


@pytest.mark.django_db
def test_policy_versions_and_replay_what_if(bihar, capsys):
    world = bihar
    with time_machine.travel(at(16, 10), tick=False):
        service_request = file_request(world)
        new = sla_policy_revise(priority=Priority.P2, actor=world.pm, response_goal=2, note="slower")
        assert new.version == 2
        later = file_request(world)
    assert clock(service_request, measure=Measure.RESPONSE).policy.version == 1  # keeps the version it started under
    assert clock(later, measure=Measure.RESPONSE).policy.version == 2
    assert later.response_due_at == at(18, 10)  # 2 working days = 17 h
    changes = sla_replay(service_request, under="current")
    response_change = next(c for c in changes if (c["clock"], c["measure"]) == (Clock.SLA, Measure.RESPONSE))
    assert response_change["due_after"] == at(18, 10) and response_change["changed"]
    assert clock(service_request, measure=Measure.RESPONSE).due_at == at(17, 10)  # what-if wrote nothing
    call_command("sla_replay", service_request.reference, "--set", "P2.response_goal=0.5")
    assert "would change" in capsys.readouterr().out
    call_command("sla_replay", service_request.reference, "--under", "current", "--apply")
    assert clock(service_request, measure=Measure.RESPONSE).due_at == at(18, 10)
    assert service_request.events.filter(kind=EventKind.SLA_RECOMPUTED).count() == 1


@pytest.mark.django_db
def test_sla_status_filter_finds_breached_at_risk_paused_and_on_track(bihar):
    from requests_app.models import ServiceRequest

    world = bihar
    with time_machine.travel(at(16, 10), tick=False):
        late = file_request(world, priority=Priority.P0)  # 4 h to respond, 24×7
        fresh_p3 = file_request(world, priority=Priority.P3)
        waiting = file_request(world, priority=Priority.P0)
        waiting = services.request_triage(waiting, actor=world.pm, vendor=world.vendor_a)
        waiting = services.request_pick_up(waiting, actor=world.vendor_engineer)
        services.request_request_info(waiting, actor=world.vendor_engineer, reason="Which cluster?")
    now = at(16, 17)  # 7 h later: the first P0 missed pick-up; the paused one is held; the P3 has days left
    by_status = {
        status: set(requests_with_sla_status(ServiceRequest.objects.all(), status, now).values_list("pk", flat=True))
        for status in ("breached", "at_risk", "paused", "on_track", "met")
    }
    assert by_status["breached"] == {late.pk}
    assert by_status["paused"] == {waiting.pk}
    assert by_status["on_track"] == {fresh_p3.pk}
    assert by_status["at_risk"] == set() and by_status["met"] == set()
    almost = at(16, 13, 30)  # 3 h 30 of the first P0's 4 h response goal: at risk, not yet breached
    assert set(
        requests_with_sla_status(ServiceRequest.objects.all(), "at_risk", almost).values_list("pk", flat=True)
    ) == {late.pk}


def test_priority_choices_state_the_current_policys_targets(db):
    from sla.policies import policy_current, priority_choices

    assert dict(priority_choices())["P2"] == "P2 — a few days: response 1 working days, resolution 3 working days"
    old = policy_current("P2")
    SlaPolicy.objects.filter(pk=old.pk).update(is_current=False)
    SlaPolicy.objects.create(
        priority="P2",
        version=old.version + 1,
        response_goal=4,
        response_unit="hours",
        resolution_goal=5,
        resolution_unit="working_days",
    )
    assert dict(priority_choices())["P2"] == "P2 — a few days: response 4 hours, resolution 5 working days"
