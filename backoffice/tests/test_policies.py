"""The SLA policies section: the what-if of a draft, saving a revision (for new or also open requests), the audit
record, the pages and the API, and who may do what."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse

from backoffice.models import Area, ChangeRecord
from backoffice.policies import (
    Compliance,
    quarter_requests,
    sla_compliance,
    sla_policy_save,
    sla_policy_what_if,
)
from portal.exceptions import Conflict, Forbidden, ValidationFailed
from requests_app import services
from requests_app.choices import EventKind, Priority
from requests_app.models import ServiceRequest
from requests_app.testing.workflow import file_request
from sla.choices import Clock, Measure
from sla.defaults import ensure_defaults
from sla.models import RequestClock, SlaPolicy

pytestmark = pytest.mark.django_db

IST = ZoneInfo("Asia/Kolkata")
# A 4-hour response (earlier than 1 working day) and a 5-working-day resolution (later than 3).
DRAFT = {"response_goal": Decimal(4), "response_unit": "hours", "resolution_goal": Decimal(5)}


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=IST)


NOW = at(20, 12)  # Friday; 16–20 Nov 2026 are working days on the national calendar, 9:30–18:00


@pytest.fixture
def quarter(world):
    """P2 requests on the national calendar with known clocks at NOW (working days of 8 h 30):

    A  filed Mon 10:00, picked up after 1 h, resolved after 10 h 30          (closed)
    B  filed Mon 10:00, picked up after 6 h, resolved after 32 h 30          (closed)
    C  filed Mon 10:00, never triaged: 36 h on both clocks at NOW             (open)
    F  filed Mon 10:00, picked up after 1 h, in progress: 36 h to resolve     (open)
    D  filed Fri 10:00, never triaged: 2 h at NOW                             (open)
    plus a P3 (another priority, left alone) and a P2 filed in August and never triaged: outside the 13 weeks, so
    not in the compliance figures, but open, so its clocks move with the others.
    """
    ensure_defaults()
    refs = {}
    with time_machine.travel(at(3, 10, month=8), tick=False):
        refs["old"] = file_request(world).reference
    with time_machine.travel(at(16, 10), tick=False) as clock:
        a, b, c, f = (file_request(world) for _ in range(4))
        refs["p3"] = file_request(world, priority=Priority.P3).reference
        for sr in (a, b, f):
            services.request_triage(sr, actor=world.pm, vendor=world.vendor_a)
        clock.move_to(at(16, 11))
        services.request_pick_up(ServiceRequest.objects.get(pk=a.pk), actor=world.vendor_engineer)
        services.request_pick_up(ServiceRequest.objects.get(pk=f.pk), actor=world.vendor_engineer)
        clock.move_to(at(16, 16))
        services.request_pick_up(ServiceRequest.objects.get(pk=b.pk), actor=world.vendor_engineer)
        clock.move_to(at(17, 12))
        services.request_resolve(ServiceRequest.objects.get(pk=a.pk), actor=world.vendor_engineer, reason="Done")
        clock.move_to(at(19, 17))
        services.request_resolve(ServiceRequest.objects.get(pk=b.pk), actor=world.vendor_engineer, reason="Done")
        clock.move_to(at(20, 10))
        d = file_request(world)
    refs.update(a=a.reference, b=b.reference, c=c.reference, d=d.reference, f=f.reference)
    return refs


def stored_compliance() -> dict[str, Compliance]:
    cohort = quarter_requests(Priority.P2, now=NOW)
    return sla_compliance(RequestClock.objects.filter(service_request__in=cohort), now=NOW)


def stored_due(reference: str, clock: str, measure: str) -> datetime | None:
    return RequestClock.objects.get(service_request__reference=reference, clock=clock, measure=measure).due_at


def test_what_if_figures_are_those_of_the_known_clocks(quarter):
    what_if = sla_policy_what_if(priority=Priority.P2, fields=DRAFT, now=NOW)

    assert what_if.requests == 5  # A, B, C, D, F: not the August one, not the P3
    # Response: A, B, F met and C breached; under 4 h, B (6 h) is breached too. D is still in time either way.
    assert what_if.before[Measure.RESPONSE] == Compliance(met=3, breached=1)
    assert what_if.after[Measure.RESPONSE] == Compliance(met=2, breached=2)
    assert (what_if.before[Measure.RESPONSE].percent, what_if.after[Measure.RESPONSE].percent) == (75, 50)
    # Resolution: only A met 3 days; B was late, C and F run past due. Under 5 days, B met and C, F are in time.
    assert what_if.before[Measure.RESOLUTION] == Compliance(met=1, breached=3)
    assert what_if.after[Measure.RESOLUTION] == Compliance(met=2, breached=0)
    # Open clocks: C's and D's responses come earlier; C's, D's and F's resolutions (SLA, and F's OLA) later.
    moved = {(c.reference, c.clock, c.measure): c.earlier for c in what_if.changes}
    assert moved == {
        (quarter["old"], Clock.SLA, Measure.RESPONSE): True,
        (quarter["old"], Clock.SLA, Measure.RESOLUTION): False,
        (quarter["c"], Clock.SLA, Measure.RESPONSE): True,
        (quarter["c"], Clock.SLA, Measure.RESOLUTION): False,
        (quarter["d"], Clock.SLA, Measure.RESPONSE): True,
        (quarter["d"], Clock.SLA, Measure.RESOLUTION): False,
        (quarter["f"], Clock.SLA, Measure.RESOLUTION): False,
        (quarter["f"], Clock.OLA, Measure.RESOLUTION): False,
    }
    assert (what_if.changed, what_if.earlier, what_if.later) == (8, 3, 5)
    c_response = next(c for c in what_if.changes if (c.reference, c.measure) == (quarter["c"], Measure.RESPONSE))
    assert (c_response.due_before, c_response.due_after) == (at(17, 10), at(16, 14))
    assert not ChangeRecord.objects.exists() and SlaPolicy.objects.filter(priority="P2").count() == 1  # wrote nothing


def test_what_if_matches_applying_to_open_requests_then_recomputing(quarter, world):
    # "Before" is what the stored clocks say today.
    what_if = sla_policy_what_if(priority=Priority.P2, fields=DRAFT, now=NOW)
    assert what_if.before == stored_compliance()

    with time_machine.travel(NOW, tick=False):
        revision = sla_policy_save(
            actor=world.pm, priority=Priority.P2, fields=DRAFT, reason="Faster first response", apply_to="open"
        )
    assert sorted(revision.retargeted) == sorted(quarter[k] for k in ("old", "c", "d", "f"))
    # Every open clock the what-if named now has the due time it predicted; no other open clock moved.
    for change in what_if.changes:
        assert stored_due(change.reference, change.clock, change.measure) == change.due_after
    # The closed requests keep their revision; re-applying it to them the way the command does, the stored clocks
    # of the whole quarter give exactly the what-if's figures.
    assert RequestClock.objects.get(service_request__reference=quarter["a"], clock="sla", measure="response").policy
    call_command("sla_replay", quarter["a"], quarter["b"], "--under", "current", "--apply")
    assert stored_compliance() == what_if.after
    c = ServiceRequest.objects.get(reference=quarter["c"])
    assert c.events.filter(kind=EventKind.SLA_RECOMPUTED).exists()  # the move is on the request's timeline


def test_applying_to_new_requests_only_leaves_open_clocks_alone(quarter, world):
    before = stored_due(quarter["c"], Clock.SLA, Measure.RESPONSE)
    revision = sla_policy_save(actor=world.pm, priority=Priority.P2, fields=DRAFT, reason="Faster", apply_to="new")
    assert revision.retargeted == [] and revision.policy.version == 2
    assert stored_due(quarter["c"], Clock.SLA, Measure.RESPONSE) == before
    new = file_request(world)
    assert RequestClock.objects.get(service_request=new, clock="sla", measure="response").policy == revision.policy


def test_a_revision_is_recorded_with_who_why_before_and_after(world):
    ensure_defaults()
    revision = sla_policy_save(
        actor=world.pm, priority=Priority.P1, fields={"at_risk_ratio": Decimal("0.5")}, reason="Warn earlier"
    )
    record = ChangeRecord.objects.get()
    assert (record.area, record.action, record.actor, record.reason) == (
        Area.SLA_POLICY, "Revised P1 policy", world.pm, "Warn earlier",
    )  # fmt: skip
    assert record.object_id == str(revision.policy.pk)
    assert (record.before["version"], record.before["at_risk_ratio"]) == (1, "0.75")
    assert (record.after["version"], record.after["at_risk_ratio"], record.after["applied_to"]) == (2, "0.50", "new")
    assert revision.policy.note == "Warn earlier" and revision.policy.created_by == world.pm


def test_nothing_is_saved_without_a_reason_valid_goals_or_the_right_person(world):
    ensure_defaults()
    with pytest.raises(ValidationFailed) as no_reason:
        sla_policy_save(actor=world.pm, priority="P2", fields=DRAFT, reason=" ")
    assert "reason" in no_reason.value.fields
    with pytest.raises(ValidationFailed) as bad_goal:
        sla_policy_save(actor=world.pm, priority="P2", fields={"at_risk_ratio": Decimal("1.5")}, reason="x")
    assert "at_risk_ratio" in bad_goal.value.fields
    with pytest.raises(Forbidden):
        sla_policy_save(actor=world.approver, priority="P2", fields=DRAFT, reason="x")
    with pytest.raises(Conflict):
        sla_policy_save(actor=world.pm, priority="P2", fields=DRAFT, reason="x", based_on_version=7)
    assert SlaPolicy.objects.filter(priority="P2").count() == 1 and not ChangeRecord.objects.exists()


# --- the pages -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "role,overview,revise",
    [("pm", 200, 200), ("approver", 200, 403), ("requester", 403, 403), ("vendor_lead", 403, 403)],
)
def test_who_opens_the_pages(client, world, role, overview, revise):
    ensure_defaults()
    client.force_login(world.users[role])
    assert client.get(reverse("backoffice-sla-policies")).status_code == overview
    assert client.get(reverse("backoffice-sla-policy-revise", args=["P2"])).status_code == revise
    empty_draft = client.post(reverse("backoffice-sla-policy-revise", args=["P2"]), {})
    assert empty_draft.status_code == (400 if revise == 200 else revise)  # the PM gets the form's errors back


def _form(**changes: str) -> dict[str, str]:
    fields = {
        "response_goal": "4", "response_unit": "hours", "response_clock": "working", "resolution_goal": "5",
        "resolution_unit": "working_days", "resolution_clock": "working", "at_risk_ratio": "0.75",
        "based_on_version": "1",
    }  # fmt: skip
    return {**fields, **changes}


def test_draft_what_if_confirm_in_the_browser_pages(client, world, quarter):
    client.force_login(world.pm)
    url = reverse("backoffice-sla-policy-revise", args=["P2"])
    form = client.get(url)
    assert 'name="response_goal" value="1.00"' in form.content.decode()  # starts from the current revision

    bad = client.post(url, _form(response_goal="0", step="preview"))
    assert bad.status_code == 400 and "Ensure this value is greater than or equal to 0.01" in bad.content.decode()

    with time_machine.travel(NOW, tick=False):
        preview = client.post(url, _form(step="preview"))
    page = preview.content.decode()
    assert preview.status_code == 200
    assert "Response compliance would have been\n      <strong>50.00 %</strong>" in page
    assert "instead of <strong>75.00 %</strong>" in page
    assert "8 open clocks would change due time if you apply the revision to open requests: 3 earlier, 5 later" in page
    assert SlaPolicy.objects.filter(priority="P2").count() == 1  # a preview saves nothing

    no_reason = client.post(url, _form(step="confirm", apply_to="open", reason=""))
    assert no_reason.status_code == 400 and SlaPolicy.objects.filter(priority="P2").count() == 1

    saved = client.post(url, _form(step="confirm", apply_to="open", reason="Faster first response"), follow=True)
    assert "Saved P2 policy version 2; the clocks of 4 open requests now run under it." in saved.content.decode()
    overview = client.get(reverse("backoffice-sla-policies")).content.decode()
    assert "Earlier revisions of P2" in overview and "Faster first response" in overview

    stale = client.post(url, _form(step="confirm", apply_to="new", reason="Again"))
    assert stale.status_code == 400 and "was revised (now version 2)" in stale.content.decode()


# --- the API ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "role,read,write",
    [("pm", 200, 200), ("approver", 200, 403), ("requester", 403, 403), ("vendor_engineer", 403, 403)],
)
def test_api_who_may_read_and_write(client, world, role, read, write):
    ensure_defaults()
    client.force_login(world.users[role])
    assert client.get("/api/v1/sla-policies/").status_code == read
    policy = SlaPolicy.objects.get(priority="P2")
    assert client.get(f"/api/v1/sla-policies/{policy.pk}/").status_code == read
    draft = {"priority": "P2", "response_goal": "4", "response_unit": "hours"}
    assert client.post("/api/v1/sla-policies/what-if/", draft, content_type="application/json").status_code == write
    created = client.post("/api/v1/sla-policies/", {**draft, "reason": "Faster"}, content_type="application/json")
    assert created.status_code == (201 if write == 200 else write)


def test_api_what_if_then_create_revision(client, world, quarter):
    client.force_login(world.pm)
    draft = {"priority": "P2", "response_goal": "4", "response_unit": "hours", "resolution_goal": "5"}
    with time_machine.travel(NOW, tick=False):
        body = client.post("/api/v1/sla-policies/what-if/", draft, content_type="application/json").json()
    assert body["requests"] == 5 and body["current_version"] == 1
    assert body["compliance"]["response"] == {
        "before": {"met": 3, "breached": 1, "percent": "75.00"},
        "after": {"met": 2, "breached": 2, "percent": "50.00"},
    }
    assert (body["open_clocks_changed"], body["open_clocks_earlier"], body["open_clocks_later"]) == (8, 3, 5)

    invalid = client.post("/api/v1/sla-policies/", {**draft, "at_risk_ratio": "2"}, content_type="application/json")
    assert invalid.status_code == 400 and "reason" in invalid.json()["error"]["fields"]
    with time_machine.travel(NOW, tick=False):
        created = client.post(
            "/api/v1/sla-policies/",
            {**draft, "reason": "Faster first response", "apply_to": "open", "based_on_version": 1},
            content_type="application/json",
        )
    assert created.status_code == 201, created.json()
    assert created.json()["policy"]["version"] == 2 and len(created.json()["retargeted"]) == 4
    assert stored_due(quarter["c"], Clock.SLA, Measure.RESPONSE) == at(16, 14)
    history = client.get("/api/v1/sla-policies/", {"priority": "P2"}).json()["results"]
    assert [(r["version"], r["is_current"], r["created_by"]) for r in history] == [(2, True, "pm"), (1, False, None)]
    stale = client.post(
        "/api/v1/sla-policies/", {**draft, "reason": "Again", "based_on_version": 1}, content_type="application/json"
    )
    assert stale.status_code == 409
    records = client.get("/api/v1/management/changes/", {"area": "sla_policy"}).json()["results"]
    assert [(r["action"], r["reason"]) for r in records] == [("Revised P2 policy", "Faster first response")]


def test_the_pm_chooses_which_pause_reasons_stop_the_clocks_on_the_page_and_in_the_api(client, world):
    ensure_defaults()
    client.force_login(world.pm)
    url = reverse("backoffice-sla-policy-revise", args=["P2"])
    page = client.get(url).content.decode()
    assert 'name="pause_reasons" value="waiting_on_requester"' in page and "Waiting on a third party" in page
    assert "Clocks pause while" in client.get(reverse("backoffice-sla-policies")).content.decode()

    chosen = ["waiting_on_third_party", "waiting_on_requester"]
    form = _form(step="confirm", apply_to="new", reason="Vendors wait on DNS providers")
    saved = client.post(url, {**form, "pause_reasons": chosen})
    assert saved.status_code == 302, saved.content.decode()
    policy = SlaPolicy.objects.get(priority="P2", is_current=True)
    assert policy.pause_reasons == ["waiting_on_requester", "waiting_on_third_party"]  # in the one order
    record = ChangeRecord.objects.get()
    assert (record.before["pause_reasons"], record.after["pause_reasons"]) == (
        ["waiting_on_requester"], ["waiting_on_requester", "waiting_on_third_party"],
    )  # fmt: skip
    overview = client.get(reverse("backoffice-sla-policies")).content.decode()
    assert "waiting on requester, waiting on a third party" in overview

    bad = client.post(
        "/api/v1/sla-policies/",
        {"priority": "P3", "pause_reasons": ["lunch"], "reason": "x"},
        content_type="application/json",
    )
    assert bad.status_code == 400 and "pause_reasons.0" in bad.json()["error"]["fields"]
    created = client.post(
        "/api/v1/sla-policies/",
        {"priority": "P3", "pause_reasons": ["change_freeze", "blocked"], "reason": "Freezes stop the clock"},
        content_type="application/json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["policy"]["pause_reasons"] == ["change_freeze", "blocked"]
    unchanged = client.post(
        "/api/v1/sla-policies/",
        {"priority": "P3", "response_goal": "3", "reason": "x"},
        content_type="application/json",
    )
    assert unchanged.json()["policy"]["pause_reasons"] == ["change_freeze", "blocked"]  # left out: kept
