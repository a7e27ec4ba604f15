"""The desk over the API: sorting, quick filters, saved views and bulk actions, with the role matrix."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from rest_framework.test import APIClient

from desk.models import SavedView
from desk.selectors import COLUMNS
from requests_app import services
from requests_app.choices import Priority, RequestState, RequestType
from requests_app.models import ServiceRequest
from requests_app.testing.workflow import file_request, walk_to
from requests_app.tests import factories as f
from requests_app.tests.api.helpers import LIST_URL, error_of
from sla.defaults import ensure_defaults

pytestmark = pytest.mark.django_db
IST = ZoneInfo("Asia/Kolkata")
VIEWS_URL = "/api/v1/views/"
BULK_URL = "/api/v1/requests/bulk/"


def client(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def references(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["reference"] for row in response.json()["results"]]


@pytest.fixture
def spread(world):
    """Requests in several states, priorities, types, vendors and teams, with ties on purpose."""
    ensure_defaults()
    second_env = f.EnvironmentFactory(code="bihar", name="Bihar")
    f.VendorOnboardingFactory(vendor=world.vendor_a, environment=second_env)
    rows = []
    with time_machine.travel(datetime(2026, 11, 16, 10, tzinfo=IST), tick=False):
        for priority in (Priority.P2, Priority.P0, Priority.P2, Priority.P1, Priority.P0):
            rows.append(file_request(world, priority=priority))
        rows.append(file_request(world, priority=Priority.P3, request_type=RequestType.TROUBLESHOOTING))
        rows.append(file_request(world, priority=Priority.P2, environment=second_env))
        rows.append(file_request(world, actor=world.other_requester, priority=Priority.P1))
        rows.append(walk_to(world, RequestState.IN_PROGRESS, priority=Priority.P1))
        rows.append(walk_to(world, RequestState.WAITING_ON_REQUESTER, priority=Priority.P2))
        rows.append(walk_to(world, RequestState.BLOCKED, priority=Priority.P0))
        rows.append(walk_to(world, RequestState.CLOSED, priority=Priority.P3))
        queued_b = walk_to(world, RequestState.SUBMITTED, priority=Priority.P1)
        rows.append(services.request_triage(queued_b, actor=world.pm, vendor=world.vendor_b))
    return rows


SORT_FIELDS = {
    "reference": "reference",
    "title": "title",
    "state": "state",
    "priority": "priority",
    "type": "request_type",
    "environment": "environment_id",
    "vendor": "vendor_id",
    "assignee": "assignee_id",
    "team": "team_id",
    "created": "created_at",
}


def _expected(rows: list[ServiceRequest], column: str, descending: bool) -> list[str]:
    """The order by hand: the column (nulls last), then the soonest next due time (nulls last), then id."""
    far = datetime.max.replace(tzinfo=IST)

    def key(row: ServiceRequest) -> tuple:
        urgency = (row.next_due_at is None, row.next_due_at or far, row.pk)
        if column == "sla":
            return urgency
        value = getattr(row, SORT_FIELDS[column])
        if column == "reference":
            return (value, row.pk)
        return (value is None, value if value is not None else "", *urgency)

    return [row.reference for row in sorted(rows, key=key, reverse=descending)]


def test_every_column_sorts_server_side_stably_and_reverses_exactly(spread, pm):
    rows = list(ServiceRequest.objects.all())
    assert set(COLUMNS) == {*SORT_FIELDS, "sla"}
    api = client(pm)
    for column in COLUMNS:
        for descending in (False, True):
            ordering = f"-{column}" if descending else column
            got = references(api.get(LIST_URL, {"ordering": ordering, "page_size": 200}))
            assert got == _expected(rows, column, descending), ordering
            # Paged in threes, the pages join up to the same order: no row repeats or goes missing.
            paged = []
            for page in range(1, len(rows) // 3 + 2):
                response = api.get(LIST_URL, {"ordering": ordering, "page_size": 3, "page": page})
                if response.status_code == 404:
                    break
                paged += references(response)
            assert paged == got, ordering


def test_default_order_is_urgency(spread, pm):
    assert references(client(pm).get(LIST_URL, {"page_size": 200})) == _expected(list(spread), "sla", False)


def test_quick_filters(spread, world, pm):
    api = client(pm)
    by_state = {row.state: row.reference for row in spread}
    waiting = references(api.get(LIST_URL, {"quick": "waiting"}))
    assert waiting == [by_state[RequestState.WAITING_ON_REQUESTER]]
    assert references(api.get(LIST_URL, {"quick": "blocked"})) == [by_state[RequestState.BLOCKED]]
    unassigned = set(references(api.get(LIST_URL, {"quick": "unassigned", "page_size": 200})))
    expected = {r.reference for r in ServiceRequest.objects.open().filter(assignee__isnull=True)}
    assert unassigned == expected and by_state[RequestState.CLOSED] not in unassigned
    mine_engineer = set(references(client(world.vendor_engineer).get(LIST_URL, {"quick": "mine"})))
    assert mine_engineer == {r.reference for r in ServiceRequest.objects.filter(assignee=world.vendor_engineer)}
    assert mine_engineer
    mine_requester = set(references(client(world.other_requester).get(LIST_URL, {"quick": "mine"})))
    assert mine_requester == {r.reference for r in ServiceRequest.objects.filter(requester=world.other_requester)}
    assert error_of(api.get(LIST_URL, {"quick": "everything"}))["fields"].keys() == {"quick"}


def test_breached_quick_filter_lists_open_requests_only_and_agrees_with_the_sla_filter(spread, pm):
    api = client(pm)
    later = datetime(2026, 11, 30, 10, tzinfo=IST)  # two weeks on: every running clock is overdue
    with time_machine.travel(later, tick=False):
        quick = set(references(api.get(LIST_URL, {"quick": "breached", "page_size": 200})))
        sla = set(references(api.get(LIST_URL, {"sla_status": "breached_open", "page_size": 200})))
    open_running = {
        r.reference for r in ServiceRequest.objects.open() if r.next_due_at is not None or r.state == "blocked"
    }
    assert quick == sla
    assert quick <= {r.reference for r in ServiceRequest.objects.open()}
    assert quick >= open_running - {r.reference for r in ServiceRequest.objects.filter(state="waiting_on_requester")}
    closed = ServiceRequest.objects.get(state=RequestState.CLOSED)
    assert closed.reference not in quick


def test_a_vendor_engineer_never_sees_another_vendors_rows_whatever_the_filter(spread, world):
    api = client(world.other_vendor_engineer)
    visible = {r.reference for r in ServiceRequest.objects.visible_to(world.other_vendor_engineer)}
    for params in ({}, {"vendor": "optit"}, {"quick": "unassigned"}, {"ordering": "-vendor"}, {"quick": "breached"}):
        assert set(references(api.get(LIST_URL, {**params, "page_size": 200}))) <= visible, params
    assert references(api.get(LIST_URL, {"vendor": "optit"})) == []


# --- saved views ------------------------------------------------------------------------------------------
def test_a_private_view_is_only_its_owners(spread, world, pm):
    response = client(pm).post(VIEWS_URL, {"name": "Hot", "query": "quick=blocked&ordering=-priority"}, format="json")
    assert response.status_code == 201, response.content
    view = response.json()
    assert view["query"] == "quick=blocked&sort=-priority" and view["sharing"] == "private" and view["mine"]
    other = client(world.approver)
    assert other.get(VIEWS_URL).json()["results"] == []
    assert other.get(f"{VIEWS_URL}{view['id']}/").status_code == 404
    assert error_of(other.get(LIST_URL, {"view": view["id"]}))["fields"] == {"view": ["Unknown view."]}
    blocked = ServiceRequest.objects.get(state=RequestState.BLOCKED).reference
    assert references(client(pm).get(LIST_URL, {"view": view["id"]})) == [blocked]
    waiting = ServiceRequest.objects.get(state=RequestState.WAITING_ON_REQUESTER).reference
    assert references(client(pm).get(LIST_URL, {"view": view["id"], "quick": "waiting"})) == [waiting]  # overrides


def test_a_team_view_is_seen_by_the_team_only_and_changed_by_its_owner_only(spread, world):
    teammate = f.UserFactory(username="chitra")
    world.team_a.members.add(teammate)
    response = client(world.requester).post(
        VIEWS_URL, {"name": "Our P1s", "query": "priority=P1", "sharing": "team"}, format="json"
    )
    assert response.status_code == 201, response.content
    view = response.json()
    assert view["team"] == world.team_a.slug
    seen = client(teammate).get(VIEWS_URL).json()["results"]
    assert [(v["id"], v["mine"]) for v in seen] == [(view["id"], False)]
    assert client(world.other_requester).get(VIEWS_URL).json()["results"] == []
    ours = set(references(client(teammate).get(LIST_URL, {"view": view["id"]})))
    assert ours == {r.reference for r in ServiceRequest.objects.visible_to(teammate).filter(priority="P1")}
    assert client(teammate).patch(f"{VIEWS_URL}{view['id']}/", {"name": "Mine now"}, format="json").status_code == 403
    assert client(teammate).delete(f"{VIEWS_URL}{view['id']}/").status_code == 403
    assert SavedView.objects.get(pk=view["id"]).name == "Our P1s"


def test_a_vendor_view_is_seen_by_that_vendor_only(spread, world):
    view = client(world.vendor_engineer).post(
        VIEWS_URL, {"name": "Blocked", "query": "quick=blocked", "sharing": "vendor"}, format="json"
    )
    assert view.status_code == 201, view.content
    assert [v["name"] for v in client(world.vendor_lead).get(VIEWS_URL).json()["results"]] == ["Blocked"]
    assert client(world.other_vendor_engineer).get(VIEWS_URL).json()["results"] == []
    refused = client(world.requester).post(VIEWS_URL, {"name": "x", "sharing": "vendor"}, format="json")
    assert refused.status_code == 400


def test_one_default_per_list_and_bad_queries_refused(world, pm):
    api = client(pm)
    first = api.post(VIEWS_URL, {"name": "A", "query": "quick=breached", "is_default": True}, format="json").json()
    second = api.post(VIEWS_URL, {"name": "B", "query": "priority=P0", "is_default": True}, format="json").json()
    defaults = SavedView.objects.filter(owner=pm, is_default=True)
    assert list(defaults.values_list("name", flat=True)) == ["B"]
    assert api.patch(f"{VIEWS_URL}{first['id']}/", {"is_default": True}, format="json").json()["is_default"]
    assert list(defaults.values_list("pk", flat=True)) == [first["id"]]
    assert SavedView.objects.get(pk=second["id"]).is_default is False
    bad = api.post(VIEWS_URL, {"name": "C", "query": "drop=table"}, format="json")
    assert error_of(bad)["fields"] == {"query": ["Unknown parameter “drop”."]}
    assert api.post(VIEWS_URL, {"name": "b"}, format="json").status_code == 400  # names are unique per owner
    assert api.delete(f"{VIEWS_URL}{second['id']}/").status_code == 204


# --- bulk -------------------------------------------------------------------------------------------------
@pytest.fixture
def inbox(world):
    ensure_defaults()
    return [file_request(world, priority=Priority.P2, title=f"Inbox {n}") for n in range(3)]


def test_bulk_triage_by_the_pm_runs_each_row_and_reports_refusals(inbox, world, pm):
    already = walk_to(world, RequestState.QUEUED)
    body = {
        "action": "triage",
        "references": [*(r.reference for r in inbox[:2]), already.reference, "REQ-999999"],
        "params": {"vendor": "gwl", "priority": "P2"},
    }
    response = client(pm).post(BULK_URL, body, format="json")
    assert response.status_code == 200, response.content
    result = response.json()
    assert (result["done"], result["refused"]) == (2, 2)
    rows = {row["reference"]: row for row in result["results"]}
    for service_request in inbox[:2]:
        assert rows[service_request.reference]["status"] == "done"
        service_request.refresh_from_db()
        assert (service_request.state, service_request.vendor) == (RequestState.QUEUED, world.vendor_b)
        assert service_request.events.filter(kind="triage", actor=pm).count() == 1  # the same audited service
    assert rows[already.reference]["status"] == "refused"
    assert "queued" in rows[already.reference]["message"].lower()
    assert rows["REQ-999999"] == {
        "reference": "REQ-999999",
        "status": "refused",
        "message": "No request REQ-999999 that you can see.",
        "state": None,
    }


def test_bulk_priority_change_without_a_reason_is_refused_per_row(inbox, pm):
    body = {"action": "triage", "references": [inbox[0].reference], "params": {"vendor": "optit", "priority": "P0"}}
    row = client(pm).post(BULK_URL, body, format="json").json()["results"][0]
    assert row["status"] == "refused" and "why the priority" in row["message"]
    inbox[0].refresh_from_db()
    assert inbox[0].state == RequestState.SUBMITTED


@pytest.mark.parametrize("role", ["requester", "other_vendor_engineer", "approver"])
def test_bulk_triage_by_anyone_but_the_pm_is_refused_row_by_row(inbox, world, role):
    user = getattr(world, role)
    body = {"action": "triage", "references": [r.reference for r in inbox], "params": {"vendor": "optit"}}
    response = client(user).post(BULK_URL, body, format="json")
    assert response.status_code == 200, response.content
    result = response.json()
    assert result["done"] == 0 and result["refused"] == 3
    visible = set(ServiceRequest.objects.visible_to(user).values_list("reference", flat=True))
    for row in result["results"]:
        if row["reference"] in visible:
            assert row["message"] == "You may not triage this request.", row
        else:  # another vendor's engineer: the request does not exist for them, nor does its state
            assert row == {**row, "message": f"No request {row['reference']} that you can see.", "state": None}
    assert set(ServiceRequest.objects.values_list("state", flat=True)) == {RequestState.SUBMITTED}


def test_bulk_assign_and_cancel_across_vendors(world, pm):
    ensure_defaults()
    ours = walk_to(world, RequestState.QUEUED)
    theirs = walk_to(world, RequestState.SUBMITTED)
    services.request_triage(theirs, actor=pm, vendor=world.vendor_b)
    body = {"action": "assign", "references": [ours.reference, theirs.reference], "params": {"assignee": "opti-eng"}}
    result = client(world.vendor_lead).post(BULK_URL, body, format="json").json()
    rows = {row["reference"]: row for row in result["results"]}
    assert rows[ours.reference]["status"] == "done" and rows[ours.reference]["state"] == RequestState.IN_PROGRESS
    assert rows[theirs.reference]["message"] == f"No request {theirs.reference} that you can see."
    theirs.refresh_from_db()
    assert theirs.assignee is None
    cancel = {"action": "cancel", "references": [ours.reference, theirs.reference], "params": {"reason": "dup"}}
    rows = {r["reference"]: r for r in client(world.requester).post(BULK_URL, cancel, format="json").json()["results"]}
    assert rows[ours.reference]["status"] == "done" and rows[theirs.reference]["status"] == "done"
    assert set(ServiceRequest.objects.values_list("state", flat=True)) == {RequestState.CANCELLED}
    pm_cancel = client(pm).post(
        BULK_URL, {**cancel, "references": [walk_to(world, "submitted").reference]}, format="json"
    )
    assert pm_cancel.json()["results"][0]["message"] == "You may not cancel request this request."


def test_bulk_malformed_bodies_are_400(world, pm):
    api = client(pm)
    for body in (
        {},
        {"action": "explode", "references": ["REQ-000001"]},
        {"action": "triage", "references": []},
        {"action": "triage", "references": "REQ-000001"},
        {"action": "assign", "references": ["REQ-000001"], "params": {}},
        {"action": "reassign", "references": ["REQ-000001"], "params": {"vendor": "nobody"}},
        {"action": "triage", "references": [f"REQ-{n:06d}" for n in range(101)]},
    ):
        response = api.post(BULK_URL, body, format="json")
        assert response.status_code == 400, body
        error_of(response)
