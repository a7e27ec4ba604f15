"""Pause reasons the policy decides, the reopen gap shown as paused time, and the program manager's due-date
extensions, with exact times.

Bihar's calendar (Mon–Fri 09:30–18:00 IST). A P2 filed on Monday 16 Nov 2026 at 10:00 has 8 h 30 to respond and
25 h 30 to resolve: due Thursday 19 Nov at 10:00 (8 h Monday, 8 h 30 Tuesday, 8 h 30 Wednesday, 30 min Thursday)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from portal.exceptions import Forbidden, ValidationFailed
from requests_app import services
from requests_app.choices import EventKind, Priority, RequestState
from requests_app.models import RequestEvent
from requests_app.testing.workflow import file_request
from sla.choices import Clock, ClockStatus, LedgerKind, Measure, PauseReason
from sla.defaults import ensure_defaults
from sla.models import BusinessCalendar, ClockLedgerEntry
from sla.selectors import sla_explain, sla_extensions, sla_holds, sla_summary
from sla.services import sla_extend, sla_policy_revise, sla_replay, sla_scan
from sla.tests.test_engine import at, clock

RESPONSE, RESOLUTION = Measure.RESPONSE, Measure.RESOLUTION
THIRD_PARTY, FREEZE, BLOCKED = PauseReason.WAITING_ON_THIRD_PARTY, PauseReason.CHANGE_FREEZE, PauseReason.BLOCKED


@pytest.fixture
def bihar_world(world):
    ensure_defaults()
    world.environment.calendar = BusinessCalendar.objects.get(slug="bihar")
    world.environment.save()
    world.pm.first_name, world.pm.last_name = "Tammy", ""
    world.pm.save()
    return world


def _pauses(service_request) -> list[tuple[str, str]]:
    rows = ClockLedgerEntry.objects.filter(service_request=service_request, clock=Clock.SLA, kind=LedgerKind.PAUSE)
    return list(rows.values_list("kind", "reason"))


# --- rule 1: pause reasons the policy decides ------------------------------------------------------------
@pytest.mark.django_db
def test_a_third_party_wait_and_a_requester_wait_pause_under_a_policy_that_says_so_and_read_by_reason(bihar_world):
    world = bihar_world
    sla_policy_revise(
        priority=Priority.P2,
        actor=world.pm,
        note="Third parties pause",
        pause_reasons=[PauseReason.WAITING_ON_REQUESTER, THIRD_PARTY],
    )
    with time_machine.travel(at(16, 10), tick=False) as traveller:
        service_request = file_request(world)
        assert clock(service_request).due_at == at(19, 10)
        traveller.move_to(at(16, 11))
        service_request = services.request_triage(service_request, actor=world.pm, vendor=world.vendor_a)
        traveller.move_to(at(16, 13))
        service_request = services.request_pick_up(service_request, actor=world.vendor_engineer)

        service_request = services.request_escalate(
            service_request,
            actor=world.vendor_engineer,
            reason="The DNS provider must delegate the zone",
            pause_reason=THIRD_PARTY,
        )
        assert service_request.state == RequestState.BLOCKED
        assert clock(service_request).paused_since == at(16, 13)
        assert sla_summary(service_request)["sla"]["resolution"]["status"] == ClockStatus.PAUSED
        traveller.move_to(at(16, 16))
        service_request = services.request_unblock(service_request, actor=world.pm, reason="Delegated")
        traveller.move_to(at(16, 16, 30))
        service_request = services.request_request_info(service_request, actor=world.vendor_engineer, reason="Which?")
        traveller.move_to(at(17, 10, 20))  # 1 h 30 on Monday, 50 min on Tuesday morning
        service_request = services.request_provide_info(service_request, actor=world.requester, reason="This one")

        resolution = clock(service_request)
        # 3 h waiting on the DNS provider and 2 h 20 waiting on the requester: 5 h 20 of working time later.
        assert resolution.paused == timedelta(hours=5, minutes=20)
        assert resolution.due_at == at(19, 15, 20)
        assert clock(service_request, measure=RESPONSE).met_at == at(16, 13)  # met before either hold
        assert _pauses(service_request) == [("pause", THIRD_PARTY), ("pause", PauseReason.WAITING_ON_REQUESTER)]
        event = RequestEvent.objects.get(service_request=service_request, kind="escalate")
        assert event.payload == {"pause_reason": THIRD_PARTY}

        holds = sla_holds(service_request)
        assert holds[RESOLUTION] == [
            ("waiting on a third party", timedelta(hours=3)),
            ("waiting on requester", timedelta(hours=2, minutes=20)),
        ]
        assert "paused 5 h 20 min: waiting on a third party 3 h, waiting on requester 2 h 20 min" in " ".join(
            sla_explain(service_request)
        )


@pytest.mark.django_db
def test_an_escalation_pauses_only_for_the_reasons_the_policy_names(bihar_world):
    world = bihar_world
    with time_machine.travel(at(16, 10), tick=False) as traveller:
        # The default policy pauses for the requester only: a change freeze or a plain blocker keeps counting.
        frozen = file_request(world)
        traveller.move_to(at(16, 11))
        frozen = services.request_triage(frozen, actor=world.pm, vendor=world.vendor_a)
        frozen = services.request_escalate(frozen, actor=world.vendor_engineer, reason="Freeze", pause_reason=FREEZE)
        assert (clock(frozen).paused_since, clock(frozen).running_since) == (None, at(16, 10))
        assert _pauses(frozen) == []

        sla_policy_revise(priority=Priority.P2, actor=world.pm, note="Freezes pause", pause_reasons=[FREEZE])
        traveller.move_to(at(16, 12))
        held = file_request(world)
        traveller.move_to(at(16, 13))
        held = services.request_triage(held, actor=world.pm, vendor=world.vendor_a)
        held = services.request_escalate(held, actor=world.vendor_engineer, reason="Freeze", pause_reason=FREEZE)
        blocked = file_request(world)
        blocked = services.request_triage(blocked, actor=world.pm, vendor=world.vendor_a)
        blocked = services.request_escalate(blocked, actor=world.vendor_engineer, reason="Stuck")  # plain blocker
        traveller.move_to(at(17, 13))  # a working day later
        held = services.request_unblock(held, actor=world.pm, reason="Freeze over")
        blocked = services.request_unblock(blocked, actor=world.pm, reason="Unstuck")

    assert _pauses(held) == [("pause", FREEZE)]
    # Filed 12:00, paused from 13:00 to 13:00 the next day (8 h 30): due Thursday 12:00 + 8 h 30 = Friday 12:00.
    assert clock(held).paused == timedelta(hours=8, minutes=30)
    assert clock(held).due_at == at(20, 12)
    assert _pauses(blocked) == []  # "blocked" is not among this policy's pause reasons
    assert clock(blocked).due_at == at(19, 13)
    resumes = ClockLedgerEntry.objects.filter(service_request=blocked, kind=LedgerKind.RESUME)
    assert not resumes.exists()  # nothing paused, nothing resumed


@pytest.mark.django_db
def test_an_escalation_with_an_unknown_reason_is_refused(bihar_world):
    world = bihar_world
    service_request = services.request_triage(file_request(world), actor=world.pm, vendor=world.vendor_a)
    with pytest.raises(ValidationFailed) as refused:
        services.request_escalate(service_request, actor=world.vendor_engineer, reason="x", pause_reason="lunch")
    assert "pause_reason" in refused.value.fields


@pytest.mark.django_db
def test_the_reopen_gap_is_shown_as_paused_time_and_never_counted(bihar_world):
    world = bihar_world
    with time_machine.travel(at(16, 10), tick=False) as traveller:
        service_request = services.request_triage(file_request(world), actor=world.pm, vendor=world.vendor_a)
        service_request = services.request_pick_up(service_request, actor=world.vendor_engineer)
        traveller.move_to(at(18, 10))
        service_request = services.request_resolve(service_request, actor=world.vendor_engineer, reason="Done")
        assert clock(service_request).elapsed == timedelta(hours=17)  # Monday 8 h, Tuesday 8 h 30, Wednesday 30 min
        traveller.move_to(at(19, 10))  # Wednesday 10:00 to Thursday 10:00: 8 h 30 of working time
        service_request = services.request_reopen(service_request, actor=world.requester, reason="Still failing")
        reopened = clock(service_request)
        assert (reopened.elapsed, reopened.running_since) == (timedelta(hours=17), at(19, 10))
        # The gap moves the due time by itself: 8 h 30 left, due Thursday 10:00 + 8 h 30 = Friday 10:00.
        assert reopened.due_at == at(20, 10)
        assert sla_holds(service_request)[RESOLUTION] == [("resolved, then reopened", timedelta(hours=8, minutes=30))]
        assert "paused 8 h 30 min: resolved, then reopened" in " ".join(sla_explain(service_request))


# --- rule 2: the program manager's extensions ------------------------------------------------------------
@pytest.mark.django_db
def test_the_pm_extends_the_resolution_due_by_two_days_and_replay_keeps_it(bihar_world):
    world = bihar_world
    with time_machine.travel(at(16, 10), tick=False) as traveller:
        service_request = services.request_triage(file_request(world), actor=world.pm, vendor=world.vendor_a)
        traveller.move_to(at(16, 12))
        extended = sla_extend(
            service_request,
            actor=world.pm,
            measure=RESOLUTION,
            by=timedelta(days=2),
            reason="waiting on vendor hardware",
        )
        assert extended.due_at == at(21, 10)  # Thursday 10:00 + 2 days
        assert clock(service_request, measure=RESPONSE).due_at == at(17, 10)  # the other clock is untouched
        assert clock(service_request, Clock.OLA).due_at == at(19, 10)  # and so is the vendor's OLA
        service_request.refresh_from_db()
        assert service_request.resolution_due_at == at(21, 10)

        entry = ClockLedgerEntry.objects.get(service_request=service_request, kind=LedgerKind.EXTEND)
        assert (entry.clock, entry.measure, entry.extension, entry.reason) == (
            Clock.SLA,
            RESOLUTION,
            timedelta(days=2),
            "waiting on vendor hardware",
        )
        event = RequestEvent.objects.get(service_request=service_request, kind=EventKind.SLA_EXTENDED)
        assert (event.actor, event.message, event.payload["by_seconds"]) == (
            world.pm,
            "waiting on vendor hardware",
            2 * 86400,
        )
        assert sla_extensions(service_request) == [
            "Resolution due extended by 2 days by Tammy: waiting on vendor hardware"
        ]
        assert not any(change["changed"] for change in sla_replay(service_request))  # the ledger keeps it

        # A pause after the extension moves the extended due time by exactly the paused working time.
        service_request = services.request_pick_up(service_request, actor=world.vendor_engineer)
        traveller.move_to(at(16, 13))
        service_request = services.request_request_info(service_request, actor=world.vendor_engineer, reason="?")
        traveller.move_to(at(16, 15))
        service_request = services.request_provide_info(service_request, actor=world.requester, reason="!")
        assert clock(service_request).due_at == at(21, 12)


@pytest.mark.django_db
def test_an_extension_to_a_new_instant_rearms_a_breach_flag_and_the_new_due_is_flagged_once(bihar_world):
    world = bihar_world
    with time_machine.travel(at(16, 10), tick=False) as traveller:
        service_request = file_request(world, priority=Priority.P1)  # respond within 2 h, 24×7: due 12:00
        traveller.move_to(at(16, 12, 1))
        assert sla_scan()["breached"] == 1
        sla_extend(service_request, actor=world.pm, measure=RESPONSE, until=at(16, 15), reason="Vendor on site 14:30")
        rearmed = clock(service_request, measure=RESPONSE)
        assert (rearmed.due_at, rearmed.breached_flagged_at) == (at(16, 15), None)
        assert sla_summary(service_request)["sla"]["response"]["status"] != ClockStatus.BREACHED
        traveller.move_to(at(16, 15))
        assert sla_scan()["breached"] == 1
        assert sla_scan()["breached"] == 0
    breaches = RequestEvent.objects.filter(service_request=service_request, kind=EventKind.SLA_BREACHED)
    assert breaches.count() == 2  # the original target, then the extended one


@pytest.mark.django_db
def test_only_the_pm_extends_and_bad_input_is_refused(bihar_world):
    world = bihar_world
    with time_machine.travel(at(16, 10), tick=False) as traveller:
        service_request = services.request_triage(file_request(world), actor=world.pm, vendor=world.vendor_a)
        for outsider in (world.vendor_lead, world.approver, world.requester):
            with pytest.raises(Forbidden):
                sla_extend(service_request, actor=outsider, measure=RESOLUTION, by=timedelta(hours=1), reason="x")
        traveller.move_to(at(16, 11))
        refusals = [
            ({"by": timedelta(0)}, "by"),
            ({"by": -timedelta(hours=1)}, "by"),
            ({"until": at(16, 10)}, "until"),  # in the past
            ({"until": at(18, 10)}, "until"),  # before the current due time
            ({}, "by"),  # neither
            ({"by": timedelta(hours=1), "until": at(20, 10)}, "by"),  # both
            ({"by": timedelta(hours=1), "measure": "lunch"}, "measure"),
        ]
        for arguments, field in refusals:
            with pytest.raises(ValidationFailed) as refused:
                sla_extend(service_request, actor=world.pm, **{"measure": RESOLUTION, "reason": "x", **arguments})
            assert field in refused.value.fields, arguments
        with pytest.raises(ValidationFailed) as refused:
            sla_extend(service_request, actor=world.pm, measure=RESOLUTION, by=timedelta(hours=1), reason=" ")
        assert "reason" in refused.value.fields
        service_request = services.request_pick_up(service_request, actor=world.vendor_engineer)
        with pytest.raises(ValidationFailed) as refused:  # the response clock is met: it has ended
            sla_extend(service_request, actor=world.pm, measure=RESPONSE, by=timedelta(hours=1), reason="x")
        assert "measure" in refused.value.fields
    assert not ClockLedgerEntry.objects.filter(kind=LedgerKind.EXTEND).exists()


@pytest.mark.django_db
def test_replaying_the_sla_clock_alone_gives_the_figures_of_the_whole_replay(bihar_world):
    """`sla_holds` replays only the requester's SLA (`sla_compute(clocks=…)`): each clock replays its own rows, so
    its figures are those the whole replay (SLA and OLA) gives, to the microsecond, whatever the ledger holds."""
    from sla.services import sla_compute

    world = bihar_world
    with time_machine.travel(at(16, 10), tick=False) as traveller:
        service_request = services.request_triage(file_request(world), actor=world.pm, vendor=world.vendor_a)
        service_request = services.request_pick_up(service_request, actor=world.vendor_engineer)
        traveller.move_to(at(16, 13, 7))
        service_request = services.request_request_info(service_request, actor=world.vendor_engineer, reason="?")
        traveller.move_to(at(17, 11, 3))
        service_request = services.request_provide_info(service_request, actor=world.requester, reason="!")
        sla_extend(service_request, actor=world.pm, measure=RESOLUTION, by=timedelta(hours=5), reason="Hardware")
        traveller.move_to(at(18, 10))
        service_request = services.request_reassign(service_request, actor=world.pm, vendor=world.vendor_b)
        service_request = services.request_pick_up(service_request, actor=world.other_vendor_engineer)
        service_request = services.request_resolve(service_request, actor=world.other_vendor_engineer, reason="Ok")
        traveller.move_to(at(19, 10))
        service_request = services.request_reopen(service_request, actor=world.requester, reason="Still failing")
        whole = sla_compute(service_request)
        alone = sla_compute(service_request, clocks=(Clock.SLA,))
    assert alone == {key: value for key, value in whole.items() if key[0] == Clock.SLA}
    assert len(alone) == 2 and len(whole) == 4
    figures = alone[(Clock.SLA, RESOLUTION)][0]
    assert figures.pauses and figures.reopen_gaps and figures.extended == timedelta(hours=5)
    assert whole[(Clock.OLA, RESOLUTION)][0] != figures  # the OLA's own figures, left out
