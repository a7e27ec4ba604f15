"""The workflow over the API: every transition × every role, invalid transitions, and the pick-up race."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from requests_app import services
from requests_app.choices import RequestState
from requests_app.models import ServiceRequest
from requests_app.testing.workflow import walk_to

from .helpers import detail_url, error_of, transition_url

pytestmark = pytest.mark.django_db

S = RequestState
ROLES = [
    "requester",
    "other_requester",
    "vendor_engineer",
    "vendor_lead",
    "other_vendor_engineer",
    "other_vendor_lead",
    "pm",
    "approver",
    "anonymous",
]

# THE SPECIFICATION. One row per transition: the state it is tried from, the state it leads to, the body sent,
# and the answer each role gets. 200 = allowed; 403 = sees the request but may not; 404 = cannot see it
# (vendors see nothing before triage assigns their vendor; the other team and the other vendor never see it);
# 401 = anonymous.
#   requester  other_req  v_eng  v_lead  other_v_eng  other_v_lead  pm  approver  anonymous
MATRIX: dict[str, tuple[str, str, dict, tuple[int, ...]]] = {
    "triage": (S.SUBMITTED, S.QUEUED, {"vendor": "optit"},
               (403, 404, 404, 404, 404, 404, 200, 403, 401)),
    "approve": (S.PENDING_APPROVAL, S.QUEUED, {},
                (403, 404, 403, 403, 404, 404, 403, 200, 401)),
    "deny": (S.PENDING_APPROVAL, S.REJECTED, {"reason": "Too broad"},
             (403, 404, 403, 403, 404, 404, 403, 200, 401)),
    "pick_up": (S.QUEUED, S.IN_PROGRESS, {},
                (403, 404, 200, 200, 404, 404, 403, 403, 401)),
    "reassign": (S.QUEUED, S.IN_PROGRESS, {"assignee": "opti-eng"},
                 (403, 404, 403, 200, 404, 404, 200, 403, 401)),
    "request_info": (S.IN_PROGRESS, S.WAITING_ON_REQUESTER, {"reason": "Which cluster?"},
                     (403, 404, 200, 200, 404, 404, 403, 403, 401)),
    "provide_info": (S.WAITING_ON_REQUESTER, S.IN_PROGRESS, {"reason": "UAT"},
                     (200, 404, 403, 403, 404, 404, 403, 403, 401)),
    "escalate": (S.IN_PROGRESS, S.BLOCKED, {"reason": "No quota"},
                 (403, 404, 200, 200, 404, 404, 200, 403, 401)),
    "unblock": (S.BLOCKED, S.IN_PROGRESS, {},
                (403, 404, 403, 403, 404, 404, 200, 200, 401)),
    "resolve": (S.IN_PROGRESS, S.RESOLVED, {"reason": "Namespace created"},
                (403, 404, 200, 200, 404, 404, 403, 403, 401)),
    "confirm": (S.RESOLVED, S.CLOSED, {},
                (200, 404, 403, 403, 404, 404, 403, 403, 401)),
    "reopen": (S.RESOLVED, S.IN_PROGRESS, {"reason": "Still no quota"},
               (200, 404, 403, 403, 404, 404, 403, 403, 401)),
    "reject": (S.SUBMITTED, S.REJECTED, {"reason": "Duplicate"},
               (403, 404, 404, 404, 404, 404, 200, 403, 401)),
    "cancel": (S.SUBMITTED, S.CANCELLED, {},
               (200, 404, 404, 404, 404, 404, 403, 403, 401)),
    # Only the system closes quietly resolved requests; tried after the quiet period, so only permission refuses.
    "auto_close": (S.RESOLVED, S.CLOSED, {},
                   (403, 404, 403, 403, 404, 404, 403, 403, 401)),
}  # fmt: skip

CASES = [
    pytest.param(name, role, expected, id=f"{name}-{role}-{expected}")
    for name, (_source, _target, _body, statuses) in MATRIX.items()
    for role, expected in zip(ROLES, statuses, strict=True)
]


def test_the_matrix_covers_every_transition_and_every_role(world):
    assert set(MATRIX) == set(services.TRANSITIONS)
    assert set(ROLES) == {*world.users, "anonymous"}


@pytest.mark.parametrize(("name", "role", "expected"), CASES)
def test_transition_as_role(world, api, name, role, expected):
    source, target, body, _statuses = MATRIX[name]
    service_request = walk_to(world, source)
    user = None if role == "anonymous" else world.users[role]
    events_before = service_request.events.count()

    travel = time_machine.travel(timezone.now() + timedelta(days=6)) if name == "auto_close" else None
    if travel:
        travel.start()
    try:
        response = api(user).post(transition_url(service_request.reference, name), body, format="json")
    finally:
        if travel:
            travel.stop()

    assert response.status_code == expected, response.content
    service_request.refresh_from_db()
    if expected == 200:
        assert response.json()["state"] == target
        assert service_request.state == target
        assert service_request.events.last().kind == name
    else:
        error_of(response)
        assert service_request.state == source
        assert service_request.events.count() == events_before


@pytest.mark.parametrize(
    ("state", "name", "role", "allowed"),
    [
        (S.SUBMITTED, "pick_up", "pm", ["triage", "reject"]),
        (S.SUBMITTED, "confirm", "requester", ["cancel"]),
        (S.QUEUED, "resolve", "vendor_engineer", ["pick_up", "escalate"]),
        (S.CLOSED, "cancel", "requester", ["reopen"]),
        (S.REJECTED, "triage", "pm", []),
    ],
)
def test_impossible_transition_answers_409_with_the_allowed_ones(world, api, state, name, role, allowed):
    service_request = walk_to(world, state)
    response = api(world.users[role]).post(transition_url(service_request.reference, name), {}, format="json")
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "invalid_transition"
    assert error["allowed"] == allowed
    assert error["state"] == state
    service_request.refresh_from_db()
    assert service_request.state == state


def test_unknown_transition_name_is_404(world, api):
    service_request = walk_to(world, S.SUBMITTED)
    for name in ("fly", "save", "delete", "TRIAGE"):
        response = api(world.pm).post(transition_url(service_request.reference, name), {}, format="json")
        assert response.status_code == 404, name
        assert error_of(response)["code"] == "not_found"
    service_request.refresh_from_db()
    assert service_request.state == S.SUBMITTED


def test_refusal_comes_before_input_errors(world, api):
    """A requester sending a bad body to a vendor-only step learns it is forbidden, not which field is wrong."""
    service_request = walk_to(world, S.IN_PROGRESS)
    response = api(world.requester).post(transition_url(service_request.reference, "resolve"), {}, format="json")
    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"


def test_missing_reason_is_a_field_error(world, api):
    service_request = walk_to(world, S.IN_PROGRESS)
    response = api(world.vendor_engineer).post(transition_url(service_request.reference, "resolve"), {}, format="json")
    assert response.status_code == 400
    assert "reason" in error_of(response)["fields"]


def test_fields_a_transition_does_not_take_are_refused(world, api):
    service_request = walk_to(world, S.QUEUED)
    response = api(world.vendor_engineer).post(
        transition_url(service_request.reference, "pick_up"), {"vendor": "gwl"}, format="json"
    )
    assert response.status_code == 400
    assert "vendor" in error_of(response)["fields"]
    service_request.refresh_from_db()
    assert service_request.state == S.QUEUED


def test_triage_with_an_unknown_vendor_is_a_field_error(world, api):
    service_request = walk_to(world, S.SUBMITTED)
    response = api(world.pm).post(
        transition_url(service_request.reference, "triage"), {"vendor": "nobody"}, format="json"
    )
    assert response.status_code == 400
    assert "nobody" in error_of(response)["fields"]["vendor"][0]


def test_triage_can_change_priority_with_a_reason(world, api):
    service_request = walk_to(world, S.SUBMITTED)
    url = transition_url(service_request.reference, "triage")
    response = api(world.pm).post(url, {"vendor": "gwl", "priority": "P1"}, format="json")
    assert response.status_code == 400
    assert "reason" in error_of(response)["fields"]
    response = api(world.pm).post(url, {"vendor": "gwl", "priority": "P1", "reason": "Blocks UAT"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["state"], body["priority"], body["vendor"]) == (S.QUEUED, "P1", "gwl")


def test_second_pick_up_loses_with_409(world, api):
    service_request = walk_to(world, S.QUEUED)
    url = transition_url(service_request.reference, "pick_up")
    assert api(world.vendor_engineer).post(url, {}, format="json").status_code == 200
    response = api(world.vendor_lead).post(url, {}, format="json")
    assert response.status_code == 409
    assert error_of(response)["code"] in {"invalid_transition", "conflict"}
    service_request.refresh_from_db()
    assert service_request.assignee == world.vendor_engineer


@pytest.mark.django_db(transaction=True)
def test_concurrent_pick_ups_have_exactly_one_winner(world, api):
    service_request = walk_to(world, S.QUEUED)
    url = transition_url(service_request.reference, "pick_up")
    barrier = threading.Barrier(2)
    statuses: dict[str, int] = {}

    def pick_up(role: str) -> None:
        try:
            client = api(world.users[role])
            barrier.wait(timeout=10)
            statuses[role] = client.post(url, {}, format="json").status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=pick_up, args=(role,)) for role in ("vendor_engineer", "vendor_lead")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(statuses.values()) == [200, 409]
    winner = next(role for role, code in statuses.items() if code == 200)
    service_request = ServiceRequest.objects.get(pk=service_request.pk)
    assert service_request.assignee == world.users[winner]
    assert service_request.events.filter(kind="pick_up").count() == 1


def test_transitions_list_shows_what_i_may_do_now(world, api):
    service_request = walk_to(world, S.IN_PROGRESS)
    url = f"{detail_url(service_request.reference)}transitions/"
    by_role = {role: [t["name"] for t in api(world.users[role]).get(url).json()] for role in ("requester", "pm")}
    assert by_role == {"requester": ["cancel"], "pm": ["reassign", "escalate"]}
    engineer = api(world.vendor_engineer).get(url).json()
    assert [t["name"] for t in engineer] == ["request_info", "escalate", "resolve"]
    resolve = next(t for t in engineer if t["name"] == "resolve")
    assert resolve == {
        "name": "resolve",
        "label": "Resolve",
        "reason_label": "Resolution note",
        "reason_required": True,
        "fields": [],
    }
