"""The API's request list read the fast way answers exactly what the plain way does: its rows as plain objects
(`portal.api.rows`), its clocks through a compiled query, its estimate and count from one compiled SQL, and DRF's
datetime text without its per-call lookups, against ServiceRequestSerializer on model instances of the same list,
for random requests, viewers, filters, orders, page sizes and cursor pages."""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from datetime import timezone as dt_timezone
from types import SimpleNamespace
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from desk import api_list
from desk.lists import requests_list
from portal.api import fields as portal_fields
from portal.api.pagination import _bounded_count, _plan_rows
from portal.api.rows import PlainRow, plain_rows
from requests_app import services
from requests_app.api.serializers import ServiceRequestSerializer
from requests_app.api.views import _listed
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


def _plain_page(user, query: str):
    """The plain way: model instances of the same list, through the serializer, with the clocks' plain read; the
    page's serializer data (not yet rendered) and the whole list."""
    params = QueryDict(query)
    visible = ServiceRequest.objects.visible_to(user).with_related()
    listed = requests_list(visible, params, request=SimpleNamespace(user=user), by_rank=True)
    size, page = int(params.get("page_size", 50)), int(params.get("page", 1))
    rows = list(listed[(page - 1) * size : page * size])
    clocks = _plain_snapshots([row.pk for row in rows])
    return ServiceRequestSerializer(rows, many=True, context={"now": NOW, "clocks": clocks}).data, listed


def _expected(user, query: str) -> tuple[list[dict], int]:
    data, listed = _plain_page(user, query)
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
            assert _compiled(user, "page_size=3", cursor=True)


# --- byte for byte: the serializer through DRF's own renderer ------------------------------------------------
# Viewers of every kind, filters (many-valued, keys, dates), orders, quick filters, page sizes and numbers.
BYTE_QUERIES = [
    "",
    "page_size=50&state=queued&vendor=optit&ordering=response_due_at",
    "page_size=3&page=2",
    "state=queued&state=in_progress&ordering=-priority",
    "priority=P1&priority=P3&ordering=title",
    "vendor=gwl&ordering=-created_at",
    "team=mgramseva&sort=reference&page_size=4&page=2",
    "quick=mine",
    "quick=unassigned&ordering=resolution_due_at",
    "quick=waiting",
    "quick=at_risk",
    "created_after=2000-01-01&page_size=5",
    "search=namespace",
    "ordering=-sla&page_size=6&page=3",
]


def _expected_data(user, query: str):
    return _plain_page(user, query)[0]


def test_lists_and_requests_are_the_serializers_bytes_through_drfs_renderer(world):
    """The API's list and detail bodies, as this code writes them (rows built directly, orjson), are byte for byte
    ServiceRequestSerializer's output on model instances written by DRF's JSONRenderer, for every kind of viewer,
    filter, order, quick filter and page, with titles and parameters that need escaping or DRF's float format."""
    made = _more_requests(world, random.Random(17))
    made[1].title = 'Line\u2028separated «ünïcode» "quoted" <b>&</b>\u2029'
    made[1].save(update_fields=["title"])
    made[2].parameters = {"ratio": 1e-05, "size": 1e16, "name": "x\u2029y", "n": 2**70}  # DRF's formats kept
    made[2].save(update_fields=["parameters"])
    compared = 0
    with time_machine.travel(NOW, tick=False):
        for user in world.users.values():
            client = APIClient()
            client.force_authenticate(user)
            for query in BYTE_QUERIES:
                response = client.get(f"{LIST_URL}?{query}")
                if response.status_code == 404:  # a page past the end
                    assert not _expected_data(user, query) and "page=" in query, (user.username, query)
                    continue
                assert response.status_code == 200, (user.username, query, response.content)
                expected = JSONRenderer().render({**response.data, "results": _expected_data(user, query)})
                assert response.content == expected, (user.username, query)
                compared += 1
            for service_request in ServiceRequest.objects.visible_to(user).with_related().order_by("pk")[:6]:
                response = client.get(f"{LIST_URL}{service_request.reference}/")
                expected = JSONRenderer().render(ServiceRequestSerializer(service_request, context={"now": NOW}).data)
                assert response.content == expected, (user.username, service_request.reference)
                compared += 1
    assert compared > 100


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


# --- the list compiled once per shape (desk.api_list) ---------------------------------------------------------
# Shapes the compiled path takes (filters, many values, orders, page sizes and numbers) and some it leaves to the
# ordinary path (a search, `q`, the SLA filters, a quick filter that holds the time now).
COMPILED_QUERIES = [
    "",
    "page_size=3&page=2",
    "state=queued&state=in_progress&state=queued&ordering=-priority",
    "state=resolved&ordering=-title&page_size=4&page=2",
    "vendor=optit&assignee=opti-eng&page_size=3",
    "vendor=gwl&ordering=assignee",
    "team=mgramseva&environment=punjab&stack=ms&ordering=-vendor",
    "team=sanitation&sort=reference",
    "quick=mine&ordering=title",
    "quick=waiting&priority=P1&priority=P2",
    "quick=blocked",
    "type=Troubleshooting&ordering=-created",
    "created_after=2000-01-01&created_before=2100-01-01T00:00:00Z&ordering=created_at",
    "created_after=2100-01-01",
    "vendor=nobody&page=1",
    "page=last&page_size=2",
    "page=9&page_size=5",
]
PLAIN_QUERIES = ["search=namespace", "q=Namespace", "sla_status=on_track", "quick=at_risk", "state_group=open"]
INVALID_QUERIES = ["state=bogus", "created_after=not-a-date&priority=P9", "quick=everything&state=queued"]


def _more_requests(world, rng: random.Random) -> list[ServiceRequest]:
    """`_random_requests` and more kinds: another team's requests with the other vendor, a troubleshooting
    request, and requests waiting on the requester and blocked."""
    made = _random_requests(world, rng)
    for index in range(3):
        theirs = file_request(world, actor=world.other_requester, team=world.team_b, title=f"Sanitation {index}")
        made.append(services.request_triage(theirs, actor=world.pm, vendor=world.vendor_b))
    made.append(file_request(world, request_type="Troubleshooting", title="Pods restart"))
    made += [walk_to(world, rng.choice([RequestState.WAITING_ON_REQUESTER, RequestState.BLOCKED])) for _ in range(3)]
    return made


def _shapes() -> int:
    return sum(1 for shape in api_list._SHAPES.values() if shape is not None)


def _compiled(user, query: str, *, cursor: bool = False) -> bool:
    return api_list.requests_list_compiled(_listed, user, QueryDict(query), cursor=cursor) is not None


def _plain_way(monkeypatch) -> None:
    """Every list through the ordinary path (the queryset built and compiled on each call)."""
    monkeypatch.setattr("requests_app.api.views.requests_list_compiled", lambda *args, **kwargs: None)


def _responses(users, paths: list[str]) -> list[tuple[str, str, int, bytes]]:
    out = []
    for user in users:
        client = APIClient()
        client.force_authenticate(user)
        for path in paths:
            response = client.get(path)
            out.append((user.username, path, response.status_code, response.content))
    return out


def test_compiled_lists_are_byte_for_byte_the_ordinary_ones(world, monkeypatch, settings):
    _more_requests(world, random.Random(11))
    users = list(world.users.values())
    paths = [f"{LIST_URL}?{query}" for query in COMPILED_QUERIES + PLAIN_QUERIES + INVALID_QUERIES]
    for user in users:
        assert all(_compiled(user, query) for query in COMPILED_QUERIES), user.username
        assert not any(_compiled(user, query) for query in PLAIN_QUERIES), user.username
    with time_machine.travel(NOW, tick=False):
        compiled = _responses(users, paths)
        settings.PORTICO_API_EXACT_COUNT_LIMIT = 3  # the planner's estimate, and pages read one row past the end
        estimated = _responses(users, paths[:8])
        _plain_way(monkeypatch)
        assert _responses(users, paths[:8]) == estimated
        settings.PORTICO_API_EXACT_COUNT_LIMIT = 10_000
        assert _responses(users, paths) == compiled
    statuses = {status for _, _, status, _ in compiled}
    assert statuses == {200, 400, 404}, statuses


def _walk(client, path: str, link: str) -> list[bytes]:
    pages = []
    while path:
        response = client.get(path)
        assert response.status_code == 200, response.content
        pages.append(response.content)
        following = response.json()[link]
        path = following and "{0.path}?{0.query}".format(urlsplit(following))
    return pages


CURSOR_QUERIES = [
    "page_size=3",
    "page_size=2&ordering=assignee",
    "page_size=4&ordering=-vendor&state=queued&state=in_progress&state=resolved",
    "page_size=3&ordering=-created&quick=mine",
    "page_size=2&ordering=title&team=mgramseva",
    "page_size=5&ordering=response_due_at",
    "page_size=3&search=namespace",  # the ordinary path
]


def test_compiled_cursor_walks_are_byte_for_byte_the_ordinary_ones(world, monkeypatch):
    _more_requests(world, random.Random(12))
    users = (world.pm, world.vendor_engineer, world.other_vendor_engineer, world.requester, world.other_requester)

    def walks() -> list[list[bytes]]:
        out = []
        for user in users:
            client = APIClient()
            client.force_authenticate(user)
            for query in CURSOR_QUERIES:
                forwards = _walk(client, f"{LIST_URL}?pagination=cursor&{query}", "next")
                last = json.loads(forwards[-1])["results"]
                back = []
                if last and len(forwards) > 1:  # back from the last page's `previous`
                    previous = json.loads(forwards[-1])["previous"]
                    back = _walk(client, "{0.path}?{0.query}".format(urlsplit(previous)), "previous")
                out.append([*forwards, b"--", *back])
        return out

    with time_machine.travel(NOW, tick=False):
        compiled = walks()
        _plain_way(monkeypatch)
        assert walks() == compiled
    assert any(len(pages) > 4 for pages in compiled)


def test_a_compiled_list_shows_only_what_visible_to_shows(world):
    _more_requests(world, random.Random(13))
    with time_machine.travel(NOW, tick=False):
        for user in world.users.values():
            client = APIClient()
            client.force_authenticate(user)
            visible = set(ServiceRequest.objects.visible_to(user).values_list("reference", flat=True))
            for query in COMPILED_QUERIES:
                whole = QueryDict(query, mutable=True)
                whole.pop("page", None)
                whole["page_size"] = "200"
                response = client.get(f"{LIST_URL}?{whole.urlencode()}")
                assert response.status_code == 200, (user.username, query)
                listed = {row["reference"] for row in response.json()["results"]}
                assert listed <= visible, (user.username, query, listed - visible)
                results, count = _expected(user, whole.urlencode())
                assert listed == {row["reference"] for row in results} and len(listed) == count, (user.username, query)
            walked = _walk(client, f"{LIST_URL}?pagination=cursor&page_size=2&ordering=-vendor", "next")
            references = [row["reference"] for page in walked for row in json.loads(page)["results"]]
            assert sorted(references) == sorted(visible), user.username


def test_one_compiled_shape_serves_other_values_and_other_users(world):
    _more_requests(world, random.Random(14))
    calls = [
        (world.vendor_engineer, "state=queued&vendor=optit"),
        (world.other_vendor_engineer, "state=queued&vendor=gwl"),
        (world.vendor_lead, "state=in_progress&vendor=gwl"),
        (world.pm, "state=resolved&vendor=optit"),
        (world.approver, "state=submitted&vendor=gwl"),
        (world.requester, "state=queued&vendor=optit"),
        (world.other_requester, "state=queued&vendor=gwl"),
        (world.requester, "state=submitted&vendor=nobody"),
        (world.requester, "created_after=2000-01-01&assignee=opti-eng"),
        (world.requester, "created_after=2100-01-01&assignee=opti-eng"),
        (world.other_requester, "created_after=2000-01-01&assignee=gwl-eng"),
        (world.vendor_engineer, "quick=mine"),
        (world.other_vendor_engineer, "quick=mine"),
        (world.pm, "quick=mine"),
        (world.requester, "quick=mine"),
    ]
    assert all(_compiled(user, query) for user, query in calls)
    counts = []
    with time_machine.travel(NOW, tick=False):
        for _round in (1, 2):  # the second round compiles nothing
            shapes = _shapes()
            for user, query in calls:
                client = APIClient()
                client.force_authenticate(user)
                body = client.get(f"{LIST_URL}?{query}").json()
                results, count = _expected(user, query)
                assert (body["results"], body["count"]) == (results, count), (user.username, query)
                counts.append(count)
        assert _shapes() == shapes
    assert len(set(counts)) > 2, counts  # the values matter: the calls do not all find the same rows


def test_a_warm_compiled_list_builds_no_queryset(world, monkeypatch):
    _more_requests(world, random.Random(15))
    client = APIClient()
    client.force_authenticate(world.vendor_engineer)
    paths = [
        f"{LIST_URL}?state=queued&state=in_progress&ordering=response_due_at&page_size=2",
        f"{LIST_URL}?pagination=cursor&page_size=2&vendor=optit",
    ]
    with time_machine.travel(NOW, tick=False):
        cold = [client.get(path).content for path in paths]
        cold.append(client.get(f"{LIST_URL}?{urlsplit(json.loads(cold[1])['next']).query}").content)

        def refuse(*args, **kwargs):
            raise AssertionError("a warm compiled list built a queryset")

        for name in ("visible_to", "with_related", "filter", "order_by"):
            monkeypatch.setattr(f"requests_app.querysets.ServiceRequestQuerySet.{name}", refuse, raising=False)
        monkeypatch.setattr("desk.filtersets.DeskFilterSet.filter_queryset", refuse)
        warm = [client.get(path).content for path in paths]
        warm.append(client.get(f"{LIST_URL}?{urlsplit(json.loads(cold[1])['next']).query}").content)
    assert warm == cold


def test_invalid_filters_are_the_same_400_on_the_compiled_path(world, monkeypatch):
    users = (world.pm, world.vendor_engineer, world.requester)
    paths = [f"{LIST_URL}?{query}" for query in INVALID_QUERIES] + [
        f"{LIST_URL}?pagination=cursor&state=bogus",
        f"{LIST_URL}?pagination=sideways&state=bogus",
        f"{LIST_URL}?view=999&state=bogus",
    ]
    compiled = _responses(users, paths)
    assert {status for _, _, status, _ in compiled} == {400}
    assert json.loads(compiled[0][3])["error"]["fields"] == {
        "state": ["Select a valid choice. bogus is not one of the available choices."]
    }
    _plain_way(monkeypatch)
    assert _responses(users, paths) == compiled


# --- the estimate and the count read the list's ids alone ----------------------------------------------------
# A join to a table no condition names: the list's own `select_related` joins (Django leaves those tables
# unaliased at the top level; a subquery's tables are U0, U1…).
UNCONDITIONED_JOIN = re.compile(
    r'JOIN "(requests_app_environment|requests_app_stack|requests_app_team|'
    r'requests_app_vendor|portal_user)" (T\d+ )?ON'
)


# The ids, and a ranked search's position among its best matches.
IDS_ALONE = re.compile(
    r'^(EXPLAIN \(FORMAT JSON\) |SELECT COUNT\(\*\) FROM \()SELECT "requests_app_servicerequest"\."id" AS "pk"'
    r'(, array_position\(.*\) AS "search_position")? FROM "requests_app_servicerequest"'
)


def _joined_way(user, query: str, limit: int) -> tuple[int, bool]:
    """The count and `count_is_estimate` as they were read from the page's own SQL (every column, and a join to
    each `select_related` table) without its order: the planner's estimate, and the count that stops one row past
    `limit`."""
    visible = ServiceRequest.objects.visible_to(user).with_related()
    listed = requests_list(visible, QueryDict(query), request=SimpleNamespace(user=user), by_rank=True)
    sql, params = listed.order_by().query.sql_with_params()
    assert UNCONDITIONED_JOIN.search(sql), sql  # the reference really is the joined SQL
    estimate = _plan_rows("default", sql, params)
    if estimate >= limit:
        return estimate, True
    bounded = _bounded_count("default", sql, params, limit + 1)
    return bounded, bounded > limit


@pytest.mark.parametrize("limit", [3, 10_000])
@pytest.mark.parametrize("analyzed", [False, True])
def test_the_count_and_estimate_of_the_ids_are_those_of_the_joined_list(world, settings, limit, analyzed):
    """The estimate and the count read only the requests' ids, without the page's joins, on the compiled path and
    the ordinary one, and find what the page's own SQL found, for every kind of viewer and list; a filter's own
    join (the full-text search's documents) stays."""
    _more_requests(world, random.Random(19))
    if analyzed:  # fresh statistics; without them, the planner's guesses from the tables' sizes
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    settings.PORTICO_API_EXACT_COUNT_LIMIT = limit
    # Ranked, a search's list is its best matches' ids; in an order, the match joins the search documents.
    queries = list(dict.fromkeys([*COMPILED_QUERIES, *PLAIN_QUERIES, *BYTE_QUERIES, "search=namespace&ordering=title"]))
    seen: set[tuple[int, bool]] = set()
    with time_machine.travel(NOW, tick=False):
        for user in world.users.values():
            client = APIClient()
            client.force_authenticate(user)
            for query in queries:
                with CaptureQueriesContext(connection) as captured:
                    response = client.get(f"{LIST_URL}?{query}")
                counting = [q["sql"] for q in captured if q["sql"].startswith(("EXPLAIN", "SELECT COUNT(*)"))]
                ranked = "search=" in query and "ordering=" not in query and "sort=" not in query
                assert counting or ranked, (user.username, query)  # a ranked window knows its size (below)
                for sql in counting:
                    assert IDS_ALONE.search(sql), (user.username, query, sql)
                    assert not UNCONDITIONED_JOIN.search(sql), (user.username, query, sql)
                    assert ("requestsearchdocument" in sql) == ("search=namespace&ordering" in query), sql
                if response.status_code == 404:  # a page past the end
                    assert "page=" in query, (user.username, query)
                    continue
                body = response.json()
                expected = _joined_way(user, query, limit)
                assert (body["count"], body["count_is_estimate"]) == expected, (user.username, query)
                seen.add(expected)
    assert {estimated for _, estimated in seen} == ({False, True} if limit == 3 else {False}), seen
    assert len(seen) > 5, seen
