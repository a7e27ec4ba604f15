"""Announcements: the program manager posts one (audited, no reason needed), partners in its audience see it on every
page until they acknowledge it, nobody outside the audience ever sees it, and the program manager sees who
acknowledged when and who has not yet; the same over the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from announcements.models import Acknowledgement, Announcement, Audience
from announcements.services import announcement_acknowledge, announcement_post
from backoffice.models import Area, ChangeRecord
from portal.exceptions import Forbidden, NotFound, ValidationFailed
from requests_app.choices import OnboardingStatus
from requests_app.tests import factories as f

pytestmark = pytest.mark.django_db

API = "/api/v1/announcements/"
BANNER = 'data-testid="announcement-banner"'


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def post(world, **fields) -> Announcement:
    return announcement_post(actor=world.pm, **{"title": "Freeze", "body": "No deploys on Friday.", **fields})


def shown_to(world, announcement) -> set[str]:
    """The usernames whose portal shows the banner."""
    return {
        username
        for username, user in world.users.items()
        if Announcement.objects.for_partner(user).filter(pk=announcement.pk).exists()
    }


def test_posting_is_audited_without_a_reason_and_only_by_the_program_manager(world):
    announcement = post(world)
    record = ChangeRecord.objects.get()
    assert (record.area, record.action, record.reason, record.actor, record.object_id) == (
        Area.ANNOUNCEMENT, "Posted announcement", "Posted", world.pm, str(announcement.pk),
    )  # fmt: skip
    assert record.after["title"] == "Freeze" and record.after["audience"] == Audience.ALL_PARTNERS
    for role in ("approver", "vendor_lead", "requester"):
        with pytest.raises(Forbidden):
            announcement_post(actor=world.users[role], title="x", body="y")
    assert Announcement.objects.count() == 1


def test_all_partners_means_every_vendor_user_and_nobody_else(world):
    assert shown_to(world, post(world)) == {"vendor_engineer", "vendor_lead", "other_vendor_engineer",
                                            "other_vendor_lead"}  # fmt: skip


def test_a_chosen_vendor_or_environment_narrows_the_audience(world):
    bihar = f.EnvironmentFactory(code="bihar", name="Bihar")
    f.VendorOnboardingFactory(vendor=world.vendor_b, environment=bihar, status=OnboardingStatus.TRAINING)
    to_optit = post(world, audience=Audience.CHOSEN, vendors=[world.vendor_a])
    assert shown_to(world, to_optit) == {"vendor_engineer", "vendor_lead"}
    to_bihar = post(world, audience=Audience.CHOSEN, environments=[bihar])
    assert shown_to(world, to_bihar) == {"other_vendor_engineer", "other_vendor_lead"}
    world.vendor_b.onboardings.filter(environment=bihar).update(status=OnboardingStatus.OFFBOARDED)
    assert shown_to(world, to_bihar) == set()
    with pytest.raises(ValidationFailed) as caught:
        post(world, audience=Audience.CHOSEN)
    assert "vendors" in caught.value.fields


def test_an_expired_announcement_is_no_longer_shown_or_acknowledged(world):
    announcement = post(world, expires_at=timezone.now() + timedelta(hours=1))
    assert "vendor_engineer" in shown_to(world, announcement)
    Announcement.objects.filter(pk=announcement.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert shown_to(world, announcement) == set()
    with pytest.raises(NotFound):
        announcement_acknowledge(announcement.pk, actor=world.vendor_engineer)
    with pytest.raises(ValidationFailed):
        post(world, expires_at=timezone.now() - timedelta(minutes=1))


def test_the_banner_shows_on_every_page_until_acknowledged(client, world):
    announcement = post(world, audience=Audience.CHOSEN, vendors=[world.vendor_a])
    client.force_login(world.vendor_engineer)
    for page in ("/", "/queue/", "/notifications/"):
        html = client.get(page).content.decode()
        assert BANNER in html and "No deploys on Friday." in html
    response = client.post(reverse("announcement-acknowledge", args=[announcement.pk]), {"next": "/queue/"})
    assert response.status_code == 302 and response["Location"] == "/queue/"
    assert BANNER not in client.get("/queue/").content.decode()
    assert Acknowledgement.objects.get().user == world.vendor_engineer
    again = client.post(reverse("announcement-acknowledge", args=[announcement.pk]), {"next": "https://evil.example/"})
    assert again["Location"] == "/" and Acknowledgement.objects.count() == 1
    client.force_login(world.vendor_lead)  # the same vendor's other person still has it to read
    assert BANNER in client.get("/").content.decode()


@pytest.mark.parametrize("role", ["other_vendor_engineer", "requester", "pm", "approver"])
def test_people_outside_the_audience_never_see_or_acknowledge_it(client, world, role):
    announcement = post(world, audience=Audience.CHOSEN, vendors=[world.vendor_a])
    client.force_login(world.users[role])
    assert "No deploys on Friday." not in client.get("/").content.decode()
    assert client.post(reverse("announcement-acknowledge", args=[announcement.pk])).status_code == 404
    assert api(world.users[role]).post(f"{API}{announcement.pk}/acknowledge/").status_code == 404
    assert not Acknowledgement.objects.exists()


def test_the_program_manager_sees_who_acknowledged_when_and_who_has_not(client, world):
    announcement = post(world, audience=Audience.CHOSEN, vendors=[world.vendor_a])
    ack = announcement_acknowledge(announcement.pk, actor=world.vendor_lead)
    client.force_login(world.approver)  # eGov DevOps may look, too
    page = client.get(reverse("announcement-detail", args=[announcement.pk])).content.decode()
    acknowledged, pending = page.split('data-testid="pending"')
    assert world.vendor_lead.get_full_name() in acknowledged.split('data-testid="acknowledged"')[1]
    assert world.vendor_engineer.get_full_name() in pending
    assert world.other_vendor_engineer.get_full_name() not in page
    body = api(world.pm).get(f"{API}{announcement.pk}/acknowledgements/").json()
    assert [(row["user"], row["vendor"]) for row in body["acknowledged"]] == [("opti-lead", "optit")]
    assert body["acknowledged"][0]["at"] == ack.at.astimezone(timezone.get_default_timezone()).isoformat()
    assert [row["user"] for row in body["pending"]] == ["opti-eng"]
    assert api(world.vendor_lead).get(f"{API}{announcement.pk}/acknowledgements/").status_code == 403


def test_the_management_pages_post_change_and_withdraw(client, world):
    client.force_login(world.pm)
    data = {"title": "Holiday", "body": "Closed on Monday.", "audience": "chosen", "vendors": [world.vendor_b.pk]}
    response = client.post(reverse("announcement-new"), data)
    announcement = Announcement.objects.get()
    assert response.status_code == 302 and list(announcement.vendors.all()) == [world.vendor_b]
    assert "Holiday" in client.get(reverse("announcement-manage")).content.decode()
    edit = reverse("announcement-edit", args=[announcement.pk])
    assert client.post(edit, {**data, "title": "Holiday (Tuesday too)"}).status_code == 400  # no reason
    assert client.post(edit, {**data, "title": "Holiday (Tuesday too)", "reason": "Tuesday added"}).status_code == 302
    withdraw = reverse("announcement-withdraw", args=[announcement.pk])
    assert client.post(withdraw, {"reason": ""}).status_code == 400
    assert client.post(withdraw, {"reason": "Holiday cancelled"}).status_code == 302
    assert not Announcement.objects.exists()
    assert list(ChangeRecord.objects.order_by("pk").values_list("action", "reason")) == [
        ("Posted announcement", "Posted"),
        ("Changed announcement", "Tuesday added"),
        ("Withdrew announcement", "Holiday cancelled"),
    ]
    empty = client.post(reverse("announcement-new"), {**data, "vendors": []})
    assert empty.status_code == 400 and "Choose at least one vendor or environment" in empty.content.decode()


@pytest.mark.parametrize(("role", "status"), [("pm", 200), ("approver", 200), ("requester", 403),
                                              ("vendor_lead", 403)])  # fmt: skip
def test_the_management_pages_are_for_the_management_area(client, world, role, status):
    announcement = post(world)
    client.force_login(world.users[role])
    assert client.get(reverse("announcement-manage")).status_code == status
    assert client.get(reverse("announcement-detail", args=[announcement.pk])).status_code == status
    writes = 200 if role == "pm" else 403
    assert client.get(reverse("announcement-new")).status_code == writes
    assert client.get(reverse("announcement-edit", args=[announcement.pk])).status_code == writes


def test_the_api_posts_lists_by_audience_and_acknowledges(world):
    created = api(world.pm).post(API, {"title": "Freeze", "body": "No deploys.", "audience": "chosen",
                                       "vendors": ["optit"]})  # fmt: skip
    assert created.status_code == 201
    announcement_id = created.json()["id"]
    assert created.json()["vendors"] == ["optit"] and created.json()["posted_by"] == "pm"
    assert api(world.approver).post(API, {"title": "x", "body": "y"}).status_code == 403
    bad = api(world.pm).post(API, {"title": "x", "body": "y", "vendors": ["nobody"], "audience": "chosen"})
    assert bad.status_code == 400 and "vendors.0" in bad.json()["error"]["fields"]

    def listed(user) -> list[tuple[int, str | None]]:
        response = api(user).get(API)
        assert response.status_code == 200
        return [(row["id"], row["acknowledged_at"]) for row in response.json()["results"]]

    assert listed(world.vendor_engineer) == [(announcement_id, None)]
    assert listed(world.other_vendor_engineer) == [] and listed(world.requester) == []
    assert listed(world.pm) == [(announcement_id, None)]
    assert api(world.other_vendor_engineer).get(f"{API}{announcement_id}/").status_code == 404
    ack = api(world.vendor_engineer).post(f"{API}{announcement_id}/acknowledge/")
    assert ack.status_code == 200 and ack.json()["announcement"] == announcement_id
    assert listed(world.vendor_engineer)[0][1] == ack.json()["at"]

    pm = api(world.pm)
    assert pm.patch(f"{API}{announcement_id}/", {"title": "Freeze!"}).status_code == 400
    changed = pm.patch(f"{API}{announcement_id}/", {"title": "Freeze!", "reason": "Louder"})
    assert changed.status_code == 200 and changed.json()["title"] == "Freeze!"
    assert api(world.vendor_engineer).delete(f"{API}{announcement_id}/", {"reason": "x"}).status_code == 403
    assert pm.delete(f"{API}{announcement_id}/", {"reason": "Over"}).status_code == 204
    assert not Announcement.objects.exists()


def test_the_banners_compiled_query_answers_what_the_queryset_answers(world):
    """The banner's query is compiled once per process; for every user, after every kind of change (audience,
    expiry, acknowledgement) it lists exactly what `for_partner(...).unacknowledged_by(...)` lists."""
    from announcements.context_processors import banners

    bihar = f.EnvironmentFactory(code="bihar", name="Bihar")
    f.VendorOnboardingFactory(vendor=world.vendor_b, environment=bihar, status=OnboardingStatus.TRAINING)
    post(world)
    to_a = post(world, title="A", audience=Audience.CHOSEN, vendors=[world.vendor_a])
    post(world, title="Bihar", audience=Audience.CHOSEN, environments=[bihar])
    ending = post(world, title="Ending", expires_at=timezone.now() + timedelta(hours=1))

    def agree() -> list[list[str]]:
        seen = []
        for user in world.users.values():
            expected = [
                (announcement.pk, announcement.title, announcement.body)
                for announcement in Announcement.objects.for_partner(user).unacknowledged_by(user)
            ]
            assert [tuple(banner) for banner in (banners(user) if user.vendor_id else [])] == expected, user.username
            seen.append([title for _, title, _ in expected])
        return seen

    before = agree()
    announcement_acknowledge(to_a.pk, actor=world.users["vendor_engineer"])
    Announcement.objects.filter(pk=ending.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    after = agree()
    assert before != after and any(len(titles) >= 3 for titles in before)
