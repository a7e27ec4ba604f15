"""The API's request list read the fast way answers exactly what the plain way does: its rows as plain objects
(`portal.api.rows`), its clocks through a compiled query, its estimate and count from one compiled SQL, and DRF's
datetime text without its per-call lookups, against ServiceRequestSerializer on model instances of the same list,
for random requests, viewers, filters, orders, page sizes and cursor pages."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from datetime import timezone as dt_timezone
from types import SimpleNamespace
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.http import QueryDict
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from desk.lists import requests_list
from portal.api import fields as portal_fields
from portal.api.rows import PlainRow, plain_rows
from requests_app import services
from requests_app.api.serializers import ServiceRequestSerializer
from requests_app.choices import Priority, RequestState
from requests_app.models import ServiceRequest
from requests_app.testing.workflow import file_request, walk_to
from sla.models import RequestClock
from sla.selectors import SNAPSHOT_COLUMNS, ClockSnapshot, clock_snapshots

from .helpers import LIST_URL

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 5, 10, 30, tzinfo=UTC)
STATES = [RequestState.SUBMITTED, RequestState.QUEUED, RequestState.IN_PROGRESS, RequestState.RESOLVED]
QUERIES = [
    "",
    "page_size=5",
    "page_size=4&page=2",
    "state=queued&ordering=response_due_at",
    "ordering=-created_at&page_size=7",
    "priority=P1",
    "quick=unassigned",
    "ordering=priority&page_size=3&page=2",
    "search=namespace",
]


def _plain_snapshots(request_ids: list[int]) -> dict[int, list[ClockSnapshot]]:
    """The clocks as `clock_snapshots` read them before it was compiled: the queryset, run as it is."""
    by_request: dict[int, list[ClockSnapshot]] = defaultdict(list)
    rows = RequestClock.objects.filter(service_request_id__in=request_ids).values_list(
        "service_request_id", *SNAPSHOT_COLUMNS
    )
    for request_id, *values in rows:
        by_request[request_id].append(ClockSnapshot(*values))
    return by_request


def _random_requests(world, rng: random.Random) -> list[ServiceRequest]:
    made = []
    for index in range(14):
        state = rng.choice(STATES)
        overrides = {"title": f"Namespace {index}", "priority": rng.choice([Priority.P1, Priority.P2, Priority.P3])}
        made.append(walk_to(world, state, **overrides))
    # One routed to the other vendor, one with a note and parameters, one with no stack.
    made.append(services.request_triage(file_request(world, title="Theirs"), actor=world.pm, vendor=world.vendor_b))
    made[0].parameters = {"namespace": "ns-1", "cpu": rng.randint(1, 8), "labels": {"a": [1, None, "x"]}}
    made[0].save(update_fields=["parameters"])
    made.append(file_request(world, title="No stack", stack=None))
    return made


def _expected(user, query: str) -> tuple[list[dict], int]:
    """The plain way: model instances of the same list, through the serializer, with the clocks' plain read."""
    params = QueryDict(query)
    visible = ServiceRequest.objects.visible_to(user).with_related()
    listed = requests_list(visible, params, request=SimpleNamespace(user=user), by_rank=True)
    size, page = int(params.get("page_size", 50)), int(params.get("page", 1))
    rows = list(listed[(page - 1) * size : page * size])
    clocks = _plain_snapshots([row.pk for row in rows])
    data = ServiceRequestSerializer(rows, many=True, context={"now": NOW, "clocks": clocks}).data
    return json.loads(JSONRenderer().render(data)), listed.count()


@pytest.mark.parametrize("seed", [1, 2])
def test_the_list_equals_the_serializer_on_model_instances(world, seed):
    rng = random.Random(seed)
    _random_requests(world, rng)
    with time_machine.travel(NOW, tick=False):
        for user in world.users.values():
            client = APIClient()
            client.force_authenticate(user)
            for query in QUERIES:
                response = client.get(f"{LIST_URL}?{query}")
                results, count = _expected(user, query)
                if response.status_code == 404:  # a page past the end, which the plain way finds empty too
                    assert not results and "page=2" in query, (user.username, query)
                    continue
                assert response.status_code == 200, (user.username, query)
                body = response.json()
                assert body["results"] == results, (user.username, query)
                assert (body["count"], body["count_is_estimate"]) == (count, False), (user.username, query)


def test_cursor_pages_walk_the_same_rows_as_the_serializer_would(world):
    rng = random.Random(3)
    _random_requests(world, rng)
    with time_machine.travel(NOW, tick=False):
        for user in (world.pm, world.vendor_engineer, world.requester):
            client = APIClient()
            client.force_authenticate(user)
            walked, path = [], f"{LIST_URL}?pagination=cursor&page_size=3"
            while path:
                body = client.get(path).json()
                walked += body["results"]
                path = body["next"] and "{0.path}?{0.query}".format(urlsplit(body["next"]))
            results, count = _expected(user, "page_size=200")
            assert walked == results and len(walked) == count


def _columns(row, model) -> dict:
    return {field.attname: getattr(row, field.attname) for field in model._meta.concrete_fields}


def test_plain_rows_hold_what_the_model_instances_hold(world):
    _random_requests(world, random.Random(4))
    queryset = ServiceRequest.objects.with_related().order_by("pk")
    related = ["environment", "stack", "team", "requester", "vendor", "assignee"]
    for instance, row in zip(queryset, plain_rows(queryset), strict=True):
        assert isinstance(row, PlainRow) and row._meta is ServiceRequest._meta
        assert (row.pk, _columns(row, ServiceRequest)) == (instance.pk, _columns(instance, ServiceRequest))
        for name in related:
            theirs, mine = getattr(instance, name), getattr(row, name)
            assert (mine and _columns(mine, type(theirs))) == (theirs and _columns(theirs, type(theirs))), name


def test_plain_rows_refuse_what_they_cannot_stand_for(world):
    with pytest.raises(ValueError, match="values"):
        plain_rows(ServiceRequest.objects.values("pk"))
    with pytest.raises(ValueError, match="prefetch"):
        plain_rows(ServiceRequest.objects.prefetch_related("clocks"))


def test_compiled_clock_snapshots_equal_the_plain_read(world):
    made = _random_requests(world, random.Random(5))
    ids = [service_request.pk for service_request in made]
    rng = random.Random(6)
    for size in (0, 1, 2, 5, len(ids)):
        chosen = rng.sample(ids, size) + rng.sample(ids, min(size, 2)) + [-1]  # repeats and an id no request has
        assert dict(clock_snapshots(chosen)) == dict(_plain_snapshots(chosen)), size
    assert dict(clock_snapshots([])) == {}


def _outcome(represent, value):
    try:
        return "text", represent(value)
    except serializers.ValidationError as error:
        return "error", error.detail


def test_the_fast_datetime_text_equals_drfs(settings):
    rng = random.Random(7)
    zones = [UTC, ZoneInfo("Asia/Kolkata"), ZoneInfo("America/St_Johns"), dt_timezone(timedelta(hours=-3))]
    values = [
        datetime(2000, 1, 1, tzinfo=UTC)
        + timedelta(seconds=rng.randint(0, 2_000_000_000), microseconds=rng.randint(0, 999_999))
        for _ in range(200)
    ]
    values = [value.astimezone(rng.choice(zones)) for value in values]
    values += [datetime(2026, 3, 29, 1, 30), datetime(9999, 12, 31, 23, 59, tzinfo=UTC)]  # naive; near the end
    for site_zone in ("UTC", "Asia/Kolkata"):
        settings.TIME_ZONE = site_zone
        fast = portal_fields.DateTimeField()
        for value in values:
            drf = _outcome(lambda v, field=fast: serializers.DateTimeField.to_representation(field, v), value)
            assert _outcome(fast.to_representation, value) == drf, value
        formatted = portal_fields.DateTimeField(format="%Y-%m-%d %H:%M")
        assert formatted.to_representation(values[0]) == serializers.DateTimeField.to_representation(
            formatted, values[0]
        )
