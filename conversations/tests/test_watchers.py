"""Watchers and @mentions, in the browser and over the API: anyone who can see a request may watch it, the
requester's team can be copied, a mention notifies and makes a watcher — and does nothing for someone who
cannot see the request (or the internal note). Autocomplete offers only people who can see the request."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse
from rest_framework.test import APIClient

from conversations.delivery import notify
from conversations.models import Watcher, WatchReason
from requests_app import services
from requests_app.choices import EventKind, RequestState
from requests_app.models import Notification
from requests_app.testing.workflow import file_request, walk_to

from .helpers import add_teammate

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _watchers(service_request) -> set[str]:
    return set(Watcher.objects.filter(service_request=service_request).values_list("user__username", flat=True))


def test_a_mention_notifies_and_makes_a_watcher(world):
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    mail.outbox.clear()

    comment = services.request_comment(service_request, actor=world.vendor_engineer, body="@egov can you raise it?")
    notify(comment)

    assert _watchers(service_request) == {"egov"}
    assert Watcher.objects.get(user=world.approver).reason == WatchReason.MENTIONED
    assert Notification.objects.filter(event=comment, user=world.approver).exists()
    assert world.approver.email in [m.to[0] for m in mail.outbox]
    # Watching now: the next event of the request reaches them too.
    services.request_resolve(service_request, actor=world.vendor_engineer, reason="Done")
    assert Notification.objects.filter(event__kind=EventKind.RESOLVE, user=world.approver).exists()


def test_mentioning_someone_who_cannot_see_the_request_does_nothing_for_them(world):
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    mail.outbox.clear()

    comment = services.request_comment(
        service_request, actor=world.requester, body="@gwl-eng and @bala, please look; @nobody too"
    )
    notify(comment)

    assert _watchers(service_request) == set()
    told = set(Notification.objects.filter(event=comment).values_list("user__username", flat=True))
    assert told.isdisjoint({"gwl-eng", "bala"})
    assert not {world.other_vendor_engineer.email, world.other_requester.email} & {m.to[0] for m in mail.outbox}


def test_a_mention_in_an_internal_note_never_reaches_the_requester(world):
    service_request = walk_to(world, RequestState.IN_PROGRESS)

    note = services.request_comment(service_request, actor=world.vendor_engineer, body="@asha is wrong", internal=True)

    assert _watchers(service_request) == set()
    assert not Notification.objects.filter(event=note, user=world.requester).exists()


def test_watching_in_the_browser_and_who_may(client, world):
    service_request = file_request(world)
    url = reverse("request-watch", args=[service_request.reference])

    client.force_login(world.pm)
    assert client.post(url, {"action": "watch"}).status_code == 302
    assert _watchers(service_request) == {"pm"}
    page = client.get(reverse("request-detail", args=[service_request.reference])).content.decode()
    assert "Stop watching" in page and "1 watcher." in page
    client.post(url, {"action": "unwatch"})
    assert _watchers(service_request) == set()

    # The card's three figures come from one query: check each against the others' state.
    Watcher.objects.create(service_request=service_request, user=world.approver, reason=WatchReason.MENTIONED)
    client.post(url, {"action": "mute"})
    page = client.get(reverse("request-detail", args=[service_request.reference])).content.decode()
    assert "Unmute" in page and ">Watch<" in page and "1 watcher." in page
    client.post(url, {"action": "watch"})
    page = client.get(reverse("request-detail", args=[service_request.reference])).content.decode()
    assert "Unmute" in page and "Stop watching" in page and "2 watchers." in page
    client.post(url, {"action": "unmute"})
    client.post(url, {"action": "unwatch"})
    Watcher.objects.filter(user=world.approver).delete()

    client.force_login(world.other_vendor_engineer)  # cannot see it: as if it did not exist
    assert client.post(url, {"action": "watch"}).status_code == 404
    assert _watchers(service_request) == set()


def test_the_requester_copies_the_team(client, world):
    add_teammate(world)
    service_request = file_request(world)
    client.force_login(world.requester)

    client.post(reverse("request-watch", args=[service_request.reference]), {"action": "copy-team"})

    assert _watchers(service_request) == {"asha", "mate"}
    client.force_login(world.pm)  # not the requester's side: refused with a message
    response = client.post(
        reverse("request-watch", args=[service_request.reference]), {"action": "copy-team"}, follow=True
    )
    assert "Only the requester" in response.content.decode()


def test_watch_mute_and_autocomplete_over_the_api(world):
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    base = f"/api/v1/requests/{service_request.reference}"

    watched = api(world.vendor_lead).post(f"{base}/watchers/", {}, format="json")
    assert watched.status_code == 200 and watched.json()["watching"] is True
    assert [p["username"] for p in watched.json()["watchers"]] == ["opti-lead"]
    muted = api(world.vendor_lead).post(f"{base}/watchers/", {"muted": True}, format="json")
    assert muted.json()["muted"] is True
    assert api(world.vendor_lead).delete(f"{base}/watchers/").json()["watching"] is False
    assert api(world.other_vendor_engineer).get(f"{base}/watchers/").status_code == 404
    bad = api(world.vendor_lead).post(f"{base}/watchers/", {"muted": "perhaps"}, format="json")
    assert bad.status_code == 400 and "muted" in bad.json()["error"]["fields"]

    def offered(user, q: str) -> list[str]:
        response = api(user).get(f"{base}/mentionable/", {"q": q})
        assert response.status_code == 200
        return [p["username"] for p in response.json()]

    assert offered(world.requester, "opti") == ["opti-eng", "opti-lead"]
    assert offered(world.requester, "gwl") == []  # vendor B cannot see it
    # Another team's requester ("bala") cannot either; the factories' random full names may match "ba" too
    # (a "Baldwin"), so only bala's absence is asserted.
    assert "bala" not in offered(world.requester, "@ba")
    assert "asha" in offered(world.requester, "as")
    assert api(world.other_requester).get(f"{base}/mentionable/", {"q": "a"}).status_code == 404
