"""Each user's time-zone preference: set on the account page, activated per request, respected by pages."""

from __future__ import annotations

import re

import pytest
import time_machine
from django.urls import reverse

from requests_app.testing.workflow import file_request

from .test_timefmt import WINTER

pytestmark = pytest.mark.django_db


def _filed(html: str) -> str:
    return re.search(r"<dt>Filed</dt><dd>(.*?)</dd>", html).group(1)


def test_default_is_ist_and_a_preference_changes_every_time_on_the_page(client, world):
    with time_machine.travel(WINTER, tick=False):
        service_request = file_request(world)
    client.force_login(world.requester)
    page = client.get(reverse("request-detail", args=[service_request.reference])).content.decode()
    assert _filed(page) == '<time datetime="2026-12-03T14:05:00+05:30">3 Dec 2026, 14:05 IST</time>'

    response = client.post(reverse("account-timezone"), {"timezone": "Europe/Berlin"})
    assert response.status_code == 302
    world.requester.refresh_from_db()
    assert world.requester.timezone == "Europe/Berlin"
    page = client.get(reverse("request-detail", args=[service_request.reference])).content.decode()
    assert _filed(page) == '<time datetime="2026-12-03T09:35:00+01:00">3 Dec 2026, 09:35 CET</time>'
    assert "IST</time>" not in page.split('<ol class="timeline')[-1]  # the timeline follows the preference too

    client.force_login(world.pm)  # another user keeps the default
    page = client.get(reverse("request-detail", args=[service_request.reference])).content.decode()
    assert "14:05 IST" in _filed(page)


def test_an_unknown_zone_is_a_form_error_not_a_change(client, world):
    client.force_login(world.requester)
    response = client.post(reverse("account-timezone"), {"timezone": "Mars/Olympus_Mons"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    world.requester.refresh_from_db()
    assert world.requester.timezone == ""
