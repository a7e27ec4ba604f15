"""The management area's shell: who may open it, and the change history every section writes to."""

from __future__ import annotations

import pytest
from django.urls import reverse

from backoffice.audit import record_change
from backoffice.models import Area, ChangeRecord
from portal.exceptions import ValidationFailed

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role,status", [("pm", 200), ("approver", 200), ("requester", 403),
                                         ("vendor_engineer", 403), ("vendor_lead", 403)])  # fmt: skip
def test_only_the_program_manager_and_egov_devops_open_the_area(client, world, role, status):
    client.force_login(world.users[role])
    assert client.get(reverse("backoffice-home")).status_code == status
    assert client.get(reverse("backoffice-history")).status_code == status
    assert client.get("/api/v1/management/changes/").status_code == status


def test_a_change_needs_a_reason_and_records_who_what_and_why(client, world):
    with pytest.raises(ValidationFailed) as caught:
        record_change(actor=world.pm, area=Area.ROUTING, action="Added rule", obj=world.vendor_a, reason="  ")
    assert caught.value.fields == {"reason": ["Give a reason."]}
    assert not ChangeRecord.objects.exists()

    record_change(
        actor=world.pm, area=Area.ROUTING, action="Added rule", obj=world.vendor_a, reason="New partner in Bihar",
        before=None, after={"vendor": world.vendor_a.slug},
    )  # fmt: skip
    client.force_login(world.approver)
    page = client.get(reverse("backoffice-history"), {"area": "routing"})
    assert "New partner in Bihar" in page.content.decode()
    empty = client.get(reverse("backoffice-history"), {"area": "calendar"})
    assert "No changes yet in this section" in empty.content.decode()
    body = client.get("/api/v1/management/changes/", {"area": "routing"}).json()
    assert [(r["action"], r["reason"], r["actor"], r["after"]) for r in body["results"]] == [
        ("Added rule", "New partner in Bihar", world.pm.username, {"vendor": world.vendor_a.slug})
    ]
