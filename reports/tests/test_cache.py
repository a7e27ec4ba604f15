"""A computed weekly report is served again for PORTICO_REPORT_CACHE_SECONDS, and only to the same scope."""

from __future__ import annotations

import pytest
import time_machine
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse

from portal.exceptions import Forbidden
from reports.selectors import report_weekly

from .conftest import NOW

pytestmark = pytest.mark.django_db
WEEK = "2026-W47"


@pytest.fixture
def cached():
    cache.clear()
    # The cache serves the current week; finished weeks are read from their stored copies (test_stored_weeks.py),
    # so with those off the fixed past week stands in for a current one.
    stored_off = override_settings(PORTICO_REPORT_STORED_WEEKS=False)
    with (
        stored_off,
        override_settings(PORTICO_REPORT_CACHE_SECONDS=60),
        time_machine.travel(NOW, tick=False) as traveller,
    ):
        yield traveller
    cache.clear()


def _created(client, user, **params) -> int:
    client.force_login(user)
    response = client.get(reverse("api:reports-sla"), {"week": WEEK, **params})
    assert response.status_code == 200, response.content
    return response.json()["summary"]["created"]


def test_a_report_is_served_again_until_the_cache_expires(client, dataset, cached):
    pm = dataset.world.pm
    before = _created(client, pm)
    dataset.requests["R1"].delete()  # the week now has one request fewer
    assert _created(client, pm) == before  # within the minute: the same report
    cached.shift(61)
    assert _created(client, pm) == before - 1


def test_scopes_never_share_a_cached_report(client, dataset, cached):
    everything = _created(client, dataset.world.pm)
    gwl = _created(client, dataset.world.other_vendor_lead)  # a lead always gets their own vendor
    optit = _created(client, dataset.world.vendor_lead)
    assert gwl != everything and optit != everything and gwl != optit
    assert _created(client, dataset.world.pm, vendor="gwl") == gwl
    assert _created(client, dataset.world.pm, priority="P2") < everything


def test_refusals_are_never_answered_from_the_cache(dataset, cached):
    report_weekly(user=dataset.world.pm, week=WEEK)
    with pytest.raises(Forbidden):
        report_weekly(user=dataset.world.vendor_engineer, week=WEEK)


def test_an_explicit_now_always_computes(dataset, cached):
    first = report_weekly(user=None, week=WEEK, now=NOW)
    dataset.requests["R1"].delete()
    assert report_weekly(user=None, week=WEEK, now=NOW).summary.created == first.summary.created - 1
