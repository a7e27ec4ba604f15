"""The routing section: the program manager adds, changes, deactivates and deletes rules with a reason (each one in
the change history), a duplicate match is a form error or a 400 (never a 500), and the tester, in the browser and the
API, answers with the decision and the explanation `requests_app.routing` gives."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from backoffice.models import Area, ChangeRecord
from requests_app.choices import RequestType
from requests_app.models import RoutingRule

pytestmark = pytest.mark.django_db

API = "/api/v1/routing-rules/"


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def form_data(world, **overrides) -> dict[str, str]:
    data = {
        "request_type": RequestType.GIT_OPS,
        "environment": str(world.environment.pk),
        "stack": "",
        "vendor": str(world.vendor_a.pk),
        "is_active": "on",
        "note": "OptIT owns GitOps in Punjab",
        "reason": "New contract from April",
    }
    return {**data, **overrides}


def test_the_program_manager_adds_a_rule_with_a_reason_and_the_history_keeps_it(client, world):
    client.force_login(world.pm)
    assert client.post(reverse("backoffice-routing-new"), form_data(world)).status_code == 302
    rule = RoutingRule.objects.get()
    assert (rule.request_type, rule.environment, rule.stack, rule.vendor, rule.is_active) == (
        RequestType.GIT_OPS, world.environment, None, world.vendor_a, True,
    )  # fmt: skip
    record = ChangeRecord.objects.get()
    assert (record.area, record.action, record.reason, record.actor) == (
        Area.ROUTING, "Added routing rule", "New contract from April", world.pm,
    )  # fmt: skip
    assert record.after == {"request_type": "GitOps", "environment": "punjab", "stack": None, "vendor": "optit",
                            "is_active": True, "note": "OptIT owns GitOps in Punjab"}  # fmt: skip
    page = client.get(reverse("backoffice-routing")).content.decode()
    assert f"Rule #{rule.pk}" in page and "GitOps" in page and "Any stack" in page and "OptIT" in page


def test_a_change_without_a_reason_is_a_form_error_and_changes_nothing(client, world):
    client.force_login(world.pm)
    response = client.post(reverse("backoffice-routing-new"), form_data(world, reason="  "))
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not RoutingRule.objects.exists() and not ChangeRecord.objects.exists()


def test_a_duplicate_match_is_a_clear_form_error_never_a_500(client, world):
    existing = RoutingRule.objects.create(vendor=world.vendor_b)  # any type / any environment / any stack
    client.force_login(world.pm)
    response = client.post(
        reverse("backoffice-routing-new"), form_data(world, request_type="", environment="", stack="")
    )
    assert response.status_code == 400
    assert (
        f"Rule #{existing.pk} already matches any type / any environment / any stack; edit that rule instead"
        in response.content.decode()
    )
    assert RoutingRule.objects.count() == 1 and not ChangeRecord.objects.exists()


def test_deactivating_and_deleting_are_recorded_with_their_reasons(client, world):
    rule = RoutingRule.objects.create(environment=world.environment, vendor=world.vendor_a)
    client.force_login(world.pm)
    edit = reverse("backoffice-routing-edit", args=[rule.pk])
    data = form_data(world, request_type="", reason="OptIT pauses in Punjab")
    del data["is_active"]
    assert client.post(edit, data).status_code == 302
    rule.refresh_from_db()
    assert rule.is_active is False
    delete = reverse("backoffice-routing-delete", args=[rule.pk])
    refused = client.post(delete, {"reason": ""})
    assert refused.status_code == 400 and RoutingRule.objects.filter(pk=rule.pk).exists()
    assert client.post(delete, {"reason": "Contract ended"}).status_code == 302
    assert not RoutingRule.objects.filter(pk=rule.pk).exists()
    assert list(ChangeRecord.objects.order_by("pk").values_list("action", "reason", "before__is_active")) == [
        ("Deactivated routing rule", "OptIT pauses in Punjab", True),
        ("Deleted routing rule", "Contract ended", False),
    ]


@pytest.mark.parametrize("role", ["approver", "requester", "vendor_lead"])
def test_only_the_program_manager_changes_rules(client, world, role):
    rule = RoutingRule.objects.create(vendor=world.vendor_a)
    client.force_login(world.users[role])
    assert client.post(reverse("backoffice-routing-new"), form_data(world)).status_code == 403
    assert client.post(reverse("backoffice-routing-edit", args=[rule.pk]), form_data(world)).status_code == 403
    assert client.post(reverse("backoffice-routing-delete", args=[rule.pk]), {"reason": "x"}).status_code == 403
    payload = {"vendor": "gwl", "reason": "x"}
    assert api(world.users[role]).post(API, payload).status_code == 403
    assert api(world.users[role]).patch(f"{API}{rule.pk}/", {"reason": "x", "is_active": False}).status_code == 403
    assert api(world.users[role]).delete(f"{API}{rule.pk}/", {"reason": "x"}).status_code == 403
    assert RoutingRule.objects.filter(pk=rule.pk, is_active=True).count() == 1 and not ChangeRecord.objects.exists()


@pytest.mark.parametrize(("role", "status"), [("pm", 200), ("approver", 200), ("requester", 403),
                                              ("vendor_engineer", 403)])  # fmt: skip
def test_the_rules_and_the_tester_are_for_the_management_area(client, world, role, status):
    client.force_login(world.users[role])
    assert client.get(reverse("backoffice-routing")).status_code == status
    query = {"request_type": RequestType.GIT_OPS, "environment": world.environment.pk}
    assert client.get(reverse("backoffice-routing-test"), query).status_code == status
    assert api(world.users[role]).get(API).status_code == status
    body = {"request_type": RequestType.GIT_OPS, "environment": "punjab"}
    assert api(world.users[role]).post(f"{API}test/", body).status_code == status


def test_the_tester_page_says_where_a_request_would_go_and_why(client, world):
    rule = RoutingRule.objects.create(request_type=RequestType.GIT_OPS, environment=world.environment,
                                      vendor=world.vendor_a)  # fmt: skip
    client.force_login(world.approver)
    query = {"request_type": RequestType.GIT_OPS, "environment": world.environment.pk, "stack": world.stack.pk}
    page = client.get(reverse("backoffice-routing-test"), query).content.decode()
    assert "Goes to OptIT" in page
    assert (
        f"A GitOps request for Punjab on the Microservices stack would go to OptIT because rule #{rule.pk} "
        "(GitOps / Punjab / any stack) is the most specific active match; OptIT is live in Punjab." in page
    )
    unrouted = client.get(reverse("backoffice-routing-test"), {**query, "request_type": RequestType.RELEASE})
    assert "Waits in triage, unrouted" in unrouted.content.decode()
    assert "no routing rule matches it" in unrouted.content.decode()


def test_the_api_writes_rules_with_a_reason_and_refuses_a_duplicate(world):
    pm = api(world.pm)
    missing = pm.post(API, {"vendor": "optit", "environment": "punjab"})
    assert missing.status_code == 400 and missing.json()["error"]["fields"] == {"reason": ["Give a reason."]}
    created = pm.post(API, {"vendor": "optit", "environment": "punjab", "reason": "Punjab goes to OptIT"})
    assert created.status_code == 201
    rule_id = created.json()["id"]
    assert created.json() == {"id": rule_id, "request_type": "", "environment": "punjab", "stack": None,
                              "vendor": "optit", "is_active": True, "note": "",
                              "match": "any type / Punjab / any stack"}  # fmt: skip
    duplicate = pm.post(API, {"vendor": "gwl", "environment": "punjab", "reason": "again"})
    assert duplicate.status_code == 400 and duplicate.json()["error"]["code"] == "duplicate_match"
    assert f"Rule #{rule_id} already matches" in duplicate.json()["error"]["message"]
    unknown = pm.post(API, {"vendor": "gwl", "reason": "x", "priority": "P1"})
    assert unknown.status_code == 400 and "priority" in unknown.json()["error"]["fields"]

    assert pm.patch(f"{API}{rule_id}/", {"is_active": False}).status_code == 400
    changed = pm.patch(f"{API}{rule_id}/", {"is_active": False, "reason": "Paused"})
    assert changed.status_code == 200 and changed.json()["is_active"] is False
    assert pm.delete(f"{API}{rule_id}/").status_code == 400
    assert pm.delete(f"{API}{rule_id}/", {"reason": "Gone"}).status_code == 204
    assert not RoutingRule.objects.exists()
    assert list(ChangeRecord.objects.order_by("pk").values_list("action", flat=True)) == [
        "Added routing rule", "Deactivated routing rule", "Deleted routing rule",
    ]  # fmt: skip


def test_the_api_tester_returns_the_vendor_the_rule_and_the_explanation(world):
    rule = RoutingRule.objects.create(environment=world.environment, vendor=world.vendor_b, is_active=False)
    body = api(world.approver).post(f"{API}test/", {"request_type": "GitOps", "environment": "punjab",
                                                    "stack": "ms"}).json()  # fmt: skip
    assert (body["vendor"], body["rule"], body["outcome"]) == (None, None, "rule_inactive")
    assert body["explanation"] == (
        "A GitOps request for Punjab on the Microservices stack would wait in triage unrouted: "
        f"rule #{rule.pk} (any type / Punjab / any stack) matches but is inactive."
    )
    RoutingRule.objects.filter(pk=rule.pk).update(is_active=True)
    body = api(world.approver).post(f"{API}test/", {"request_type": "GitOps", "environment": "punjab"}).json()
    assert (body["vendor"], body["rule"]["id"], body["outcome"]) == ("gwl", rule.pk, "routed")
    bad = api(world.approver).post(f"{API}test/", {"request_type": "Nope", "environment": "mars"})
    assert bad.status_code == 400 and set(bad.json()["error"]["fields"]) == {"request_type", "environment"}
