"""Flags and outcomes belong to a clock's target: retargets and reopens re-arm the scan for the new due time, a
clock that already ended keeps its outcome, and the weekly report counts it under the priority it ended under.

Bihar's calendar (Mon–Fri 09:30–18:00 IST; Tuesday 24 Nov 2026 is a holiday); P0 and P1 run round the clock."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
import time_machine

from conversations.delivery import notify
from requests_app import services
from requests_app.choices import EventKind, Priority
from requests_app.models import RequestEvent
from requests_app.testing.workflow import file_request
from sla.choices import Clock, ClockStatus, Measure
from sla.defaults import ensure_defaults
from sla.models import BusinessCalendar
from sla.selectors import sla_summary
from sla.services import sla_policy_revise, sla_replay, sla_replay_apply, sla_scan
from sla.tests.test_engine import at, clock

RESPONSE, RESOLUTION = Measure.RESPONSE, Measure.RESOLUTION


@pytest.fixture
def world_in_bihar(world):
    ensure_defaults()
    world.environment.calendar = BusinessCalendar.objects.get(slug="bihar")
    world.environment.save()
    return world


def _breaches(service_request, measure: str = RESPONSE):
    return RequestEvent.objects.filter(
        service_request=service_request, kind=EventKind.SLA_BREACHED, payload__clock=Clock.SLA, payload__measure=measure
    ).order_by("pk")


def _reprioritise(service_request, world, priority: str):
    return services.request_update(service_request, actor=world.pm, changes={"priority": priority}, reason="Re-rated")


# --- rule 1: flags belong to a clock and its current target -----------------------------------------------
@pytest.mark.django_db
def test_a_breached_p1_lowered_to_p3_reads_on_track_and_its_real_p3_breach_is_flagged_and_told(
    world_in_bihar, mailoutbox
):
    world = world_in_bihar
    with time_machine.travel(at(16, 10), tick=False) as traveller:  # Monday 16 Nov, 10:00 IST
        service_request = file_request(world, priority=Priority.P1)  # respond within 2 h, 24×7: due 12:00
        traveller.move_to(at(16, 12, 1))
        assert sla_scan() == {"breached": 1, "at_risk": 0}  # the SLA response (no vendor clock before triage)
        flagged = clock(service_request, measure=RESPONSE)
        assert flagged.breached_flagged_at == at(16, 12, 1)

        traveller.move_to(at(16, 12, 30))
        service_request = _reprioritise(service_request, world, Priority.P3)
        # P3: 2 working days (17 h) from submission: 8 h on Monday, 8 h 30 on Tuesday, 30 min on Wednesday.
        rearmed = clock(service_request, measure=RESPONSE)
        assert (rearmed.due_at, rearmed.at_risk_at) == (at(18, 10), at(17, 14, 15))  # at risk at 12 h 45 (75 %)
        assert (rearmed.breached_flagged_at, rearmed.at_risk_flagged_at) == (None, None)
        assert sla_summary(service_request)["sla"]["response"]["status"] == ClockStatus.ON_TRACK
        assert sla_scan() == {"breached": 0, "at_risk": 0}

        traveller.move_to(at(17, 14, 15))
        assert sla_scan() == {"breached": 0, "at_risk": 1}  # the P3 target's own at-risk moment
        traveller.move_to(at(18, 10))
        assert sla_scan() == {"breached": 1, "at_risk": 0}  # the real P3 breach, recorded
        assert sla_scan() == {"breached": 0, "at_risk": 0}  # … exactly once
        traveller.move_to(at(18, 12))
        assert sla_scan() == {"breached": 0, "at_risk": 0}

    breaches = list(_breaches(service_request))
    assert [event.payload["due_at"] for event in breaches] == [
        at(16, 12).astimezone(UTC).isoformat(),  # the P1 target
        at(18, 10).astimezone(UTC).isoformat(),  # the P3 target
    ]
    assert clock(service_request, measure=RESPONSE).breached_flagged_at == at(18, 10)
    mailoutbox.clear()
    notify(breaches[-1])  # the P3 breach is told to the same people as any breach
    assert sorted(m.to[0] for m in mailoutbox) == sorted([world.pm.email, world.approver.email])


@pytest.mark.django_db
def test_a_due_time_that_moves_but_stays_past_keeps_its_flag_and_is_not_told_again(world_in_bihar):
    world = world_in_bihar
    with time_machine.travel(at(16, 10), tick=False) as traveller:
        service_request = file_request(world, priority=Priority.P0)  # respond within 4 h: due 14:00
        traveller.move_to(at(16, 14, 1))
        assert sla_scan()["breached"] == 1
        service_request = _reprioritise(service_request, world, Priority.P1)  # due 12:00: moved, still past
        moved = clock(service_request, measure=RESPONSE)
        assert (moved.due_at, moved.breached_flagged_at) == (at(16, 12), at(16, 14, 1))
        assert sla_scan()["breached"] == 0
    assert _breaches(service_request).count() == 1


@pytest.mark.django_db
def test_a_target_lowered_and_raised_back_is_flagged_again_but_told_once(world_in_bihar):
    world = world_in_bihar
    with time_machine.travel(at(16, 10), tick=False) as traveller:
        service_request = file_request(world, priority=Priority.P1)
        traveller.move_to(at(16, 12, 1))
        assert sla_scan()["breached"] == 1
        traveller.move_to(at(16, 12, 10))
        service_request = _reprioritise(service_request, world, Priority.P3)  # re-armed: due Wed 18 Nov 10:00
        assert clock(service_request, measure=RESPONSE).breached_flagged_at is None
        traveller.move_to(at(16, 12, 20))
        service_request = _reprioritise(service_request, world, Priority.P1)  # back to the 12:00 target, past
        assert sla_scan()["breached"] == 1  # flagged again for the P1 target …
        assert clock(service_request, measure=RESPONSE).breached_flagged_at == at(16, 12, 20)
    assert _breaches(service_request).count() == 1  # … which was already told: one event, one notification


@pytest.mark.django_db
def test_a_revised_policy_reapplied_reevaluates_an_ended_clock_and_a_reopen_runs_under_it(world_in_bihar):
    world = world_in_bihar
    with time_machine.travel(at(16, 10), tick=False) as traveller:
        service_request = file_request(world, priority=Priority.P1)  # resolve within 12 h, 24×7: due 22:00
        service_request = services.request_triage(service_request, actor=world.pm, vendor=world.vendor_a)
        service_request = services.request_pick_up(service_request, actor=world.vendor_engineer)
        traveller.move_to(at(16, 22, 1))
        assert sla_scan()["breached"] == 2  # SLA and OLA resolution
        traveller.move_to(at(16, 23))
        service_request = services.request_resolve(service_request, actor=world.vendor_engineer, reason="Done")
        assert clock(service_request).breached is True

        traveller.move_to(at(17, 10))
        # The PM revises P1 to 48 h and re-applies it: the same priority's goals, so finished clocks are judged
        # by them too (a priority change would not touch them). Met at 23:00, due Wednesday 10:00: met on time.
        sla_policy_revise(priority=Priority.P1, actor=world.pm, resolution_goal=48, note="slower")
        sla_replay_apply(service_request, under="current", actor=world.pm)
        revised = clock(service_request)
        assert (revised.policy.version, revised.due_at, revised.breached) == (2, at(18, 10), False)
        assert revised.breached_flagged_at is None  # its due time moved into the future: re-armed
        assert sla_summary(service_request)["sla"]["resolution"]["status"] == ClockStatus.MET

        traveller.move_to(at(17, 11))
        service_request = services.request_reopen(service_request, actor=world.requester, reason="Still failing")
        reopened = clock(service_request)
        # Running again under v2 (48 h round the clock): 13 h counted on Monday, 35 h left from Tuesday 11:00.
        assert (reopened.policy.version, reopened.elapsed) == (2, timedelta(hours=13))
        assert reopened.due_at == at(18, 22)
        assert sla_summary(service_request)["sla"]["resolution"]["status"] == ClockStatus.ON_TRACK
        assert sla_scan()["breached"] == 0
        traveller.move_to(at(18, 22))
        assert sla_scan()["breached"] == 2  # the new target's real breach, SLA and OLA, recorded …
        assert sla_scan()["breached"] == 0  # … once
    assert _breaches(service_request, RESOLUTION).count() == 2  # Monday's (v1) and Wednesday's (v2)


# --- rule 2: a priority change retargets running clocks only ----------------------------------------------
@pytest.mark.django_db
def test_a_response_met_under_p3_stays_met_when_the_priority_is_raised_to_p1(world_in_bihar):
    world = world_in_bihar
    with time_machine.travel(at(16, 10), tick=False) as traveller:
        service_request = file_request(world, priority=Priority.P3)
        service_request = services.request_triage(service_request, actor=world.pm, vendor=world.vendor_a)
        traveller.move_to(at(16, 15))
        service_request = services.request_pick_up(service_request, actor=world.vendor_engineer)  # 5 h after filing
        traveller.move_to(at(16, 16))
        service_request = _reprioritise(service_request, world, Priority.P1)
        for which in (Clock.SLA, Clock.OLA):
            response = clock(service_request, which, RESPONSE)
            assert (response.met_at, response.breached, response.priority) == (at(16, 15), False, Priority.P3)
            assert response.due_at == at(18, 10)  # P3's 17 working hours, not P1's 2 h
        resolution = clock(service_request)  # still running: retargeted to P1's 12 h round the clock
        assert (resolution.priority, resolution.due_at) == (Priority.P1, at(16, 22))
        summary = sla_summary(service_request)
        assert (summary["sla"]["response"]["status"], summary["sla"]["resolution"]["status"]) == (
            ClockStatus.MET,
            ClockStatus.ON_TRACK,
        )
        # The replay agrees with what was stored: nothing would change.
        assert not any(change["changed"] for change in sla_replay(service_request))


@pytest.mark.django_db
def test_the_weekly_report_counts_an_ended_clock_under_the_priority_it_ended_under(world_in_bihar):
    from reports.selectors import report_weekly

    world = world_in_bihar
    with time_machine.travel(at(16, 10), tick=False) as traveller:
        service_request = file_request(world, priority=Priority.P1)
        service_request = services.request_triage(service_request, actor=world.pm, vendor=world.vendor_a)
        traveller.move_to(at(16, 13))
        service_request = services.request_pick_up(service_request, actor=world.vendor_engineer)  # 3 h: late for P1
        traveller.move_to(at(16, 14))
        service_request = _reprioritise(service_request, world, Priority.P3)
        response = clock(service_request, measure=RESPONSE)
        assert (response.breached, response.priority) == (True, Priority.P1)
        assert sla_summary(service_request)["sla"]["response"]["status"] == ClockStatus.BREACHED

    report = report_weekly(user=world.pm, week="2026-W47", now=at(23, 10))
    by_priority = {row.key: row.figures for row in report.breakdowns["priority"]}
    assert by_priority["P1"].sla_response_breached == 1
    assert "P3" not in by_priority or by_priority["P3"].sla_response_breached == 0
    assert [(b.priority, b.measure) for b in report.breaches] == [(Priority.P1, RESPONSE)]
    filtered = report_weekly(user=world.pm, week="2026-W47", priority="P1", now=at(23, 10))
    assert filtered.summary.sla_response_breached == 1


def test_the_governing_target_of_a_ledger_pure():
    from sla.ledger import Entry, governing_target

    t = [at(16, h) for h in range(10, 18)]
    p2, p1, p3, p1_revised = ("P2", 1), ("P1", 1), ("P3", 1), ("P1", 2)  # (priority, version)

    def governing(entries, measure=RESOLUTION):
        return governing_target(entries, measure=measure, family=lambda policy: policy[0])

    entries = [
        Entry("start", t[0], target=p2),
        Entry("stop", t[1], measure=RESPONSE),  # the response is met under P2
        Entry("retarget", t[2], target=p1),  # the resolution still runs: it moves to P1; the response keeps P2
        Entry("stop", t[3], measure=RESOLUTION),
        Entry("retarget", t[4], target=p3),  # both have ended now: a priority change moves neither …
    ]
    assert (governing(entries, RESPONSE), governing(entries)) == (p2, p1)
    assert governing([*entries, Entry("reopen", t[5], measure=RESOLUTION)]) == p3  # … until one runs again
    # P1's revised policy re-applied: the resolution ended under P1, so it is judged by the revision.
    assert governing([*entries[:4], Entry("retarget", t[4], target=p1_revised)]) == p1_revised
    assert governing([*entries[:4], Entry("retarget", t[4], target=p1_revised)], RESPONSE) == p2
    cancelled = [Entry("start", t[0], target=p2), Entry("cancel", t[1]), Entry("retarget", t[2], target=p1)]
    assert governing(cancelled) == p2
