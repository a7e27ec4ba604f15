"""The account's notification settings (page and API), and the in-portal list that refreshes by itself."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from conversations.models import Channel, ChannelSetting, Mode
from requests_app.choices import RequestState
from requests_app.testing.workflow import file_request, walk_to

pytestmark = pytest.mark.django_db
SETTINGS_API = "/api/v1/me/notification-settings/"


def test_the_settings_page_saves_each_channel_and_refuses_nonsense(client, world):
    client.force_login(world.requester)
    url = reverse("notification-settings")

    page = client.get(url)
    assert page.status_code == 200 and 'name="email"' in page.content.decode()

    assert client.post(url, {"email": Mode.DIGEST, "in_app": Mode.OFF, "chat": Mode.OFF}).status_code == 302
    assert dict(ChannelSetting.objects.filter(user=world.requester).values_list("channel", "mode")) == {
        Channel.EMAIL: Mode.DIGEST,
        Channel.IN_APP: Mode.OFF,
        Channel.CHAT: Mode.OFF,
    }
    refused = client.post(url, {"email": "hourly", "in_app": Mode.OFF, "chat": Mode.OFF})
    assert refused.status_code == 400 and "Select a valid choice" in refused.content.decode()
    assert ChannelSetting.objects.get(user=world.requester, channel=Channel.EMAIL).mode == Mode.DIGEST


def test_the_settings_api(world):
    api = APIClient()
    api.force_authenticate(world.vendor_engineer)

    no_chat = {"chat": "immediate", "chat_webhook_url": "", "chat_webhook_kind": ""}
    assert api.get(SETTINGS_API).json() == {"email": "immediate", "in_app": "immediate", **no_chat}
    assert api.put(SETTINGS_API, {"email": "off"}, format="json").json() == {
        "email": "off",
        "in_app": "immediate",
        **no_chat,
    }
    bad = api.put(SETTINGS_API, {"in_app": "sometimes"}, format="json")
    assert bad.status_code == 400 and "in_app" in bad.json()["error"]["fields"]
    assert APIClient().get(SETTINGS_API).status_code == 401


def test_pages_poll_the_unread_count_and_the_list_refreshes_itself(client, world, settings):
    settings.PORTICO_NOTIFY_POLL_SECONDS = 7
    client.force_login(world.requester)
    home = client.get(reverse("home")).content.decode()
    assert f'hx-get="{reverse("notification-unread")}" hx-trigger="every 7s"' in home
    listing = client.get(reverse("notification-list")).content.decode()
    assert 'id="notification-items"' in listing and 'hx-trigger="every 7s"' in listing

    walk_to(world, RequestState.QUEUED)  # the requester hears of the triage

    badge = client.get(reverse("notification-unread")).content.decode()
    assert re.search(r'<span class="nav-badge" aria-hidden="true">1</span>', badge)
    fragment = client.get(reverse("notification-list"), headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in fragment and "triaged to OptIT" in fragment

    client.post(reverse("notification-mark-all-read"))
    assert "nav-badge" not in client.get(reverse("notification-unread")).content.decode()


def test_a_summary_entry_reads_as_its_summary(client, world):
    from requests_app.models import Notification

    event = file_request(world).events.get()
    Notification.objects.create(event=event, user=world.requester, summary="Portico daily digest: 3 updates")
    client.force_login(world.requester)

    assert "Portico daily digest: 3 updates" in client.get(reverse("notification-list")).content.decode()


@pytest.mark.parametrize(("visible", "shown"), [(99, "99"), (100, "99+"), (130, "99+")])
def test_the_unread_badge_counts_to_99_then_says_99_plus(client, world, visible, shown):
    """The count stops past 99 (every unread row is checked against its event's visibility); notifications about
    what the person may no longer see never count, however many."""
    from requests_app.choices import EventKind
    from requests_app.models import Notification, RequestEvent
    from requests_app.notifications import notification_unread_count
    from requests_app.tests import factories as f

    mine = f.ServiceRequestFactory(team=world.team_a, requester=world.requester)
    hidden = f.ServiceRequestFactory(team=world.team_b)
    events = RequestEvent.objects.bulk_create(
        [RequestEvent(service_request=mine, kind=EventKind.COMMENT, message=str(n)) for n in range(visible)]
        + [RequestEvent(service_request=hidden, kind=EventKind.COMMENT, message=str(n)) for n in range(150)]
    )
    Notification.objects.bulk_create(Notification(event=event, user=world.requester) for event in events)

    assert notification_unread_count(user=world.requester) == min(visible, 100)
    client.force_login(world.requester)
    badge = client.get(reverse("notification-unread")).content.decode()
    assert f'<span class="nav-badge" aria-hidden="true">{shown}</span>' in badge
    assert f"({shown} unread)" in badge
    assert f"{shown} unread." in client.get(reverse("notification-list")).content.decode()
