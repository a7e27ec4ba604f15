"""Filing, reading, editing and listing requests over the API."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from requests_app.choices import EventKind, Priority, RequestState, RequestType
from requests_app.models import ServiceRequest
from requests_app.testing.workflow import file_request, walk_to
from requests_app.tests import factories as f

from .helpers import LIST_URL, detail_url, error_of

pytestmark = pytest.mark.django_db

REPRESENTATION_KEYS = {
    "reference", "title", "description", "request_type", "priority", "state", "environment", "stack", "team",
    "requester", "vendor", "assignee", "needed_by", "affects_production", "jira_key", "created_at", "updated_at",
    "triaged_at", "detected_at", "resolved_at", "closed_at", "reopen_count", "resolution_note", "rating",
    "rating_comment", "rated_at", "parameters", "sla", "ola",
}  # fmt: skip


def _filing(world, **overrides) -> dict:
    body = {
        "title": "Namespace for UAT",
        "description": "4 CPUs please.",
        "request_type": RequestType.INFRA_PROVISION,
        "priority": Priority.P2,
        "environment": world.environment.code,
        "stack": world.stack.code,
    }
    body.update(overrides)
    return body


# --- filing --------------------------------------------------------------------------------------------
def test_filing_answers_201_with_the_representation(world, api):
    response = api(world.requester).post(LIST_URL, _filing(world), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    service_request = ServiceRequest.objects.get()
    assert set(body) == REPRESENTATION_KEYS
    assert body["reference"] == service_request.reference
    assert (body["state"], body["environment"], body["stack"], body["team"], body["requester"]) == (
        RequestState.SUBMITTED,
        "punjab",
        "ms",
        "mgramseva",
        "asha",
    )
    assert (body["vendor"], body["assignee"], body["affects_production"]) == (None, None, False)
    assert service_request.events.get().kind == EventKind.FILED


def test_filing_p4_with_enough_notice_and_an_explicit_team(world, api):
    needed_by = (timezone.localdate() + timedelta(days=30)).isoformat()
    body = _filing(world, priority="P4", needed_by=needed_by, team="mgramseva", stack=None, affects_production=True)
    response = api(world.requester).post(LIST_URL, body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["needed_by"], data["stack"], data["team"], data["affects_production"]) == (
        needed_by,
        None,
        "mgramseva",
        True,
    )


def test_filing_for_a_team_i_am_not_in_is_refused(world, api):
    response = api(world.requester).post(LIST_URL, _filing(world, team="sanitation"), format="json")
    assert response.status_code == 400
    assert "team" in error_of(response)["fields"]


def test_vendor_accounts_cannot_file(world, api):
    response = api(world.vendor_engineer).post(LIST_URL, _filing(world), format="json")
    assert response.status_code == 403
    assert not ServiceRequest.objects.exists()


# --- reading -------------------------------------------------------------------------------------------
def test_detail_has_iso_datetimes_with_offset_and_sla_clocks(world, api):
    # P0 runs round the clock (4 h to pick up, 24 h to resolve), so the figures do not depend on a calendar.
    start = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.get_default_timezone())
    with time_machine.travel(start, tick=False):
        service_request = walk_to(world, RequestState.IN_PROGRESS, priority=Priority.P0)
    with time_machine.travel(start + timedelta(hours=20), tick=False):  # 20 h of the 24 h resolution goal
        body = api(world.requester).get(detail_url(service_request.reference)).json()
    assert body["created_at"] == "2026-03-02T10:00:00+05:30"
    assert body["sla"] == {
        "response": {
            "due_at": "2026-03-02T14:00:00+05:30",
            "met_at": "2026-03-02T10:00:00+05:30",
            "status": "met",
            "remaining_seconds": 4 * 3600,
        },
        "resolution": {
            "due_at": "2026-03-03T10:00:00+05:30",
            "met_at": None,
            "status": "at_risk",
            "remaining_seconds": 4 * 3600,
        },
        "paused": False,
        "policy_version": 1,
    }
    # The vendor's OLA started at triage, the same instant here, so it reads the same; it names the vendor.
    assert body["ola"] == {**body["sla"], "vendor": "optit"}
    assert (body["vendor"], body["assignee"]) == ("optit", "opti-eng")


def test_detail_of_a_breached_request_shows_negative_time_left(world, api):
    start = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.get_default_timezone())
    with time_machine.travel(start, tick=False):
        service_request = walk_to(world, RequestState.SUBMITTED, priority=Priority.P0)
    with time_machine.travel(start + timedelta(hours=10), tick=False):
        sla = api(world.pm).get(detail_url(service_request.reference)).json()["sla"]
    assert (sla["response"]["status"], sla["response"]["remaining_seconds"]) == ("breached", -6 * 3600)
    assert (sla["resolution"]["status"], sla["resolution"]["remaining_seconds"]) == ("on_track", 14 * 3600)


# --- editing -------------------------------------------------------------------------------------------
def test_requester_edits_title_and_description(world, api):
    service_request = walk_to(world, RequestState.SUBMITTED)
    response = api(world.requester).patch(
        detail_url(service_request.reference), {"title": "  Bigger namespace ", "description": "8 CPUs"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert (response.json()["title"], response.json()["description"]) == ("Bigger namespace", "8 CPUs")
    assert service_request.events.last().kind == EventKind.UPDATED


def test_pm_changes_priority_only_with_a_reason(world, api):
    service_request = walk_to(world, RequestState.QUEUED)
    url = detail_url(service_request.reference)
    response = api(world.pm).patch(url, {"priority": "P1"}, format="json")
    assert response.status_code == 400
    assert "reason" in error_of(response)["fields"]
    response = api(world.pm).patch(url, {"priority": "P1", "reason": "Production down"}, format="json")
    assert response.status_code == 200
    assert response.json()["priority"] == "P1"
    assert service_request.events.last().kind == EventKind.PRIORITY_CHANGED


def test_requester_cannot_change_priority(world, api):
    service_request = walk_to(world, RequestState.SUBMITTED)
    response = api(world.requester).patch(
        detail_url(service_request.reference), {"priority": "P0", "reason": "Urgent"}, format="json"
    )
    assert response.status_code == 400
    assert "priority" in error_of(response)["fields"]
    service_request.refresh_from_db()
    assert service_request.priority == Priority.P2


def test_vendor_cannot_edit(world, api):
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    response = api(world.vendor_engineer).patch(detail_url(service_request.reference), {"title": "x"}, format="json")
    assert response.status_code == 403


def test_closed_requests_cannot_be_edited(world, api):
    service_request = walk_to(world, RequestState.CANCELLED)
    response = api(world.requester).patch(detail_url(service_request.reference), {"title": "x"}, format="json")
    assert response.status_code == 409


def test_put_and_delete_are_not_allowed(world, api):
    service_request = walk_to(world, RequestState.SUBMITTED)
    url = detail_url(service_request.reference)
    assert api(world.pm).put(url, {"title": "x"}, format="json").status_code == 405
    response = api(world.pm).delete(url)
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert ServiceRequest.objects.filter(pk=service_request.pk).exists()


# --- listing -------------------------------------------------------------------------------------------
def _references(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["reference"] for row in response.json()["results"]]


@pytest.fixture
def spread(world):
    """Five requests that differ in every filterable way, filed a day apart."""
    start = timezone.now() - timedelta(days=10)
    other_env = f.EnvironmentFactory(code="bihar", name="Bihar")
    erp = f.StackFactory(code="erp", name="ERP")
    f.VendorOnboardingFactory(vendor=world.vendor_b, environment=other_env)
    rows = {}
    with time_machine.travel(start, tick=False):
        rows["queued"] = walk_to(world, RequestState.QUEUED, title="Jenkins agent")
    with time_machine.travel(start + timedelta(days=1), tick=False):
        rows["working"] = walk_to(world, RequestState.IN_PROGRESS, priority=Priority.P0, title="Prod outage")
    with time_machine.travel(start + timedelta(days=2), tick=False):
        rows["access"] = walk_to(world, RequestState.PENDING_APPROVAL, title="VPN access")
    with time_machine.travel(start + timedelta(days=3), tick=False):
        rows["bihar"] = file_request(world, environment=other_env, stack=erp, title="ERP upgrade")
    with time_machine.travel(start + timedelta(days=4), tick=False):
        rows["new"] = file_request(world, priority=Priority.P3, title="Grafana dashboard")
    return rows


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"state": "queued"}, ["queued"]),
        ({"state": ["queued", "in_progress"]}, ["working", "queued"]),
        ({"priority": "P0"}, ["working"]),
        ({"priority": "P3"}, ["new"]),
        ({"type": "AccessOps"}, ["access"]),
        ({"environment": "bihar"}, ["bihar"]),
        ({"stack": "erp"}, ["bihar"]),
        ({"vendor": "optit"}, ["access", "working", "queued"]),
        ({"vendor": "gwl"}, []),
        ({"assignee": "opti-eng"}, ["working"]),
        ({"vendor": "no-such-vendor"}, []),
        ({"environment": "atlantis"}, []),
        ({"stack": "cobol"}, []),
        ({"assignee": "nobody"}, []),
        ({"vendor": "optit", "state": "queued", "ordering": "response_due_at"}, ["queued"]),
        ({"q": "grafana"}, ["new"]),
        ({"q": "  ERP upg "}, ["bihar"]),
    ],
)
def test_filters(world, api, spread, params, expected):
    response = api(world.pm).get(LIST_URL, {"ordering": "-created", **params})  # newest first, as listed above
    assert _references(response) == [spread[name].reference for name in expected]


def test_created_range(world, api, spread):
    after = spread["working"].created_at
    before = spread["bihar"].created_at
    window = {"created_after": after.isoformat(), "created_before": before.isoformat(), "ordering": "-created"}
    response = api(world.pm).get(LIST_URL, window)
    assert _references(response) == [spread["access"].reference, spread["working"].reference]
    day = timezone.localtime(spread["new"].created_at).date().isoformat()
    response = api(world.pm).get(LIST_URL, {"created_after": day})
    assert _references(response) == [spread["new"].reference]


def test_q_finds_by_reference(world, api, spread):
    reference = spread["access"].reference
    assert _references(api(world.pm).get(LIST_URL, {"q": reference})) == [reference]
    assert _references(api(world.pm).get(LIST_URL, {"q": reference.lower()})) == [reference]


@pytest.mark.parametrize(
    ("ordering", "field"),
    [
        ("response_due_at", "response_due_at"),
        ("-response_due_at", "response_due_at"),
        ("resolution_due_at", "resolution_due_at"),
        ("created_at", "created_at"),
        ("-created_at", "created_at"),
    ],
)
def test_ordering(world, api, spread, ordering, field):
    references = _references(api(world.pm).get(LIST_URL, {"ordering": ordering}))
    rows = ServiceRequest.objects.in_bulk(field_name="reference")
    values = [getattr(rows[reference], field) for reference in references]
    assert len(values) == 5
    assert values == sorted(values, reverse=ordering.startswith("-"))
    assert references != _references(api(world.pm).get(LIST_URL, {"ordering": _flip(ordering)}))


def _flip(ordering: str) -> str:
    return ordering[1:] if ordering.startswith("-") else f"-{ordering}"


def test_default_order_is_urgency_and_nonsense_ordering_is_ignored(world, api, spread):
    rows = ServiceRequest.objects.all()
    far = timezone.now() + timedelta(days=3650)
    urgent_first = [
        r.reference for r in sorted(rows, key=lambda r: (r.next_due_at is None, r.next_due_at or far, r.pk))
    ]
    assert _references(api(world.pm).get(LIST_URL)) == urgent_first
    assert _references(api(world.pm).get(LIST_URL, {"ordering": "nonsense,-title,password"})) == urgent_first
    newest_first = [spread[name].reference for name in ("new", "bihar", "access", "working", "queued")]
    assert _references(api(world.pm).get(LIST_URL, {"ordering": "-created"})) == newest_first


def test_pagination_caps_page_size_at_200(world, api):
    f.ServiceRequestFactory.create_batch(
        205, environment=world.environment, team=world.team_a, requester=world.requester
    )
    client = api(world.pm)
    body = client.get(LIST_URL, {"page_size": 99999}).json()
    assert (body["count"], len(body["results"])) == (205, 200)
    assert body["next"].endswith("page=2&page_size=99999")
    assert len(client.get(LIST_URL, {"page_size": 99999, "page": 2}).json()["results"]) == 5
    assert len(client.get(LIST_URL).json()["results"]) == 50
    assert len(client.get(LIST_URL, {"page_size": 7}).json()["results"]) == 7
    assert len(client.get(LIST_URL, {"page_size": "abc"}).json()["results"]) == 50
    assert len(client.get(LIST_URL, {"page": "last"}).json()["results"]) == 5


def test_bad_page_numbers(world, api):
    walk_to(world, RequestState.SUBMITTED)
    response = api(world.pm).get(LIST_URL, {"page": "abc"})
    assert response.status_code == 400
    assert "page" in error_of(response)["fields"]
    response = api(world.pm).get(LIST_URL, {"page": 99})
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def _requests(world, count: int) -> None:
    """`count` requests in a mix of states, so vendor, assignee and stack joins all have something to load."""
    for index in range(count):
        state = (RequestState.SUBMITTED, RequestState.QUEUED, RequestState.IN_PROGRESS)[index % 3]
        walk_to(world, state, title=f"Request {index}")


@pytest.mark.parametrize("role", ["pm", "requester", "vendor_engineer"])
def test_list_query_count_does_not_grow_with_rows(world, api, django_assert_max_num_queries, role):
    client = api(world.users[role])
    counts = []
    for total in (5, 30):
        _requests(world, total - ServiceRequest.objects.count())
        client.get(LIST_URL)  # warm the user's permission cache, as any earlier request would have
        # count, page, clocks, their policies, their vendors
        with CaptureQueriesContext(connection) as captured, django_assert_max_num_queries(5):
            response = client.get(LIST_URL)
        assert response.status_code == 200
        assert len(response.json()["results"]) > 0
        counts.append(len(captured))
    assert counts[0] == counts[1]


def test_filing_checks_automation_parameters_against_the_catalogue(world, api):
    bad = api(world.requester).post(
        LIST_URL, _filing(world, parameters={"namespace": "Not A Label!", "cpu": "4", "memory": "8Gi"}), format="json"
    )
    assert bad.status_code == 400
    assert "parameters.namespace" in error_of(bad)["fields"]
    assert not ServiceRequest.objects.exists()
    good = api(world.requester).post(
        LIST_URL, _filing(world, parameters={"namespace": "mgramseva-uat", "cpu": "4", "memory": "8Gi"}), format="json"
    )
    assert good.status_code == 201, good.content
    assert good.json()["parameters"]["namespace"] == "mgramseva-uat"


def test_parameters_can_be_added_after_filing_and_are_checked(world, api):
    service_request = walk_to(world, RequestState.SUBMITTED)
    url = detail_url(service_request.reference)
    bad = api(world.requester).patch(url, {"parameters": {"namespace": "x", "cpu": "lots"}}, format="json")
    assert bad.status_code == 400 and "parameters.memory" in error_of(bad)["fields"]
    good = {"namespace": "mgramseva-uat", "cpu": "4", "memory": "8Gi"}
    response = api(world.requester).patch(url, {"parameters": good}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["parameters"]["namespace"] == "mgramseva-uat"
    assert service_request.events.filter(kind=EventKind.UPDATED).count() == 1
