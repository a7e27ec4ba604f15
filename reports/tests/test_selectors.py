"""`report_weekly` against hand-computed figures for the fixed data set in conftest.py (week 2026-W47, IST).

Times below are hours; `h(x)` turns them into the seconds the report returns. Percentiles interpolate linearly
at position fraction × (n − 1) of the sorted values, exactly as PostgreSQL's percentile_cont does."""

from __future__ import annotations

import zoneinfo
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.exceptions import Forbidden, ValidationFailed
from reports.aggregates import percentile_linear
from reports.selectors import Figures, report_dashboard, report_week_default, report_weekly
from requests_app.choices import EventKind, Priority, RequestType
from sla.choices import Clock, Measure
from sla.services import sla_columns_sync

from .conftest import NOW, S, both, ist, make_event, make_request

pytestmark = pytest.mark.django_db


def h(hours: float) -> float:
    return hours * 3600


def week47(user, **kwargs):
    return report_weekly(user=user, week="2026-W47", now=NOW, **kwargs)


def test_summary_figures_match_the_hand_computed_ones(dataset):
    report = week47(dataset.world.pm)

    assert (report.start, report.end) == (ist(16), ist(23))
    assert asdict(report.summary) == asdict(
        Figures(
            # R1 R2 R3 R5 R6 R9 R12 (R9 at 23:30 on Sunday is in; R10 at 00:00 Monday is not)
            created=7,
            triaged=4,  # R1 R2 R3 R12
            resolved=2,  # R1 R2 (R11 resolved on the 24th)
            closed=1,  # R1 (R8 closed in W46, R11 in W48)
            rejected=1,  # R5
            cancelled=1,  # R6
            reopened=1,  # R2
            sla_response_met=2,  # R1 R2
            sla_response_breached=2,  # R3 met late, R12 still running past its due time
            sla_response_compliance=50.0,
            sla_resolution_met=1,  # R2
            sla_resolution_breached=3,  # R1 met late, R4 running overdue, R11 met late in W48 but due in W47
            sla_resolution_compliance=25.0,  # R7 is overdue but paused: not breached
            ola_met=2,  # response R1 R2
            ola_breached=6,  # response R3 R12; resolution R1 R2 (tighter OLA) R4 R11
            ola_compliance=25.0,
            pick_up_wall_p50=h(4),  # [1, 4, 48]
            pick_up_wall_p90=h(39.2),  # 4 + 0.8 × 44
            pick_up_working_p50=h(3.5),  # [1, 3.5, 16]
            pick_up_working_p90=h(13.5),  # 3.5 + 0.8 × 12.5
            resolve_wall_p50=h(40),  # [24, 56]
            resolve_wall_p90=h(52.8),  # 24 + 0.9 × 32
            resolve_working_p50=h(22),  # [20, 24]
            resolve_working_p90=h(23.6),  # 20 + 0.9 × 4
            backlog=7,  # R2 R3 R4 R7 R9 R11 R12
            open_per_engineer=2.0,  # (OptIT 3 + GWL 3) ÷ (2 + 1 engineers); R9 has no vendor
            csat_count=1,  # R1, rated 4 when confirmed
            csat_average=4.0,
        )
    )


def test_previous_week_and_change(dataset):
    report = week47(dataset.world.pm)

    assert report.previous_week == "2026-W46"
    assert asdict(report.previous) == asdict(
        Figures(
            created=3,  # R4 R8 R11
            triaged=3,
            resolved=1,  # R8
            closed=1,  # R8
            sla_response_met=3,  # R4 R8 R11
            sla_response_compliance=100.0,
            sla_resolution_met=1,  # R8
            sla_resolution_compliance=100.0,
            ola_met=4,
            ola_compliance=100.0,
            pick_up_wall_p50=h(2),  # [2, 2, 24]
            pick_up_wall_p90=h(19.6),  # 2 + 0.8 × 22
            pick_up_working_p50=h(2),  # [2, 2, 8]
            pick_up_working_p90=h(6.8),
            resolve_wall_p50=h(10),
            resolve_wall_p90=h(10),
            resolve_working_p50=h(10),
            resolve_working_p90=h(10),
            backlog=3,  # R4 R7 R11 at Mon 16 Nov 00:00
            open_per_engineer=1.0,  # 3 ÷ 3
            csat_count=1,  # R8, rated 2
            csat_average=2.0,
        )
    )
    assert report.change["created"] == 4
    assert report.change["backlog"] == 4
    assert report.change["sla_response_compliance"] == -50.0
    assert report.change["ola_compliance"] == -75.0
    assert report.change["pick_up_wall_p50"] == h(2)
    assert report.change["open_per_engineer"] == 1.0
    assert (report.change["csat_count"], report.change["csat_average"]) == (0, 2.0)
    assert set(report.change) == set(asdict(report.summary))


def test_backlog_by_age_and_by_state(dataset):
    report = week47(dataset.world.pm)

    assert report.backlog_at == ist(23)
    assert report.backlog_by_age == {
        "lt_1d": 1,  # R9, 30 minutes old
        "1_3d": 1,  # R12, 1 d 14 h
        "3_7d": 2,  # R2 5 d 15 h, R3 4 d 12 h
        "1_2w": 2,  # R4 11 d 14 h, R11 9 d 14 h
        "gt_2w": 1,  # R7 21 d 14 h
    }
    assert report.backlog_by_state == {
        "submitted": 1,  # R9
        "pending_approval": 0,
        "queued": 1,  # R12
        "in_progress": 2,  # R3; R11 (closed since: its last event before the 23rd moved it to in_progress)
        "waiting_on_requester": 1,  # R7
        "blocked": 1,  # R4
        "resolved": 1,  # R2, awaiting confirmation
    }


def test_breakdown_by_vendor(dataset):
    rows = {row.key: row for row in week47(dataset.world.pm).breakdowns["vendor"]}

    assert [row.label for row in week47(dataset.world.pm).breakdowns["vendor"]] == ["GWL", "OptIT", "No vendor yet"]
    optit, gwl, none = rows["optit"].figures, rows["gwl"].figures, rows[""].figures
    assert (optit.created, optit.triaged, optit.resolved, optit.closed, optit.rejected, optit.reopened) == (
        3,
        2,
        2,
        1,
        1,
        1,
    )
    assert (optit.sla_response_met, optit.sla_response_breached, optit.sla_response_compliance) == (2, 0, 100.0)
    assert (optit.sla_resolution_met, optit.sla_resolution_breached) == (1, 2)
    assert optit.sla_resolution_compliance == 33.33
    assert (optit.ola_met, optit.ola_breached, optit.ola_compliance) == (2, 3, 40.0)
    assert (optit.pick_up_wall_p50, optit.pick_up_wall_p90) == (h(2.5), h(3.7))  # [1, 4]
    assert (optit.backlog, optit.open_per_engineer) == (3, 1.5)  # R2 R7 R11 over 2 engineers
    assert rows["optit"].backlog_by_age == {"lt_1d": 0, "1_3d": 0, "3_7d": 1, "1_2w": 1, "gt_2w": 1}

    assert (gwl.created, gwl.triaged, gwl.resolved) == (2, 2, 0)
    assert (gwl.sla_response_met, gwl.sla_response_breached, gwl.sla_response_compliance) == (0, 2, 0.0)
    assert (gwl.sla_resolution_breached, gwl.ola_breached, gwl.ola_compliance) == (1, 3, 0.0)
    assert (gwl.pick_up_wall_p50, gwl.pick_up_wall_p90) == (h(48), h(48))
    assert (gwl.backlog, gwl.open_per_engineer) == (3, 3.0)

    assert (none.created, none.cancelled, none.backlog, none.open_per_engineer) == (2, 1, 1, None)


def test_breakdowns_by_environment_priority_and_type(dataset):
    report = week47(dataset.world.pm)
    environment = {row.key: row.figures for row in report.breakdowns["environment"]}
    priority = {row.key: row.figures for row in report.breakdowns["priority"]}
    kind = {row.key: row.figures for row in report.breakdowns["request_type"]}

    assert {k: f.created for k, f in environment.items()} == {"punjab": 4, "bihar": 3}
    assert {k: f.backlog for k, f in environment.items()} == {"punjab": 5, "bihar": 2}
    assert environment["bihar"].sla_response_compliance == 0.0  # R3 and R12 both late
    assert [row.key for row in report.breakdowns["priority"]] == ["P0", "P1", "P2", "P3", "P4"]
    assert {k: f.created for k, f in priority.items()} == {"P0": 1, "P1": 1, "P2": 4, "P3": 0, "P4": 1}
    assert priority["P3"].sla_resolution_breached == 1  # R4
    assert (priority["P2"].pick_up_wall_p50, priority["P2"].pick_up_wall_p90) == (h(26), h(43.6))  # [4, 48]
    assert kind["Troubleshooting"].created == 1
    assert kind["Troubleshooting"].sla_resolution_breached == 3  # R1 R4 R11
    assert kind["Troubleshooting"].backlog == 2  # R4 R11
    # The breakdowns add up to the summary.
    for dimension in ("vendor", "environment", "priority", "request_type"):
        rows = report.breakdowns[dimension]
        assert sum(row.figures.created for row in rows) == report.summary.created
        assert sum(row.figures.backlog for row in rows) == report.summary.backlog
        assert sum(row.figures.sla_resolution_breached for row in rows) == report.summary.sla_resolution_breached


def test_traction_and_compliance_trend_over_eight_weeks(dataset):
    report = week47(dataset.world.pm)

    assert [(w.week, w.created, w.resolved) for w in report.traction] == [
        ("2026-W40", 0, 0),
        ("2026-W41", 0, 0),
        ("2026-W42", 0, 0),
        ("2026-W43", 0, 0),
        ("2026-W44", 1, 0),  # R7 on Sunday 1 Nov
        ("2026-W45", 0, 0),
        ("2026-W46", 3, 1),
        ("2026-W47", 7, 2),
    ]
    trend = {
        w.week: (w.sla_response_compliance, w.sla_resolution_compliance, w.ola_compliance)
        for w in report.compliance_trend
    }
    assert trend["2026-W44"] == (None, None, None)
    assert trend["2026-W45"] == (100.0, None, 100.0)  # R7's response, met on Monday 2 Nov
    assert trend["2026-W46"] == (100.0, 100.0, 100.0)
    assert trend["2026-W47"] == (50.0, 25.0, 25.0)


def test_breach_list_with_lateness_and_reason(dataset):
    report = week47(dataset.world.pm)

    assert report.breaches_total == 5
    assert [(b.reference, b.vendor, b.priority, b.measure, b.late_seconds, b.reason) for b in report.breaches] == [
        ("R4", "GWL", "P3", "resolution", h(146), "Need firewall change"),  # still running at NOW
        ("R11", "OptIT", "P2", "resolution", h(144), "Which namespace?"),
        ("R12", "GWL", "P0", "response", h(93) + 50 * 60, "—"),
        ("R3", "GWL", "P2", "response", h(24), "Waiting for cluster quota"),  # the comment after the due time is not it
        ("R1", "OptIT", "P1", "resolution", h(12), "—"),
    ]
    assert report.breaches[0].settled_at is None
    assert report.breaches[1].settled_at == ist(24, 10)


@pytest.mark.parametrize("limit", [1000, 5, 2])
@pytest.mark.parametrize(
    "filters", [{}, {"vendor": "optit"}, {"vendor": "gwl", "priority": "P2"}, {"environment": "punjab"}]
)
def test_the_breach_total_is_the_weeks_breached_sla_clocks_counted_once(dataset, monkeypatch, limit, filters):
    """However short the list is cut, its total is every SLA clock breached in the week for the scope (as the database
    counts them, here), taken from the week's own breached counts: no query counts them a second time."""
    from reports.selectors import queries
    from reports.selectors.queries import _breached, _clocks, _scope

    monkeypatch.setattr(queries, "BREACH_LIST_LIMIT", limit)
    with CaptureQueriesContext(connection) as captured:
        report = week47(dataset.world.pm, **filters)

    scope = _scope(
        dataset.world.pm, **{"vendor": None, "environment": None, "priority": None, "request_type": None, **filters}
    )
    breached = _clocks(scope).filter(_breached(report.start, report.end, NOW), clock=Clock.SLA).count()
    assert report.breaches_total == breached
    assert len(report.breaches) == min(limit, breached)
    assert not [q for q in captured if q["sql"].startswith("SELECT COUNT(*)") and "sla_requestclock" in q["sql"]]


def test_vendor_lead_sees_only_their_vendor_whatever_the_filter_says(dataset):
    report = week47(dataset.world.other_vendor_lead, vendor="optit")  # GWL's lead asks for OptIT

    assert report.filters["vendor"] == "gwl"
    assert (report.summary.created, report.summary.backlog) == (2, 3)
    assert (report.summary.sla_response_breached, report.summary.sla_resolution_breached) == (2, 1)
    assert report.summary.ola_breached == 3
    assert [row.key for row in report.breakdowns["vendor"]] == ["gwl"]
    assert {b.reference for b in report.breaches} == {"R3", "R4", "R12"}
    assert report.summary.open_per_engineer == 3.0


@pytest.mark.parametrize("role", ["requester", "vendor_engineer"])
def test_requesters_and_vendor_engineers_get_no_report(dataset, role):
    with pytest.raises(Forbidden):
        week47(getattr(dataset.world, role))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"week": "2026-47"}, "week"),
        ({"week": "2026-W54"}, "week"),
        ({"week": "2026-W47", "vendor": "nobody"}, "vendor"),
        ({"week": "2026-W47", "environment": "mars"}, "environment"),
        ({"week": "2026-W47", "priority": "P9"}, "priority"),
        ({"week": "2026-W47", "request_type": "Magic"}, "type"),
        ({"week": "2026-W47", "tz": "Mars/Olympus"}, "tz"),
    ],
)
def test_bad_input_names_the_field(dataset, kwargs, field):
    with pytest.raises(ValidationFailed) as error:
        report_weekly(user=dataset.world.pm, now=NOW, **kwargs)
    assert field in error.value.fields


def test_filters_narrow_every_figure(dataset):
    report = week47(dataset.world.pm, environment="bihar", priority="P2")

    assert report.summary.created == 1  # R3
    assert report.summary.backlog == 1
    assert report.summary.sla_response_breached == 1
    assert [b.reference for b in report.breaches] == ["R3"]
    assert report.filters == {"vendor": "", "environment": "bihar", "priority": "P2", "type": ""}


def test_an_empty_week_has_zeros_and_no_percentages(world):
    report = report_weekly(user=world.pm, week="2026-W47", now=NOW)

    assert asdict(report.summary) == asdict(Figures(open_per_engineer=0.0))  # nothing open, two engineers
    assert report.breaches == [] and report.breaches_total == 0
    assert all(row == [] for row in report.breakdowns.values())
    assert sum(report.backlog_by_age.values()) == 0
    assert {w.created for w in report.traction} == {0}
    assert report.change["created"] == 0 and report.change["sla_response_compliance"] is None


def test_a_week_with_only_rejected_requests(world):
    for ref, day in (("X1", 17), ("X2", 19)):
        make_request(
            world, ref, vendor=None, priority=Priority.P2, request_type=RequestType.ACCESS_OPS, state=S.REJECTED,
            created_at=ist(day, 10), closed_at=ist(day, 11),
        )  # fmt: skip

    report = report_weekly(user=world.pm, week="2026-W47", now=NOW)

    assert (report.summary.created, report.summary.rejected) == (2, 2)
    assert (report.summary.triaged, report.summary.resolved, report.summary.backlog) == (0, 0, 0)
    assert report.summary.sla_response_compliance is None
    assert report.summary.pick_up_wall_p50 is None
    assert [(row.key, row.figures.rejected) for row in report.breakdowns["request_type"]] == [("AccessOps", 2)]
    assert report.breaches == []


def test_week_boundaries_follow_a_dst_change(world):
    """Europe/Berlin leaves summer time on Sun 25 Oct 2026 03:00: week 43 lasts 169 hours."""
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    stamps = {
        "B1": datetime(2026, 10, 18, 23, 59, tzinfo=berlin),  # W42
        "B2": datetime(2026, 10, 19, 0, 0, tzinfo=berlin),  # W43's first instant (CEST)
        "B3": datetime(2026, 10, 25, 23, 30, tzinfo=berlin),  # W43's last half hour (CET), 22:30 UTC
        "B4": datetime(2026, 10, 26, 0, 0, tzinfo=berlin),  # W44, 23:00 UTC on the 25th
    }
    for ref, created_at in stamps.items():
        make_request(
            world, ref, priority=Priority.P2, request_type=RequestType.GIT_OPS, state=S.SUBMITTED, created_at=created_at
        )

    report = report_weekly(user=world.pm, week="2026-W43", tz="Europe/Berlin", now=NOW)

    # (Python subtracts aware datetimes sharing a tzinfo on the wall clock; compare instants in UTC.)
    assert report.end.astimezone(UTC) - report.start.astimezone(UTC) == timedelta(hours=169)
    assert report.start.utcoffset() == timedelta(hours=2) and report.end.utcoffset() == timedelta(hours=1)
    assert report.summary.created == 2  # B2 B3; a naive start + 7 × 24 h would have dropped B3
    assert report.summary.backlog == 3  # B1 B2 B3
    # B2 is 7 days and 1 hour old at the end of the week (the extra hour of winter time): 1–2 weeks.
    assert report.backlog_by_age == {"lt_1d": 1, "1_3d": 0, "3_7d": 0, "1_2w": 2, "gt_2w": 0}
    assert [(w.week, w.created) for w in report.traction][-2:] == [("2026-W42", 1), ("2026-W43", 2)]
    assert report_weekly(user=world.pm, week="2026-W44", tz="Europe/Berlin", now=NOW).summary.created == 1  # B4
    # Cut in Kolkata, B3 falls in W44 too (it is Monday 04:00 there).
    assert report_weekly(user=world.pm, week="2026-W44", tz="Asia/Kolkata", now=NOW).summary.created == 2


def test_the_number_of_queries_does_not_depend_on_the_number_of_requests(dataset, django_assert_max_num_queries):
    pm = dataset.world.pm
    pm.has_perm("requests_app.view_all_requests")  # warm the permission cache, as any request would
    with CaptureQueriesContext(connection) as small:
        week47(pm)
    for index in range(40):
        created = ist(16 + index % 7, 9)
        extra = make_request(
            dataset.world, f"N{index}", vendor=dataset.world.vendor_a if index % 2 else dataset.world.vendor_b,
            priority=Priority.P2, request_type=RequestType.GIT_OPS, state=S.IN_PROGRESS, created_at=created,
            triaged_at=created, responded_at=created + timedelta(hours=2 + index),
        )  # fmt: skip
        both(
            extra,
            Measure.RESPONSE,
            due_at=created + timedelta(hours=8),
            met_at=extra.responded_at,
            elapsed=timedelta(hours=index % 9),
        )
        make_event(extra, EventKind.COMMENT, created, "Looking")

    with django_assert_max_num_queries(len(small.captured_queries)):
        report = week47(pm)
    assert report.summary.created == 47


def test_dashboard_live_counts(dataset):
    dashboard = report_dashboard(user=dataset.world.pm, now=ist(21, 15))  # Saturday 21 Nov, 15:00

    # Open now: R2? no, resolved is not open. Open states: R3 R4 R7 R9 R12 (R10 is filed only on the 23rd, but
    # the dashboard reads the current rows, so it counts too).
    assert dashboard.open_by_state == {
        "submitted": 2,
        "pending_approval": 0,
        "queued": 1,
        "in_progress": 1,
        "waiting_on_requester": 1,
        "blocked": 1,
    }
    assert dashboard.open_total == 6
    assert dashboard.open_by_priority == {"P0": 1, "P1": 0, "P2": 3, "P3": 2, "P4": 0}
    assert [(slug, n) for slug, _, n in dashboard.open_by_vendor] == [("gwl", 3), ("optit", 1), ("", 2)]
    # Open requests with a breached SLA at 15:00 on the 21st: R4 (resolution past due), R12 (response past due) and
    # R3 (response met late, still in progress): "breached, still open", as the list's filter of that name counts.
    assert dashboard.breached == 3
    assert dashboard.at_risk == 0
    assert dashboard.today_intake == 1  # R12 at 10:00
    assert dashboard.week.week == "2026-W47"
    assert dashboard.week.backlog_at == ist(21, 15)


def test_dashboard_counts_at_risk_clocks(dataset):
    dataset.requests["R12"].clocks.filter(clock=Clock.SLA).update(at_risk_at=ist(21, 13, 10))
    sla_columns_sync(dataset.requests["R12"])  # clocks written by hand: the request's stored instants follow

    assert report_dashboard(user=dataset.world.pm, now=ist(21, 13, 30)).at_risk == 1
    assert report_dashboard(user=dataset.world.pm, now=ist(21, 13)).at_risk == 0


def test_default_week_is_the_last_complete_one():
    assert report_week_default(now=ist(23, 9), tz="Asia/Kolkata") == "2026-W47"
    # 23 Nov 02:00 in Kolkata is still Sunday 22 Nov in UTC: the week is cut in the report's timezone.
    assert report_week_default(now=ist(23, 2), tz="UTC") == "2026-W46"


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [([], 0.5, None), ([5], 0.9, 5), ([1, 4, 48], 0.9, 39.2), ([24, 56], 0.5, 40), ([2, 2, 24], 0.9, 19.6)],
)
def test_python_percentile_matches_percentile_cont(values, fraction, expected):
    assert percentile_linear(values, fraction) == pytest.approx(expected)
