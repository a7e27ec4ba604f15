"""`delivery_metrics` and its endpoint against a hand-computed data set (16–29 Nov 2026, IST, two weeks).

    ref  type               vendor env     prio  detected  filed (IST)   picked up     resolved      SLA clocks
    I1   ProductionIssue    OptIT  punjab  P0    16 09:30  Mon 16 10:00  16 11:00 (1h) 16 14:00 (4h)  both met
    I2   ProductionIssue    OptIT  punjab  P1    17 07:00  Tue 17 10:00  17 13:00 (3h) 18 10:00 (24h) resolution late
    I3   ProductionIssue    GWL    bihar   P2    20 08:30  Fri 20 10:00  20 18:00 (8h) —              (not P0/P1)
    I4   ProductionIssue    OptIT  punjab  P1    —         Wed 25 10:00  —             —              running, not due
    I5   ProductionIssue    OptIT  punjab  P0    —         Tue 10 10:00  10 12:00 (2h) 10 16:00 (6h)  (W46: trend only)
    C1   Release            OptIT  punjab  filed 16 09:00, resolved 16 09:30 (0.5h); I1 is linked as caused by it
    C2   DeploymentSupport  GWL    bihar   filed 20 10:00, resolved 21 10:00 (24h); no later bihar issue
    C3   Release            GWL    bihar   filed 22 10:00, resolved 22 12:00 (2h)
    C4   Release            OptIT  punjab  filed 11 10:00, resolved 12 10:00 (W46: trend only)
    T1   Troubleshooting    OptIT  punjab  resolved 18 10:00: not a deployment

"Now" is Wed 25 Nov 10:30 IST, so I4's response clock (due 11:00) is still undecided.
"""

from __future__ import annotations

from dataclasses import asdict

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.exceptions import Forbidden, ValidationFailed
from provisioning.choices import RunStatus
from provisioning.models import ProvisioningRun
from reports.metrics import Duration, StateTime, delivery_metrics
from requests_app.choices import EventKind, LinkKind, Priority, RequestType
from requests_app.models import RequestLink, ServiceRequest
from requests_app.tests import factories as f
from sla.choices import Clock, Measure

from .conftest import H, S, ist, make_clock, make_event, make_request

pytestmark = pytest.mark.django_db
NOW = ist(25, 10, 30)
T = RequestType


@pytest.fixture
def incidents(world):
    return build_incidents(world)


def build_incidents(world):
    """The data set in the module docstring (the browser layout test builds it too)."""
    a, b = world.vendor_a, world.vendor_b
    bihar = f.EnvironmentFactory(code="bihar", name="Bihar")
    issue = {"request_type": T.PRODUCTION_ISSUE}
    i1 = make_request(
        world, "I1", vendor=a, priority=Priority.P0, state=S.RESOLVED, created_at=ist(16, 10),
        detected_at=ist(16, 9, 30), responded_at=ist(16, 11), resolved_at=ist(16, 14), **issue,
    )  # fmt: skip
    make_clock(i1, Clock.SLA, Measure.RESPONSE, due_at=ist(16, 10, 30), met_at=ist(16, 11))
    make_clock(i1, Clock.SLA, Measure.RESOLUTION, due_at=ist(16, 18), met_at=ist(16, 14))
    make_event(i1, EventKind.PICK_UP, ist(16, 11), to_state=S.IN_PROGRESS, actor=world.vendor_engineer)
    make_event(i1, EventKind.RESOLVE, ist(16, 14), to_state=S.RESOLVED, actor=world.vendor_engineer)
    i2 = make_request(
        world, "I2", vendor=a, priority=Priority.P1, state=S.RESOLVED, created_at=ist(17, 10),
        detected_at=ist(17, 7), responded_at=ist(17, 13), resolved_at=ist(18, 10), **issue,
    )  # fmt: skip
    make_clock(i2, Clock.SLA, Measure.RESPONSE, due_at=ist(17, 14), met_at=ist(17, 13))
    make_clock(i2, Clock.SLA, Measure.RESOLUTION, due_at=ist(17, 22), met_at=ist(18, 10), breached=True)
    make_event(i2, EventKind.PICK_UP, ist(17, 13), to_state=S.IN_PROGRESS, actor=world.vendor_engineer)
    i3 = make_request(
        world, "I3", vendor=b, environment=bihar, priority=Priority.P2, state=S.IN_PROGRESS, created_at=ist(20, 10),
        detected_at=ist(20, 8, 30), responded_at=ist(20, 18), **issue,
    )  # fmt: skip
    make_event(i3, EventKind.PICK_UP, ist(20, 18), to_state=S.IN_PROGRESS, actor=world.other_vendor_engineer)
    i4 = make_request(world, "I4", vendor=a, priority=Priority.P1, state=S.QUEUED, created_at=ist(25, 10), **issue)
    make_clock(i4, Clock.SLA, Measure.RESPONSE, due_at=ist(25, 11), running_since=ist(25, 10))
    make_request(
        world, "I5", vendor=a, priority=Priority.P0, state=S.CLOSED, created_at=ist(10, 10), responded_at=ist(10, 12),
        resolved_at=ist(10, 16), closed_at=ist(10, 17), **issue,
    )  # fmt: skip
    change = {"priority": Priority.P2, "state": S.RESOLVED}
    c1 = make_request(
        world, "C1", vendor=a, request_type=T.RELEASE, created_at=ist(16, 9), resolved_at=ist(16, 9, 30), **change
    )
    RequestLink.objects.create(source=c1, target=i1, kind=LinkKind.CAUSES)
    make_request(
        world, "C2", vendor=b, environment=bihar, request_type=T.DEPLOYMENT_SUPPORT, created_at=ist(20, 10),
        resolved_at=ist(21, 10), **change,
    )  # fmt: skip
    make_request(
        world, "C3", vendor=b, environment=bihar, request_type=T.RELEASE, created_at=ist(22, 10),
        resolved_at=ist(22, 12), **change,
    )  # fmt: skip
    make_request(
        world, "C4", vendor=a, request_type=T.RELEASE, created_at=ist(11, 10), resolved_at=ist(12, 10), **change
    )
    make_request(
        world, "T1", vendor=a, request_type=T.TROUBLESHOOTING, created_at=ist(17, 9), resolved_at=ist(18, 10), **change
    )
    return world


def metrics(user, **kwargs):
    kwargs.setdefault("date_from", "2026-11-16")
    kwargs.setdefault("date_to", "2026-11-29")
    return delivery_metrics(user=user, now=NOW, **kwargs)


def test_mtta_mttr_mttd_and_attainment_match_the_hand_computed_ones(incidents):
    m = metrics(incidents.pm)

    assert m.incidents == 4  # I1–I4; I5 is before the range
    assert m.mtta == Duration(mean_hours=4.0, median_hours=3.0, count=3)  # [1, 3, 8]
    assert m.mttr == Duration(mean_hours=14.0, median_hours=14.0, count=2)  # [4, 24]
    assert m.mttd == Duration(mean_hours=1.7, median_hours=1.5, count=3)  # [0.5, 3, 1.5]: 5 ÷ 3 = 1.67
    assert asdict(m.attainment) == {
        "met": 1,  # I1
        "missed": 1,  # I2 resolved late
        "pending": 1,  # I4 not yet due; I3 is P2
        "percent": 50.0,
        "target": 99.5,
        "target_met": False,
    }


def test_breakdowns(incidents):
    m = metrics(incidents.pm)

    by_priority = {row.key: (row.mtta, row.mttr, row.mttd) for row in m.breakdowns["priority"]}
    assert by_priority == {
        "P0": (Duration(1.0, 1.0, 1), Duration(4.0, 4.0, 1), Duration(0.5, 0.5, 1)),
        "P1": (Duration(3.0, 3.0, 1), Duration(24.0, 24.0, 1), Duration(3.0, 3.0, 1)),  # I2 and I4
        "P2": (Duration(8.0, 8.0, 1), Duration(None, None, 0), Duration(1.5, 1.5, 1)),
    }
    assert [row.label for row in m.breakdowns["priority"]] == ["P0", "P1", "P2"]
    by_vendor = {row.label: row.mtta for row in m.breakdowns["vendor"]}
    assert by_vendor == {"GWL": Duration(8.0, 8.0, 1), "OptIT": Duration(2.0, 2.0, 2)}
    assert {row.key: row.mttr.count for row in m.breakdowns["environment"]} == {"bihar": 0, "punjab": 2}
    assert [(row.key, row.mtta.count) for row in m.breakdowns["request_type"]] == [("ProductionIssue", 3)]


def test_dora_keys(incidents):
    dora = metrics(incidents.pm).dora

    assert dora.deployments == 3  # C1 C2 C3; C4 before the range, T1 not a deployment
    assert dora.deployment_frequency == 1.5  # 3 over 2 weeks
    assert dora.lead_time == Duration(mean_hours=8.8, median_hours=2.0, count=3)  # [0.5, 24, 2]: 26.5 ÷ 3
    assert dora.failed_deployments == 1  # C1, linked as the cause of I1
    assert dora.change_failure_rate == 33.33
    assert dora.time_to_restore == Duration(14.0, 14.0, 2)


def test_only_a_caused_by_link_makes_a_deployment_failed(incidents):
    c6 = make_request(
        incidents, "C6", vendor=incidents.vendor_a, request_type=T.RELEASE, priority=Priority.P2, state=S.RESOLVED,
        created_at=ist(24, 9), resolved_at=ist(24, 10),
    )  # fmt: skip  # I4 follows a day later in the same environment, but nothing links them
    c3 = ServiceRequest.objects.get(reference="C3")
    RequestLink.objects.create(source=c3, target=ServiceRequest.objects.get(reference="I3"), kind=LinkKind.RELATES)
    RequestLink.objects.create(source=ServiceRequest.objects.get(reference="T1"), target=c6, kind=LinkKind.CAUSES)

    dora = metrics(incidents.pm).dora

    assert (dora.deployments, dora.failed_deployments, dora.change_failure_rate) == (4, 1, 25.0)


def test_load_per_person(incidents):
    load = {row.username: (row.picked_up, row.resolved, row.picked_up_per_week, row.resolved_per_week)
            for row in metrics(incidents.pm).load}  # fmt: skip

    assert load == {"opti-eng": (2, 1, 1.0, 0.5), "gwl-eng": (1, 0, 0.5, 0.0)}


def test_twelve_week_trend(incidents):
    trend = metrics(incidents.pm).trend

    assert [w.week for w in trend][:1] + [w.week for w in trend][-1:] == ["2026-W37", "2026-W48"]
    assert len(trend) == 12
    w46, w47, w48 = trend[-3:]
    assert (w46.mtta, w46.mttr, w46.deployments) == (Duration(2.0, 2.0, 1), Duration(6.0, 6.0, 1), 1)  # I5, C4
    assert (w47.mtta, w47.mttr, w47.deployments) == (Duration(4.0, 3.0, 3), Duration(14.0, 14.0, 2), 3)
    assert (w48.mtta, w48.deployments) == (Duration(None, None, 0), 0)  # I4 not picked up yet
    assert all(w.deployments == 0 and w.mtta.count == 0 for w in trend[:-3])


def test_the_target_is_a_setting(incidents, settings):
    settings.PORTICO_INCIDENT_SLA_TARGET = 50.0

    assert (metrics(incidents.pm).attainment.target, metrics(incidents.pm).attainment.target_met) == (50.0, True)


def test_a_vendor_lead_sees_their_own_vendor_only(incidents):
    m = metrics(incidents.vendor_lead, vendor="gwl")  # the vendor asked for is ignored

    assert m.filters["vendor"] == "optit"
    assert m.incidents == 3  # I1 I2 I4
    assert m.mtta == Duration(2.0, 2.0, 2)
    assert [row.label for row in m.breakdowns["vendor"]] == ["OptIT"]
    assert (m.dora.deployments, m.dora.failed_deployments) == (1, 1)  # C1
    assert [row.username for row in m.load] == ["opti-eng"]


def test_requesters_and_engineers_get_no_metrics(incidents):
    for user in (incidents.requester, incidents.vendor_engineer):
        with pytest.raises(Forbidden):
            metrics(user)


@pytest.mark.parametrize(
    ("date_from", "date_to", "field"),
    [
        ("2026-13-01", "2026-11-29", "from"),
        ("2026-11-16", "29/11/2026", "to"),
        ("2026-11-30", "2026-11-29", "from"),
        ("2025-11-28", "2026-11-29", "to"),  # 367 days
    ],
)
def test_bad_ranges_are_field_errors(incidents, date_from, date_to, field):
    with pytest.raises(ValidationFailed) as error:
        metrics(incidents.pm, date_from=date_from, date_to=date_to)

    assert field in error.value.fields


def test_a_whole_year_is_allowed(incidents):
    assert metrics(incidents.pm, date_from="2025-11-29", date_to="2026-11-29").incidents == 5  # 366 days


def test_the_number_of_queries_does_not_depend_on_the_number_of_requests(incidents):
    metrics(incidents.pm)  # warm the per-user permission cache, which the first call fills with one query
    with CaptureQueriesContext(connection) as small:
        metrics(incidents.pm)
    for n in range(6):
        more = make_request(
            incidents, f"X{n}", vendor=incidents.vendor_b, priority=Priority.P1, request_type=T.PRODUCTION_ISSUE,
            state=S.RESOLVED, created_at=ist(18, n), responded_at=ist(18, n + 1), resolved_at=ist(18, n + 2),
        )  # fmt: skip
        make_clock(more, Clock.SLA, Measure.RESPONSE, due_at=ist(18, 12), met_at=ist(18, n + 1))
        make_event(more, EventKind.PICK_UP, ist(18, n + 1), actor=f.VendorEngineerFactory(vendor=incidents.vendor_b))
        release = make_request(
            incidents, f"Y{n}", vendor=incidents.vendor_a, request_type=T.RELEASE, priority=Priority.P2,
            state=S.RESOLVED, created_at=ist(19, n), resolved_at=ist(19, n + 1),
            assignee=f.VendorEngineerFactory(vendor=incidents.vendor_a),
        )  # fmt: skip
        make_event(release, EventKind.PICK_UP, ist(19, n), from_state=S.QUEUED, to_state=S.IN_PROGRESS)
        ProvisioningRun.objects.create(
            service_request=release, action="jenkins_job", status=RunStatus.SUCCEEDED, finished_at=ist(19, n, 30)
        )
    with CaptureQueriesContext(connection) as large:
        bigger = metrics(incidents.pm)

    assert bigger.incidents == 10
    assert (bigger.dora.deployments, bigger.dora.from_runs) == (9, 6)
    assert sum(row.in_progress.requests for row in bigger.load) == 6
    assert len(large.captured_queries) == len(small.captured_queries)


# --- deployments from Jenkins/GitLab runs ----------------------------------------------------------------------
@pytest.fixture
def deploys(incidents):
    """Runs on top of the data set above (C1–C3 have no run: deployed by hand, at their resolution).

    ref  type               vendor env     filed (IST)   runs (finished, IST)                        resolved
    D0   Release            OptIT  punjab  Fri 13 10:00  jenkins_job succeeded 14 10:00             16 12:00
    D1   Release            OptIT  punjab  Mon 23 09:00  jenkins_job failed 23 10:00, then          24 09:00
                                                         jenkins_job succeeded 23 12:00 (3h), and a
                                                         second success 24 08:00; I4 is caused by D1
    D2   DeploymentSupport  GWL    bihar   Tue 24 08:00  gitlab_pipeline succeeded 24 10:00 (2h)    — (open)
    D3   Release            OptIT  punjab  Wed 25 08:00  namespace_with_quota (Kubernetes) succeeded — (open)
                                                         25 09:00: not a deployment
    D4   Release            GWL    bihar   Tue 24 09:00  jenkins_job failed 24 10:00                24 16:00 (by hand)
    D5   Release            GWL    bihar   Tue 24 09:00  jenkins_job succeeded 24 11:00, a dry run  — (open)

    In 16–29 Nov: C1 0.5h, C2 24h, C3 2h (by hand), D1 3h, D2 2h (runs), D4 7h (by hand after a failed run).
    """
    world = incidents
    bihar = ServiceRequest.objects.get(reference="C2").environment
    change = {"priority": Priority.P2}

    def run(request, action, status, finished, **fields):
        ProvisioningRun.objects.create(
            service_request=request, action=action, status=status, created_at=finished - H,
            started_at=finished - H, finished_at=finished, **fields,
        )  # fmt: skip

    d0 = make_request(
        world, "D0", vendor=world.vendor_a, request_type=T.RELEASE, state=S.RESOLVED, created_at=ist(13, 10),
        resolved_at=ist(16, 12), **change,
    )  # fmt: skip
    run(d0, "jenkins_job", RunStatus.SUCCEEDED, ist(14, 10))
    d1 = make_request(
        world, "D1", vendor=world.vendor_a, request_type=T.RELEASE, state=S.RESOLVED, created_at=ist(23, 9),
        resolved_at=ist(24, 9), **change,
    )  # fmt: skip
    run(d1, "jenkins_job", RunStatus.FAILED, ist(23, 10), error_message="red build")
    run(d1, "jenkins_job", RunStatus.SUCCEEDED, ist(23, 12), retries=1)
    run(d1, "jenkins_job", RunStatus.SUCCEEDED, ist(24, 8))
    RequestLink.objects.create(source=d1, target=ServiceRequest.objects.get(reference="I4"), kind=LinkKind.CAUSES)
    d2 = make_request(
        world, "D2", vendor=world.vendor_b, environment=bihar, request_type=T.DEPLOYMENT_SUPPORT,
        state=S.IN_PROGRESS, created_at=ist(24, 8), **change,
    )  # fmt: skip
    run(d2, "gitlab_pipeline", RunStatus.SUCCEEDED, ist(24, 10))
    d3 = make_request(
        world, "D3", vendor=world.vendor_a, request_type=T.RELEASE, state=S.IN_PROGRESS, created_at=ist(25, 8),
        **change,
    )  # fmt: skip
    run(d3, "namespace_with_quota", RunStatus.SUCCEEDED, ist(25, 9))
    d4 = make_request(
        world, "D4", vendor=world.vendor_b, environment=bihar, request_type=T.RELEASE, state=S.RESOLVED,
        created_at=ist(24, 9), resolved_at=ist(24, 16), **change,
    )  # fmt: skip
    run(d4, "jenkins_job", RunStatus.FAILED, ist(24, 10))
    d5 = make_request(
        world, "D5", vendor=world.vendor_b, environment=bihar, request_type=T.RELEASE, state=S.IN_PROGRESS,
        created_at=ist(24, 9), **change,
    )  # fmt: skip
    run(d5, "jenkins_job", RunStatus.SUCCEEDED, ist(24, 11), dry_run=True)
    return world


def test_a_deployment_is_the_first_successful_jenkins_or_gitlab_run_else_the_resolution(deploys):
    dora = metrics(deploys.pm).dora

    assert (dora.deployments, dora.from_runs, dora.manual) == (6, 2, 4)  # runs: D1 D2; by hand: C1 C2 C3 D4
    assert dora.deployment_frequency == 3.0  # 6 over 2 weeks
    # [0.5, 24, 2, 3, 2, 7]: 38.5 ÷ 6 = 6.42; the middle two of [0.5, 2, 2, 3, 7, 24] are 2 and 3
    assert dora.lead_time == Duration(mean_hours=6.4, median_hours=2.5, count=6)
    assert (dora.failed_deployments, dora.change_failure_rate) == (2, 33.33)  # C1 (I1), D1 (I4)


def test_deployments_per_week_follow_the_run_not_the_resolution(deploys):
    trend = metrics(deploys.pm).trend

    # W46: C4 (resolved 12) and D0 (its run on 14; resolved 16 Nov in W47, but deployed before the window)
    assert [w.deployments for w in trend[-3:]] == [2, 3, 3]  # W47: C1 C2 C3; W48: D1 D2 D4


def test_a_vendor_lead_counts_their_vendors_deployments_only(deploys):
    dora = metrics(deploys.vendor_lead).dora

    assert (dora.deployments, dora.from_runs, dora.manual, dora.failed_deployments) == (2, 1, 1, 2)  # D1, C1
    assert dora.lead_time == Duration(mean_hours=1.8, median_hours=1.8, count=2)  # [0.5, 3]


def test_a_deployment_run_can_be_asked_for_a_window_that_holds_only_the_run(deploys):
    dora = metrics(deploys.pm, date_from="2026-11-23", date_to="2026-11-23").dora

    # D1's first success (23 12:00) is in; its resolution (24 09:00) and its second success are not counted
    assert (dora.deployments, dora.from_runs, dora.lead_time) == (1, 1, Duration(3.0, 3.0, 1))


# --- load: open assigned and time in each state -----------------------------------------------------------------
@pytest.fixture
def assigned(incidents):
    """Requests assigned to people, with their state changes (IST).

    ref  vendor  assignee    state now     state changes (to_state)
    L0   OptIT   opti-eng    resolved      9 Nov in_progress, 10 Nov resolved: before the window, counts nothing
    L1   OptIT   opti-eng    resolved      16 10:00 in_progress, 16 12:00 waiting_on_requester (a comment at 16 13:00
                                           changes nothing), 17 12:00 in_progress, 17 14:00 resolved
                                           → in progress 2h + 2h = 4h, waiting 24h
    L2   OptIT   opti-eng    in_progress   13 10:00 in_progress, 16 06:00 blocked, 18 06:30 in_progress, until now
                                           (25 10:30) → in progress 6h (from 16 00:00) + 172h = 178h, blocked 48.5h
    L4   OptIT   opti-eng    blocked       10 10:00 blocked, no change since → blocked the whole window up to now
                                           (16 00:00 → 25 10:30 = 226.5h) (only in the test that adds it)

    Each change carries its `from_state`, as `request_transition` writes it.
    L3   GWL     gwl-eng-2   queued        no working state yet: open assigned only
    """
    world = incidents
    other = f.VendorEngineerFactory(username="gwl-eng-2", vendor=world.vendor_b)
    a = {"vendor": world.vendor_a, "assignee": world.vendor_engineer, "request_type": T.TROUBLESHOOTING}
    l0 = make_request(
        world, "L0", state=S.RESOLVED, created_at=ist(9, 9), resolved_at=ist(10, 10), priority=Priority.P3, **a
    )
    make_event(l0, EventKind.PICK_UP, ist(9, 10), from_state=S.QUEUED, to_state=S.IN_PROGRESS)
    make_event(l0, EventKind.RESOLVE, ist(10, 10), from_state=S.IN_PROGRESS, to_state=S.RESOLVED)
    l1 = make_request(
        world, "L1", state=S.RESOLVED, created_at=ist(16, 9), resolved_at=ist(17, 14), priority=Priority.P3, **a
    )
    make_event(l1, EventKind.FILED, ist(16, 9), to_state=S.SUBMITTED)
    make_event(l1, EventKind.PICK_UP, ist(16, 10), from_state=S.SUBMITTED, to_state=S.IN_PROGRESS)
    make_event(l1, EventKind.REQUEST_INFO, ist(16, 12), from_state=S.IN_PROGRESS, to_state=S.WAITING_ON_REQUESTER)
    make_event(l1, EventKind.COMMENT, ist(16, 13), "Any news?")
    make_event(l1, EventKind.PROVIDE_INFO, ist(17, 12), from_state=S.WAITING_ON_REQUESTER, to_state=S.IN_PROGRESS)
    make_event(l1, EventKind.RESOLVE, ist(17, 14), from_state=S.IN_PROGRESS, to_state=S.RESOLVED)
    l2 = make_request(world, "L2", state=S.IN_PROGRESS, created_at=ist(13, 9), priority=Priority.P3, **a)
    make_event(l2, EventKind.PICK_UP, ist(13, 10), from_state=S.QUEUED, to_state=S.IN_PROGRESS)
    make_event(l2, EventKind.ESCALATE, ist(16, 6), from_state=S.IN_PROGRESS, to_state=S.BLOCKED)
    make_event(l2, EventKind.UNBLOCK, ist(18, 6, 30), from_state=S.BLOCKED, to_state=S.IN_PROGRESS)
    make_request(
        world, "L3", vendor=world.vendor_b, assignee=other, request_type=T.TROUBLESHOOTING, state=S.QUEUED,
        created_at=ist(24, 9), priority=Priority.P3,
    )  # fmt: skip
    return world


def test_open_assigned_and_time_in_each_state(assigned):
    load = {row.username: row for row in metrics(assigned.pm).load}

    opti = load["opti-eng"]
    assert (opti.picked_up, opti.resolved, opti.open_assigned) == (2, 1, 1)  # I1 I2 events; L2 open
    assert opti.in_progress == StateTime(requests=2, total_hours=182.0, median_hours=91.0)  # L1 4h, L2 178h
    assert opti.waiting_on_requester == StateTime(requests=1, total_hours=24.0, median_hours=24.0)  # L1
    assert opti.blocked == StateTime(requests=1, total_hours=48.5, median_hours=48.5)  # L2
    newcomer = load["gwl-eng-2"]
    assert (newcomer.picked_up, newcomer.open_assigned, newcomer.in_progress) == (0, 1, StateTime(0, None, None))
    assert load["gwl-eng"].open_assigned == 0


def test_a_request_unchanged_since_before_the_window_spends_all_of_it_in_its_state(assigned):
    l4 = make_request(
        assigned, "L4", vendor=assigned.vendor_a, assignee=assigned.vendor_engineer, request_type=T.TROUBLESHOOTING,
        state=S.BLOCKED, created_at=ist(10, 9), priority=Priority.P3,
    )  # fmt: skip
    make_event(l4, EventKind.ESCALATE, ist(10, 10), from_state=S.IN_PROGRESS, to_state=S.BLOCKED)

    opti = {row.username: row for row in metrics(assigned.pm).load}["opti-eng"]

    assert opti.open_assigned == 2  # L2 L4
    assert opti.blocked == StateTime(requests=2, total_hours=275.0, median_hours=137.5)  # L2 48.5h, L4 226.5h
    assert opti.in_progress.total_hours == 182.0  # L4 spent none of the window in progress


def test_time_in_a_state_is_cut_at_the_window(assigned):
    opti = {row.username: row for row in metrics(assigned.pm, date_to="2026-11-16").load}["opti-eng"]

    # 16 Nov only: L1 in progress 10–12, waiting 12–24; L2 in progress 00–06, blocked 06–24
    assert opti.in_progress == StateTime(requests=2, total_hours=8.0, median_hours=4.0)
    assert opti.waiting_on_requester == StateTime(requests=1, total_hours=12.0, median_hours=12.0)
    assert opti.blocked == StateTime(requests=1, total_hours=18.0, median_hours=18.0)


def test_a_vendor_lead_sees_the_load_of_their_own_vendor_only(assigned):
    load = metrics(assigned.vendor_lead).load

    assert [(row.username, row.open_assigned, row.blocked.total_hours) for row in load] == [("opti-eng", 1, 48.5)]
    other = {row.username for row in metrics(assigned.other_vendor_lead).load}
    assert other == {"gwl-eng", "gwl-eng-2"}


# --- the endpoint and the page ---------------------------------------------------------------------------------
API = "/api/v1/reports/metrics/"


def test_the_api_returns_the_figures(incidents, client):
    client.force_login(incidents.pm)

    with time_machine.travel(NOW, tick=False):
        response = client.get(API, {"from": "2026-11-16", "to": "2026-11-29", "environment": "punjab"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["date_from"], body["date_to"], body["filters"]["environment"]) == (
        "2026-11-16",
        "2026-11-29",
        "punjab",
    )
    assert body["incidents"] == 3  # I1 I2 I4
    assert body["mtta"] == {"mean_hours": 2.0, "median_hours": 2.0, "count": 2}
    assert body["attainment"]["percent"] == 50.0 and body["attainment"]["target_met"] is False
    assert body["dora"]["deployments"] == 1 and body["dora"]["change_failure_rate"] == 100.0
    assert (body["dora"]["from_runs"], body["dora"]["manual"]) == (0, 1)
    assert len(body["trend"]) == 12


def test_the_api_returns_deployments_by_run_and_the_load_per_state(assigned, client):
    ProvisioningRun.objects.create(
        service_request=ServiceRequest.objects.get(reference="C3"), action="gitlab_pipeline",
        status=RunStatus.SUCCEEDED, finished_at=ist(22, 11),
    )  # fmt: skip
    client.force_login(assigned.pm)

    with time_machine.travel(NOW, tick=False):
        body = client.get(API, {"from": "2026-11-16", "to": "2026-11-29"}).json()

    assert (body["dora"]["deployments"], body["dora"]["from_runs"], body["dora"]["manual"]) == (3, 1, 2)
    assert body["dora"]["lead_time"]["mean_hours"] == 8.5  # [0.5, 24, 1]: C3 deployed by its run at 11:00
    opti = next(row for row in body["load"] if row["username"] == "opti-eng")
    assert opti["open_assigned"] == 1
    assert opti["in_progress"] == {"requests": 2, "total_hours": 182.0, "median_hours": 91.0}
    assert opti["waiting_on_requester"] == {"requests": 1, "total_hours": 24.0, "median_hours": 24.0}
    assert opti["blocked"] == {"requests": 1, "total_hours": 48.5, "median_hours": 48.5}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-11-30", "to": "2026-11-01"}, "from"),
        ({"from": "2024-01-01", "to": "2026-01-01"}, "to"),
        ({"vendor": "nobody"}, "vendor"),
        ({"priority": "P9"}, "priority"),
    ],
)
def test_the_api_answers_bad_input_with_400_json(incidents, client, query, field):
    client.force_login(incidents.pm)

    response = client.get(API, query)

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_the_api_is_for_report_readers_only(incidents, client):
    client.force_login(incidents.vendor_engineer)

    assert client.get(API).status_code == 403


def test_the_page_shows_the_figures_and_links_from_the_dashboard(incidents, client):
    client.force_login(incidents.pm)

    dashboard = client.get(reverse("reports-dashboard"))
    with time_machine.travel(NOW, tick=False):
        page = client.get(reverse("reports-metrics"), {"from": "2026-11-16", "to": "2026-11-29"})

    assert reverse("reports-metrics").encode() in dashboard.content
    assert page.status_code == 200
    html = page.content.decode()
    assert "Delivery metrics" in html and 'id="dora"' in html and "target missed" in html
    assert "Change failure rate" in html and "Twelve-week trend" in html
    assert "0 by a Jenkins/GitLab run, 3 by hand" in html
    assert "Open assigned" in html and "Blocked (total / median)" in html
    assert ">ProductionIssue<" not in html and ">Production issue<" in html  # human labels, not enum values
    assert 'style="' not in html


def test_the_page_answers_a_bad_range_with_a_400_form(incidents, client):
    client.force_login(incidents.pm)

    page = client.get(reverse("reports-metrics"), {"from": "2026-11-30", "to": "2026-11-01"})

    assert page.status_code == 400
    assert "“From” must be on or before “to”." in page.content.decode()
