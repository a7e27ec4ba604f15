"""Stored weeks: a finished week is read from its stored copy, which always says what a fresh computation says.

The fixed data set's week 2026-W47 is finished at NOW (Wednesday of W48); its copies are compared whole with
`report_weekly(now=…)`, which always computes."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reports.models import StoredWeek
from reports.selectors import report_weekly
from reports.stored import report_weeks_refresh, scope_key, usual_scopes
from requests_app import services
from requests_app.choices import Priority
from requests_app.models import Environment, ServiceRequest, Vendor
from requests_app.testing.workflow import file_request
from requests_app.tests import factories as f
from sla.choices import Measure
from sla.defaults import ensure_defaults
from sla.models import BusinessCalendar
from sla.services import sla_policy_revise, sla_replay_apply
from sla.tests.test_engine import at

from .conftest import NOW

pytestmark = pytest.mark.django_db
WEEK = "2026-W47"


def _arguments(filters: dict) -> dict:
    """report_weekly's keyword arguments for stored filters (ids)."""
    arguments = {}
    if "vendor_id" in filters:
        arguments["vendor"] = Vendor.objects.get(pk=filters["vendor_id"]).slug
    if "environment_id" in filters:
        arguments["environment"] = Environment.objects.get(pk=filters["environment_id"]).code
    if "priority" in filters:
        arguments["priority"] = filters["priority"]
    return arguments


def _row(**filters) -> StoredWeek:
    return StoredWeek.objects.get(week=WEEK, scope=scope_key(filters))


@pytest.fixture
def traveller():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def test_the_task_stores_the_week_that_just_closed_and_every_copy_equals_a_fresh_computation(dataset, traveller):
    counts = report_weeks_refresh()
    scopes = usual_scopes()
    assert len(scopes) == 1 + 2 + 2 + 5 + 2 * 5  # organisation, 2 vendors, 2 environments, 5 priorities, 2 × 5
    assert counts == {"added": len(scopes), "computed": len(scopes), "dropped": 0}
    assert not StoredWeek.objects.filter(week=WEEK, stale=True).exists()
    # Three hours on, the unsettled breaches (R4's resolution, R12's response) are later: read and fresh agree.
    traveller.shift(timedelta(hours=3))
    for filters in scopes:
        arguments = _arguments(filters)
        stored = report_weekly(user=None, week=WEEK, **arguments)
        assert stored == report_weekly(user=None, week=WEEK, now=NOW + timedelta(hours=3), **arguments), filters
    organisation = report_weekly(user=None, week=WEEK)
    unsettled = [b for b in organisation.breaches if b.settled_at is None]
    assert unsettled and organisation.summary.created > 0  # the copies hold real figures
    assert [b.late_seconds for b in unsettled] == sorted(
        [(NOW + timedelta(hours=3) - b.due_at).total_seconds() for b in organisation.breaches if b.settled_at is None],
        reverse=True,
    )


def test_a_vendor_lead_reads_the_same_copy_as_the_program_manager_filtering_by_their_vendor(dataset, traveller):
    world = dataset.world
    lead = report_weekly(user=world.vendor_lead, week=WEEK)
    assert StoredWeek.objects.filter(week=WEEK).count() == 1
    assert report_weekly(user=world.pm, week=WEEK, vendor="optit") == lead
    assert StoredWeek.objects.filter(week=WEEK).count() == 1
    assert lead == report_weekly(user=world.vendor_lead, week=WEEK, now=NOW)


def test_a_finished_week_is_read_from_its_copy_in_a_few_queries_that_never_count_clocks(dataset, traveller):
    report_weeks_refresh()
    pm = dataset.world.pm
    counts = []
    for arguments in ({}, {"vendor": "optit"}, {"environment": "punjab", "priority": "P2"}):
        with CaptureQueriesContext(connection) as queries:
            report_weekly(user=pm, week=WEEK, **arguments)
        sql = [q["sql"] for q in queries.captured_queries]
        assert not any("requests_app_requestevent" in q for q in sql), sql
        # The clocks are not counted: only the still-unsettled breaches' own clocks are looked up, by id.
        clocks = [q for q in sql if "sla_requestclock" in q]
        assert all('WHERE "sla_requestclock"."id" IN (' in q and "COUNT(" not in q for q in clocks), clocks
        counts.append(len(queries))
    # The row, the engineers, the vendors' and environments' names, the unsettled breaches' clocks, the
    # break-glass grants, plus the filters' own look-ups (a vendor slug, an environment code): the same handful
    # whatever the data holds.
    assert max(counts) <= 9, counts
    # Proof it is the copy: a change made behind the timeline's back (no event) is not seen …
    ServiceRequest.objects.filter(reference="R1").update(priority=Priority.P4)
    assert "P1" in {row.key for row in report_weekly(user=pm, week=WEEK).breakdowns["priority"]}
    # … while a fresh computation sees it (R1, W47's only P1, now counts under P4).
    assert "P1" not in {row.key for row in report_weekly(user=pm, week=WEEK, now=NOW).breakdowns["priority"]}


def test_a_comment_or_a_description_edited_now_leaves_the_finished_weeks_copy_current(dataset, traveller):
    world = dataset.world
    report_weekly(user=None, week=WEEK)
    services.request_comment(dataset.requests["R3"], actor=world.pm, body="Chasing the quota")
    services.request_update(dataset.requests["R3"], actor=world.pm, changes={"description": "More detail"})
    assert not _row().stale
    assert report_weekly(user=None, week=WEEK) == report_weekly(user=None, week=WEEK, now=NOW)


def test_a_change_to_how_a_finished_week_groups_a_request_restales_it_and_the_next_read_is_fresh(dataset, traveller):
    world = dataset.world
    before = report_weekly(user=None, week=WEEK)
    # R3 (filed in W47) moves to OptIT: W47 counts it under its vendor now.
    f.VendorOnboardingFactory(vendor=world.vendor_a, environment=dataset.bihar)
    services.request_reassign(dataset.requests["R3"], actor=world.pm, vendor=world.vendor_a, reason="Moved")
    assert _row().stale
    after = report_weekly(user=None, week=WEEK)
    assert after == report_weekly(user=None, week=WEEK, now=NOW)
    vendors = {row.key: row.figures.backlog for row in after.breakdowns["vendor"]}
    assert vendors != {row.key: row.figures.backlog for row in before.breakdowns["vendor"]}
    assert not _row().stale  # the read stored the recomputed copy


def test_a_change_to_a_request_filed_after_the_week_leaves_its_copy_alone(dataset, traveller):
    world = dataset.world
    report_weekly(user=None, week=WEEK)
    services.request_update(dataset.requests["R10"], actor=world.pm, changes={"title": "Renamed"}, reason="typo")
    assert not _row().stale  # R10 was filed in W48: nothing of it counts in W47
    services.request_update(dataset.requests["R9"], actor=world.pm, changes={"title": "Renamed"}, reason="typo")
    assert _row().stale  # R9 was filed on W47's last evening


def test_a_deleted_request_restales_its_weeks(dataset, traveller):
    before = report_weekly(user=None, week=WEEK)
    dataset.requests["R1"].delete()
    assert _row().stale
    after = report_weekly(user=None, week=WEEK)
    assert after.summary.created == before.summary.created - 1
    assert after == report_weekly(user=None, week=WEEK, now=NOW)


def test_new_engineers_and_renamed_vendors_are_read_afresh(dataset, traveller):
    world = dataset.world
    before = report_weekly(user=None, week=WEEK)
    f.VendorEngineerFactory(username="gwl-eng-2", vendor=world.vendor_b)
    Vendor.objects.filter(pk=world.vendor_a.pk).update(name="Zeta IT")  # now sorts after GWL
    after = report_weekly(user=None, week=WEEK)
    assert after == report_weekly(user=None, week=WEEK, now=NOW)
    assert after.engineers == before.engineers + 1
    assert [row.label for row in after.breakdowns["vendor"]][:2] == ["GWL", "Zeta IT"]


def test_a_copy_computed_while_a_change_came_in_is_not_stored(dataset, traveller, monkeypatch):
    from reports import stored

    report_weekly(user=None, week=WEEK)
    StoredWeek.objects.filter(pk=_row().pk).update(stale=True)
    computed = stored._computed

    def racing(*args):
        result = computed(*args)
        # A change to R3 lands while the week computes: the row is stale already, and still it is bumped.
        services.request_update(dataset.requests["R3"], actor=dataset.world.pm, changes={"title": "Late"}, reason="x")
        return result

    monkeypatch.setattr(stored, "_computed", racing)
    assert report_weekly(user=None, week=WEEK) is not None
    assert _row().stale  # the copy was refused: the change it may have missed restaled the row
    assert _row().computing_since is not None  # left for the next computation, which clears it
    monkeypatch.setattr(stored, "_computed", computed)
    assert report_weekly(user=None, week=WEEK) == report_weekly(user=None, week=WEEK, now=NOW)
    assert not _row().stale and _row().computing_since is None


def test_a_copy_is_not_stored_while_a_transaction_writing_when_it_began_is_still_running(dataset, traveller):
    import psycopg

    from reports import stored

    scope = stored._scope_of_filters({})
    week = stored.week_parse(WEEK, tz="Asia/Kolkata")
    settings = connection.settings_dict
    other = psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        password=settings["PASSWORD"],
        host=settings["HOST"],
        port=settings["PORT"],
    )
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_current_xact_id()::text::bigint")  # takes a transaction id: a writer
            (xid,) = cursor.fetchone()
        assert xid in stored._writers()
        assert stored._computed(scope, week, NOW, [xid])[-1] is False  # still running: its changes unseen
        other.commit()
        assert stored._computed(scope, week, NOW, [xid])[-1] is True  # finished before this snapshot
    finally:
        other.close()


def test_the_backfill_stores_past_weeks_and_restale_recomputes_them(dataset, traveller, capsys):
    call_command("report_weeks_backfill", "--weeks", "3")
    weeks = set(StoredWeek.objects.filter(stale=False).values_list("week", flat=True))
    assert weeks == {"2026-W45", "2026-W46", "2026-W47"}
    ServiceRequest.objects.filter(reference="R3").update(title="Loaded by hand")  # no event: the copies miss it

    def titles() -> set[str]:
        return {b.title for b in report_weekly(user=None, week=WEEK).breaches if b.reference == "R3"}

    assert titles() == {"Request R3"}
    capsys.readouterr()
    call_command("report_weeks_backfill", "--weeks", "1", "--restale")
    assert capsys.readouterr().out.startswith("0 added, 60 computed")  # 3 weeks × 20 scopes
    assert titles() == {"Loaded by hand"}
    assert report_weekly(user=None, week=WEEK) == report_weekly(user=None, week=WEEK, now=NOW)


@pytest.fixture
def world_in_bihar(world):
    ensure_defaults()
    world.environment.calendar = BusinessCalendar.objects.get(slug="bihar")
    world.environment.save()
    return world


def test_a_policy_revision_applied_to_open_clocks_restales_the_weeks_it_touches(world_in_bihar):
    world = world_in_bihar
    with time_machine.travel(at(16, 10), tick=False) as traveller:
        early = file_request(world, priority=Priority.P2)  # never picked up: its response clock runs past due
        early = services.request_triage(early, actor=world.pm, vendor=world.vendor_a)
        traveller.move_to(at(25, 12))  # Wednesday of W48
        report = report_weekly(user=None, week=WEEK)
        assert report.summary.sla_response_breached == 1
        report_weekly(user=None, week="2026-W46")  # a week before the request: not touched by it
        sla_policy_revise(priority=Priority.P2, actor=world.pm, response_goal=400, note="much slower")
        sla_replay_apply(early, under="current", actor=world.pm)
        assert _row().stale
        assert not StoredWeek.objects.get(week="2026-W46").stale
        after = report_weekly(user=None, week=WEEK)
        assert after == report_weekly(user=None, week=WEEK, now=at(25, 12))
        assert after.summary.sla_response_breached == 0  # re-judged: due weeks from now


def test_the_beat_task_stores_the_closed_week_every_ten_minutes(dataset, traveller):
    from celery.schedules import crontab

    from portal.celery import app
    from reports.tasks import report_weeks_refresh as report_weeks_refresh_task

    entry = app.conf.beat_schedule["reports-weeks-refresh"]
    assert entry["task"] == report_weeks_refresh_task.name == "reports.tasks.report_weeks_refresh"
    assert entry["schedule"] == crontab(minute="*/10")
    result = report_weeks_refresh_task.apply()
    assert result.successful() and result.result["computed"] == len(usual_scopes())
    assert set(StoredWeek.objects.values_list("week", flat=True)) == {WEEK}
    assert report_weeks_refresh_task.apply().result == {"added": 0, "computed": 0, "dropped": 0}  # nothing stale


def test_picking_up_resolving_and_commenting_now_leave_last_weeks_copy_current(world_in_bihar):
    """Work done now on requests of last week — an overdue one picked up, one resolved, one reassigned within its
    vendor, a comment — keeps last week's copy current, and the copy (its breach now settled) is still what a fresh
    computation says. Without the week-end backlog and the settled breaches re-read, each of these restaled it."""
    world = world_in_bihar
    with time_machine.travel(at(16, 10), tick=False) as traveller:
        late = services.request_triage(file_request(world), actor=world.pm, vendor=world.vendor_a)
        traveller.move_to(at(17, 10))
        working = services.request_triage(file_request(world), actor=world.pm, vendor=world.vendor_a)
        working = services.request_pick_up(working, actor=world.vendor_engineer)
        other = f.VendorEngineerFactory(vendor=world.vendor_a)
        traveller.move_to(at(25, 12))  # Wednesday of W48
        before = report_weekly(user=None, week=WEEK)
        assert before.summary.sla_response_breached == 1 and before.summary.backlog == 2
        # `late`'s response and resolution and `working`'s resolution fell due in W47 and still run.
        assert {(b.reference, b.measure, b.settled_at) for b in before.breaches} == {
            (late.reference, Measure.RESPONSE, None),
            (late.reference, Measure.RESOLUTION, None),
            (working.reference, Measure.RESOLUTION, None),
        }
        week_later = report_weekly(user=None, week="2026-W48", now=at(25, 12))

        traveller.move_to(at(25, 15))
        services.request_pick_up(late, actor=world.vendor_engineer)
        services.request_comment(working, actor=world.requester, body="Any news?")
        working = services.request_reassign(working, actor=world.vendor_lead, assignee=other, reason="Cover")
        services.request_resolve(working, actor=other, reason="Done")
        assert not _row().stale

        after = report_weekly(user=None, week=WEEK)
        assert not _row().stale  # served from the copy
        assert after == report_weekly(user=None, week=WEEK, now=at(25, 15))
        assert after.backlog_by_state == before.backlog_by_state and after.summary == before.summary
        # The breaches met now (the pick-up, the resolution) are settled now; the other is late until now.
        assert {(b.reference, b.measure, b.settled_at) for b in after.breaches} == {
            (late.reference, Measure.RESPONSE, at(25, 15)),
            (late.reference, Measure.RESOLUTION, None),
            (working.reference, Measure.RESOLUTION, at(25, 15)),
        }
        # The current week builds on the copy and counts the work done now.
        current = report_weekly(user=None, week="2026-W48", now=at(25, 15))
        assert current.previous == before.summary and current.summary.resolved == week_later.summary.resolved + 1


def test_a_pause_or_resume_now_of_a_clock_overdue_since_a_finished_week_restales_that_week(world_in_bihar):
    """A clock running past its due time counts as breached in the week it fell due; paused, it does not. So asking
    the requester now stops last week's breach counting, and their answer brings it back: each restales the week
    the clock fell due in (and not the weeks before)."""
    world = world_in_bihar
    with time_machine.travel(at(16, 10), tick=False) as traveller:
        working = services.request_triage(file_request(world), actor=world.pm, vendor=world.vendor_a)
        working = services.request_pick_up(working, actor=world.vendor_engineer)
        traveller.move_to(at(25, 12))  # Wednesday of W48: the resolution clock ran out in W47 and still runs
        assert report_weekly(user=None, week=WEEK).summary.sla_resolution_breached == 1
        report_weekly(user=None, week="2026-W46")  # before the request

        traveller.move_to(at(25, 13))
        working = services.request_request_info(working, actor=world.vendor_engineer, reason="Which namespace?")
        assert _row().stale and not StoredWeek.objects.get(week="2026-W46").stale
        paused = report_weekly(user=None, week=WEEK)
        assert paused == report_weekly(user=None, week=WEEK, now=at(25, 13))
        assert paused.summary.sla_resolution_breached == 0  # paused: not counted while it stands still

        traveller.move_to(at(25, 14))
        services.request_provide_info(working, actor=world.requester, reason="This one")
        assert _row().stale
        resumed = report_weekly(user=None, week=WEEK)
        assert resumed == report_weekly(user=None, week=WEEK, now=at(25, 14))
        assert resumed.summary.sla_resolution_breached == 1


def test_a_cut_breach_list_is_served_until_a_breach_left_out_would_overtake_its_last_entry(
    dataset, traveller, monkeypatch
):
    """W47 lists its two latest breaches: R4's resolution (unsettled, 146 h late at NOW) and R11's (settled, 144 h).
    R12's response, left out, is unsettled and 94 h late: the copy serves the cut list until R12 would overtake
    R11, 50 hours on, and is recomputed then — each read equal to a fresh computation."""
    from reports.selectors import queries

    monkeypatch.setattr(queries, "BREACH_LIST_LIMIT", 2)
    stored = report_weekly(user=None, week=WEEK)
    assert [b.reference for b in stored.breaches] == ["R4", "R11"] and stored.breaches_total == 5
    computed_at = _row().computed_at
    traveller.shift(timedelta(hours=49))
    read = report_weekly(user=None, week=WEEK)
    assert _row().computed_at == computed_at  # served from the copy
    assert read == report_weekly(user=None, week=WEEK, now=NOW + timedelta(hours=49))
    traveller.shift(timedelta(hours=2))
    read = report_weekly(user=None, week=WEEK)
    assert _row().computed_at != computed_at  # R12 is now later than R11: recomputed
    assert [b.reference for b in read.breaches] == ["R4", "R12"]
    assert read == report_weekly(user=None, week=WEEK, now=NOW + timedelta(hours=51))
