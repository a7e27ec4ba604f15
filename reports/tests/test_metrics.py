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
from reports.metrics import Duration, delivery_metrics
from requests_app.choices import EventKind, LinkKind, Priority, RequestType
from requests_app.models import RequestLink, ServiceRequest
from requests_app.tests import factories as f
from sla.choices import Clock, Measure

from .conftest import S, ist, make_clock, make_event, make_request

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
        make_request(
            incidents, f"Y{n}", vendor=incidents.vendor_a, request_type=T.RELEASE, priority=Priority.P2,
            state=S.RESOLVED, created_at=ist(19, n), resolved_at=ist(19, n + 1),
        )  # fmt: skip
    with CaptureQueriesContext(connection) as large:
        bigger = metrics(incidents.pm)

    assert bigger.incidents == 10
    assert len(large.captured_queries) == len(small.captured_queries)


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
    assert len(body["trend"]) == 12


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
    assert ">ProductionIssue<" not in html and ">Production issue<" in html  # human labels, not enum values
    assert 'style="' not in html


def test_the_page_answers_a_bad_range_with_a_400_form(incidents, client):
    client.force_login(incidents.pm)

    page = client.get(reverse("reports-metrics"), {"from": "2026-11-30", "to": "2026-11-01"})

    assert page.status_code == 400
    assert "“From” must be on or before “to”." in page.content.decode()
