"""Break-glass access: the on-call engineer takes a short grant during an open P0 without approval; others are
refused; eGov DevOps reviews it (overdue reviews flagged on the approvals page); it expires like any grant."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from incidents.breakglass import break_glass_overdue, break_glass_review, break_glass_take
from incidents.tests.helpers import urgent
from portal.exceptions import Forbidden, NotFound, ValidationFailed
from provisioning import services as provisioning
from provisioning.models import AccessGrant, ProvisioningRun
from provisioning.tests.helpers import drive
from requests_app.choices import EventKind, Priority

K8S = {"system": "kubernetes", "kubernetes_namespace": "payments", "duration_hours": 1}


def taken(world, service_request) -> AccessGrant:
    run = break_glass_take(service_request, actor=world.vendor_engineer, parameters=dict(K8S), reason="Pods crash")
    drive(run)
    return AccessGrant.objects.get(run=run)


def test_the_on_call_engineer_takes_break_glass_access_at_once_and_it_expires(world, rota, traveller):
    service_request = urgent(world)
    grant = taken(world, service_request)
    assert grant.break_glass and grant.subject == world.vendor_engineer.username
    assert grant.expires_at - grant.granted_at == timedelta(hours=1)
    assert ProvisioningRun.objects.get(pk=grant.run_id).break_glass
    assert service_request.events.filter(kind=EventKind.BREAK_GLASS, actor=world.vendor_engineer).exists()
    assert not service_request.events.filter(kind=EventKind.APPROVE).exists()

    traveller.shift(timedelta(minutes=61))
    assert provisioning.access_grants_revoke_expired() == 1
    grant.refresh_from_db()
    assert grant.revoked_at is not None


def test_break_glass_is_refused_off_call_outside_a_p0_and_beyond_the_limit(world, rota, traveller):
    p0 = urgent(world)
    with pytest.raises(NotFound):  # another vendor's engineer does not even see it
        break_glass_take(p0, actor=world.other_vendor_engineer, parameters=dict(K8S), reason="x")
    with pytest.raises(Forbidden):  # the program manager sees it but is not on call
        break_glass_take(p0, actor=world.pm, parameters=dict(K8S), reason="x")
    with pytest.raises(Forbidden):
        break_glass_take(urgent(world, priority=Priority.P1), actor=world.vendor_engineer, parameters=dict(K8S),
                         reason="x")  # fmt: skip
    with pytest.raises(ValidationFailed):
        break_glass_take(p0, actor=world.vendor_engineer, parameters={**K8S, "duration_hours": 3}, reason="x")
    assert not AccessGrant.objects.exists() and not ProvisioningRun.objects.exists()


def test_the_api_takes_break_glass_for_the_secondary_and_refuses_the_requester(world, rota, traveller):
    p0 = urgent(world)
    api = APIClient()
    api.force_authenticate(world.vendor_lead)  # secondary on call now
    body = {"request": p0.reference, "reason": "DB locked", **K8S}
    response = api.post("/api/v1/break-glass/", body, format="json")
    assert response.status_code == 202, response.content
    assert ProvisioningRun.objects.get(pk=response.json()["run"]).parameters["username"] == world.vendor_lead.username
    api.force_authenticate(world.requester)
    assert api.post("/api/v1/break-glass/", body, format="json").status_code == 403


def test_egov_devops_reviews_and_overdue_reviews_are_flagged(world, rota, traveller, client):
    grant = taken(world, urgent(world))
    with pytest.raises(Forbidden):
        break_glass_review(grant.pk, actor=world.pm, note="Looks fine")
    assert not break_glass_overdue().exists()
    traveller.shift(timedelta(hours=25))
    assert list(break_glass_overdue()) == [grant]
    client.force_login(world.approver)
    page = client.get("/approvals/").content.decode()
    assert "Break-glass" in page and 'data-testid="break-glass-overdue"' in page

    api = APIClient()
    api.force_authenticate(world.approver)
    response = api.post(f"/api/v1/break-glass/{grant.pk}/review/", {"note": "Needed for the outage"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["reviewed_by"] == world.approver.username
    assert not break_glass_overdue().exists()
    assert grant.service_request.events.filter(kind=EventKind.BREAK_GLASS_REVIEWED, actor=world.approver).exists()
    request_page = client.get(f"/requests/{grant.service_request.reference}/").content.decode()
    assert 'class="break-glass"' in request_page and "Break-glass" in request_page


def test_the_weekly_report_counts_break_glass_grants_and_their_review(world, rota, traveller, client):
    grant = taken(world, urgent(world))
    api = APIClient()
    api.force_authenticate(world.pm)
    response = api.get("/api/v1/reports/sla/", {"week": "2026-W03"})
    assert response.status_code == 200, response.content
    [entry] = response.json()["break_glass"]
    assert (entry["reference"], entry["subject"], entry["review"]) == (
        grant.service_request.reference, world.vendor_engineer.username, "awaiting",
    )  # fmt: skip
    break_glass_review(grant.pk, actor=world.approver, note="Justified")
    assert api.get("/api/v1/reports/sla/", {"week": "2026-W03"}).json()["break_glass"][0]["review"] == "reviewed"
    client.force_login(world.pm)
    page = client.get("/reports/weekly/", {"week": "2026-W03"}).content.decode()
    assert "Break-glass access <span" in page and "Reviewed by" in page
    api.force_authenticate(world.other_vendor_lead)  # another vendor's lead sees none of it
    assert api.get("/api/v1/reports/sla/", {"week": "2026-W03"}).json()["break_glass"] == []
