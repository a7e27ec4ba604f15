"""The urgency order and the one SLA column, at exact instants (P0 and P1 run 24×7, so times are exact)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from desk.selectors import requests_by_urgency, requests_quick, requests_sorted
from desk.templatetags.desk import sla_next
from requests_app import services
from requests_app.choices import Priority
from requests_app.models import ServiceRequest
from requests_app.testing.workflow import file_request
from sla.defaults import ensure_defaults
from sla.selectors import requests_with_sla_status

pytestmark = pytest.mark.django_db
IST = ZoneInfo("Asia/Kolkata")


def at(hour: int, minute: int = 0, day: int = 16) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=IST)


@pytest.fixture
def queue(world):
    """Five requests at known instants; read at 16:30 on 16 Nov 2026 (IST)."""
    ensure_defaults()
    rows = {}
    with time_machine.travel(at(10), tick=False):
        rows["breached_p0"] = file_request(world, priority=Priority.P0, title="Breached P0")  # respond by 14:00
    with time_machine.travel(at(11), tick=False):
        picked = file_request(world, priority=Priority.P0, title="Picked-up P0")  # resolve by 11:00 tomorrow
        picked = services.request_triage(picked, actor=world.pm, vendor=world.vendor_a)
    with time_machine.travel(at(11, 30), tick=False):
        rows["picked_p0"] = services.request_pick_up(picked, actor=world.vendor_engineer)
    with time_machine.travel(at(12), tick=False):
        waiting = file_request(world, priority=Priority.P1, title="Waiting P1")
        waiting = services.request_triage(waiting, actor=world.pm, vendor=world.vendor_a)
        waiting = services.request_pick_up(waiting, actor=world.vendor_engineer)
        rows["waiting_p1"] = services.request_request_info(waiting, actor=world.vendor_engineer, reason="Which?")
    with time_machine.travel(at(15), tick=False):
        rows["p1"] = file_request(world, priority=Priority.P1, title="On-track P1")  # respond by 17:00
    with time_machine.travel(at(16), tick=False):
        rows["fresh_p0"] = file_request(world, priority=Priority.P0, title="Fresh P0")  # respond by 20:00
    return rows


def test_urgency_puts_the_breached_p0_first_then_least_time_left_then_paused(queue):
    ordered = list(requests_by_urgency(ServiceRequest.objects.all()).values_list("title", "next_due_at"))
    assert ordered == [
        ("Breached P0", at(14)),
        ("On-track P1", at(17)),
        ("Fresh P0", at(20)),
        ("Picked-up P0", at(11, day=17)),  # the response was met: the resolution clock runs next
        ("Waiting P1", None),  # paused: no clock runs
    ]


def test_the_sla_column_names_the_clock_the_order_uses(queue):
    now = at(16, 30)
    texts = {
        name: sla_next(ServiceRequest.objects.get(pk=row.pk), now=now).text
        for name, row in queue.items()
        if name != "waiting_p1"
    }
    assert texts == {
        "breached_p0": "Response breached 2 h 30 min ago",
        "p1": "Response due in 30 min",
        "fresh_p0": "Response due in 3 h 30 min",
        "picked_p0": "Resolution due in 18 h 30 min",
    }
    waiting = sla_next(ServiceRequest.objects.get(pk=queue["waiting_p1"].pk), now=now)
    assert waiting.status == "paused" and waiting.text.startswith("Resolution paused")


def test_reverse_urgency_is_the_exact_reverse(queue):
    forward = list(requests_sorted(ServiceRequest.objects.all(), "sla").values_list("pk", flat=True))
    backward = list(requests_sorted(ServiceRequest.objects.all(), "-sla").values_list("pk", flat=True))
    assert backward == forward[::-1]


def test_breached_quick_filter_and_sla_filter_count_open_requests_only(queue, world):
    now = at(16, 30)
    with time_machine.travel(at(16, 20), tick=False):
        late_cancelled = file_request(world, priority=Priority.P0, title="Late, then cancelled")
    with time_machine.travel(at(21), tick=False):  # cancelled after its 20:20 response due time
        services.request_cancel(late_cancelled, actor=world.requester)
    later = at(21, 30)
    breached = set(requests_quick(ServiceRequest.objects.all(), "breached", user=world.pm, now=later))
    assert {r.title for r in breached} == {"Breached P0", "On-track P1", "Fresh P0"}  # all three now overdue
    assert late_cancelled.pk not in {r.pk for r in breached}
    by_filter = requests_with_sla_status(ServiceRequest.objects.all(), "breached_open", later)
    assert set(by_filter) == breached
    at_risk = requests_quick(ServiceRequest.objects.all(), "at_risk", user=world.pm, now=now)
    assert {r.title for r in at_risk} == {"On-track P1"}  # 1 h 30 of its 2 h response goal gone
    assert timezone.is_aware(now) and now - at(15) == timedelta(hours=1, minutes=30)


def test_filter_values_offered_are_only_those_the_user_may_see(world):
    from desk.forms import DeskFilterForm
    from desk.selectors import assignee_choices, team_choices, vendor_choices

    ensure_defaults()
    file_request(world)
    file_request(world, actor=world.other_requester)
    engineer = world.other_vendor_engineer
    assert list(vendor_choices(engineer)) == [world.vendor_b]
    assert set(assignee_choices(engineer)) == {world.other_vendor_engineer, world.other_vendor_lead}
    assert list(team_choices(engineer)) == []  # no request of theirs yet
    assert list(vendor_choices(world.requester)) == []  # nothing routed yet
    assert list(team_choices(world.requester)) == [world.team_a]
    assert set(vendor_choices(world.pm)) == {world.vendor_a, world.vendor_b}
    form = DeskFilterForm({"vendor": "optit"}, user=engineer)
    assert not form.is_valid() and "vendor" in form.errors  # another vendor cannot even be asked for
    assert "q" not in form.params() and form.params()["sort"] == "sla"


def test_filter_choices_are_kept_per_scope_and_never_cross_vendors(world, django_assert_num_queries, settings):
    from django.core.cache import cache

    from desk.forms import DeskFilterForm
    from desk.selectors import filter_choices

    settings.PORTICO_DESK_CHOICES_CACHE_SECONDS = 60
    cache.clear()
    file_request(world)
    pm_choices = filter_choices(world.pm)
    with django_assert_num_queries(0):  # vendors, engineers, teams and environments are kept
        assert filter_choices(world.pm) == pm_choices
    engineer, other = world.vendor_engineer, world.other_vendor_engineer
    assert filter_choices(engineer).vendors == [(world.vendor_a.slug, world.vendor_a.name)]
    assert filter_choices(other).vendors == [(world.vendor_b.slug, world.vendor_b.name)]  # its own scope
    assert world.vendor_engineer.username not in dict(filter_choices(other).engineers)
    with django_assert_num_queries(1):  # a vendor's teams come from the requests its people see: read each time
        filter_choices(other)
    with django_assert_num_queries(4):  # a requester's vendors, engineers and teams likewise; environments kept
        requester_choices = filter_choices(world.requester)
    assert requester_choices.teams == [(world.team_a.slug, world.team_a.name)]
    form = DeskFilterForm({"vendor": world.vendor_a.slug}, user=other, choices=filter_choices(other))
    assert not form.is_valid() and "vendor" in form.errors
    cache.clear()


def test_filtersets_build_their_form_class_once():
    from django_filters.filters import QuerySetRequestMixin

    from desk.filtersets import DeskFilterSet

    # A filter whose field depends on the request (a per-user queryset) would be frozen by the shared form class.
    assert not any(isinstance(f, QuerySetRequestMixin) for f in DeskFilterSet.base_filters.values())
    first = DeskFilterSet({"state": ["queued"]}, queryset=ServiceRequest.objects.none())
    second = DeskFilterSet({"state": ["nonsense"]}, queryset=ServiceRequest.objects.none())
    assert type(first.form) is type(second.form)
    assert first.is_valid() and not second.is_valid()  # each with its own data and errors
    assert first.form.errors == {} and "state" in second.form.errors
    # The fields themselves are shared too (`portal.forms.fields_shared`), each form with its own dict of them.
    assert first.form.fields["state"] is second.form.fields["state"]
    assert first.form.fields is not second.form.fields


def test_key_filters_name_a_row_by_a_unique_key():
    from desk.filtersets import DeskFilterSet
    from requests_app.filtersets import KeyFilter

    # Their subquery reads one row in no order (no ORDER BY in every list's SQL): a key two rows shared would let
    # the database pick either.
    keys = {name: f for name, f in DeskFilterSet.base_filters.items() if isinstance(f, KeyFilter)}
    assert set(keys) == {"environment", "stack", "vendor", "assignee", "team"}
    for name, key_filter in keys.items():
        related = ServiceRequest._meta.get_field(key_filter.field_name).related_model
        assert related._meta.get_field(key_filter.key).unique, name
    sql = str(DeskFilterSet.base_filters["vendor"].filter(ServiceRequest.objects.order_by(), "optit").query)
    assert "ORDER BY" not in sql and "LIMIT 1" in sql, sql
