"""API 1.1 paging of the requests list: cursor pages (`?pagination=cursor`) and the estimated count."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

import pytest
from django.core import signing
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Count, F, Q, QuerySet
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from desk.selectors import requests_ordered
from portal.api.pagination import CursorPagination, EstimatingPaginator, _plan_rows
from requests_app.choices import EventKind, Priority
from requests_app.models import RequestEvent, ServiceRequest
from requests_app.tests import factories as f

from .helpers import LIST_URL, error_of

pytestmark = pytest.mark.django_db

PRIORITIES = [Priority.P1, Priority.P2, Priority.P3]


def _add(world, index: int, **fields) -> ServiceRequest:
    """One request whose sort values repeat and are sometimes missing (no vendor, no running clock), so every
    order has ties to break and NULLs to place."""
    now = timezone.now()
    defaults = {
        "title": f"Request {index % 7}",
        "priority": PRIORITIES[index % 3],
        "environment": world.environment,
        "requester": world.requester,
        "team": (world.team_a, world.team_b)[index % 2],
        "vendor": (world.vendor_a, world.vendor_b, None)[index % 3],
        "next_due_at": None if index % 4 == 0 else now + timedelta(hours=index % 5),
        "response_due_at": None if index % 5 == 0 else now + timedelta(hours=index % 3),
    }
    return f.ServiceRequestFactory(**{**defaults, **fields})


def _rows(world, count: int, start: int = 0) -> list[ServiceRequest]:
    return [_add(world, index) for index in range(start, start + count)]


def _analyze() -> None:
    """Fresh planner statistics, as autovacuum keeps them: the estimate then says what the table holds."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE requests_app_servicerequest")


def _walk(client, params: dict, *, between=lambda: None) -> tuple[list[str], list[str]]:
    """Every reference the cursor pages give, following `next` to the end (calling `between` after each page),
    then `previous` back to the start; and the pages' references in each direction."""
    forwards, url, query = [], LIST_URL, {**params, "pagination": "cursor"}
    last = None
    while url:
        response = client.get(url, query)
        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == {"next", "previous", "results"}
        forwards += [row["reference"] for row in body["results"]]
        last, url, query = body, body["next"], None
        between()
    backwards, url = [], last["previous"]
    backwards = [row["reference"] for row in last["results"]]
    while url:
        body = client.get(url).json()
        backwards = [row["reference"] for row in body["results"]] + backwards
        url = body["previous"]
    return forwards, backwards


ORDERS = [
    "sla",
    "-sla",
    "priority",
    "-priority",
    "vendor",
    "-vendor",
    "title",
    "-reference",
    "created_at",
    "-response_due_at",
]


@pytest.mark.parametrize("ordering", ORDERS)
def test_the_cursor_walks_the_whole_list_in_order_while_rows_are_added(world, api, ordering):
    before = {row.reference for row in _rows(world, 23)}
    added = itertools.count(100)
    forwards, backwards = _walk(
        api(world.pm), {"ordering": ordering, "page_size": 4}, between=lambda: _add(world, next(added))
    )
    assert len(forwards) == len(set(forwards)), "a row came twice"
    assert before <= set(forwards), f"rows skipped: {before - set(forwards)}"
    final = list(requests_ordered(ServiceRequest.objects.all(), ordering).values_list("reference", flat=True))
    assert forwards == [reference for reference in final if reference in set(forwards)], "out of order"
    assert set(forwards) < set(final)  # rows added behind the walk are not shown; those ahead of it are
    # Walking back from the last page gives every row between, in the same order.
    assert backwards == [reference for reference in final if reference in set(backwards)]
    assert set(forwards) <= set(backwards)
    assert len(set(final) - set(backwards)) <= 1  # only the row added after the last page may lie beyond it


def test_the_cursor_never_shows_what_visible_to_hides(world, api):
    _rows(world, 30)
    outsider = world.other_vendor_engineer
    visible = set(ServiceRequest.objects.visible_to(outsider).values_list("reference", flat=True))
    assert 0 < len(visible) < ServiceRequest.objects.count()
    for ordering in ("vendor", "-sla", "priority"):
        forwards, backwards = _walk(api(outsider), {"ordering": ordering, "page_size": 3})
        assert sorted(forwards) == sorted(visible) == sorted(backwards)
    # A cursor the PM was given, replayed by the outsider, still shows only what the outsider may see.
    pm_page = api(world.pm).get(LIST_URL, {"pagination": "cursor", "ordering": "vendor", "page_size": 2}).json()
    replay = api(outsider).get(pm_page["next"]).json()
    assert {row["reference"] for row in replay["results"]} <= visible


def test_the_cursor_keeps_filters_and_search(world, api):
    _rows(world, 12)
    needles = {_add(world, index, title=f"Needle {index}").reference for index in range(200, 207)}
    forwards, _ = _walk(api(world.pm), {"search": "needle", "page_size": 2})
    assert sorted(forwards) == sorted(needles)
    forwards, _ = _walk(api(world.pm), {"priority": Priority.P1, "ordering": "-vendor", "page_size": 2})
    assert sorted(forwards) == sorted(
        ServiceRequest.objects.filter(priority=Priority.P1).values_list("reference", flat=True)
    )


def test_a_bad_cursor_is_a_400(world, api):
    _rows(world, 5)
    client = api(world.pm)
    first = client.get(LIST_URL, {"pagination": "cursor", "page_size": 2}).json()
    cursor = first["next"].split("cursor=")[1].split("&")[0]
    forged_position = signing.dumps(
        {"k": "next_due_at,id", "b": False, "p": ["yesterday", "x"]}, salt=CursorPagination.salt
    )
    for bad in ("garbage", cursor[:-3] + "abc", forged_position):
        response = client.get(LIST_URL, {"cursor": bad})
        assert response.status_code == 400, bad
        assert "cursor" in error_of(response)["fields"]
    # A cursor of one order is refused by another, even one whose sort values have the same types.
    for ordering in ("priority", "-sla"):
        response = client.get(LIST_URL, {"cursor": cursor, "ordering": ordering})
        assert response.status_code == 400, ordering
    state_cursor = client.get(LIST_URL, {"pagination": "cursor", "page_size": 2, "ordering": "state"}).json()["next"]
    response = client.get(state_cursor.replace("ordering=state", "ordering=priority"))
    assert response.status_code == 400
    response = client.get(LIST_URL, {"pagination": "sideways"})
    assert response.status_code == 400
    assert "pagination" in error_of(response)["fields"]


def test_v1_clients_get_page_numbers_and_an_exact_count_on_small_lists(world, api, settings):
    settings.PORTICO_API_EXACT_COUNT_LIMIT = 100
    _rows(world, 12)
    _analyze()
    with CaptureQueriesContext(connection) as captured:
        body = api(world.pm).get(LIST_URL, {"page_size": 5}).json()
    assert body["count"] == 12 and body["count_is_estimate"] is False
    assert body["next"].endswith("page=2&page_size=5") and len(body["results"]) == 5
    assert any(query["sql"].startswith("EXPLAIN") for query in captured)  # the planner said: a short list
    assert any("COUNT(*)" in query["sql"] for query in captured)


def test_a_stale_estimate_never_makes_the_exact_count_read_the_whole_list(world, api, settings):
    settings.PORTICO_API_EXACT_COUNT_LIMIT = 8
    _rows(world, 3)
    _analyze()  # the planner now thinks the table holds 3 rows, and is not told about the next 12
    _rows(world, 12, start=3)
    body = api(world.pm).get(LIST_URL, {"page_size": 5}).json()
    assert body == {**body, "count": 9, "count_is_estimate": True}  # the count stopped one row past the limit


def test_past_the_threshold_the_count_is_the_planners_estimate(world, api, settings):
    settings.PORTICO_API_EXACT_COUNT_LIMIT = 5
    references = {row.reference for row in _rows(world, 12)}
    _analyze()
    client = api(world.pm)
    with CaptureQueriesContext(connection) as captured:
        body = client.get(LIST_URL, {"page_size": 5}).json()
    assert body["count_is_estimate"] is True
    assert body["count"] == 12  # fresh statistics of an unfiltered list: the planner's figure is the truth
    assert any(query["sql"].startswith("EXPLAIN") for query in captured)
    assert not any("COUNT(*)" in query["sql"] for query in captured)
    # The estimate never cuts the list short: pages follow one another until the rows run out.
    seen = [row["reference"] for row in body["results"]]
    while body["next"]:
        body = client.get(body["next"]).json()
        seen += [row["reference"] for row in body["results"]]
    assert sorted(seen) == sorted(references)
    assert client.get(LIST_URL, {"page_size": 5, "page": 9}).status_code == 404


def _queries(client, params: dict, *, follow: bool) -> tuple[int, int, bool | None]:
    client.get(LIST_URL, params)  # warm the user's permission cache, as any earlier request would have
    with CaptureQueriesContext(connection) as captured:
        body = client.get(LIST_URL, params).json()
    rows = len(body["results"])
    if follow:  # a page in the middle, reached by cursor
        with CaptureQueriesContext(connection) as captured:
            body = client.get(body["next"]).json()
        rows = len(body["results"])
    return len(captured), rows, body.get("count_is_estimate")


@pytest.mark.parametrize(
    ("params", "limit", "follow", "estimated"),
    [
        ({}, 10_000, False, False),
        ({}, 20, False, True),
        ({"page": 2}, 20, False, True),
        ({"pagination": "cursor"}, 10_000, False, None),
        ({"pagination": "cursor"}, 10_000, True, None),
        ({"pagination": "cursor", "ordering": "-vendor"}, 10_000, True, None),
        ({"pagination": "cursor", "search": "request"}, 10_000, True, None),
    ],
)
def test_queries_do_not_grow_with_the_page_size(world, api, settings, params, limit, follow, estimated):
    settings.PORTICO_API_EXACT_COUNT_LIMIT = limit
    _rows(world, 420)
    _analyze()
    client = api(world.requester)  # a filtered list: their teams' requests and their own
    counts = {size: _queries(client, {**params, "page_size": size}, follow=follow) for size in (10, 50, 200)}
    assert [rows for _, rows, _ in counts.values()] == [10, 50, 200]
    assert {flag for _, _, flag in counts.values()} == {estimated}
    assert len({queries for queries, _, _ in counts.values()}) == 1, counts


IDS_ALONE = re.compile(
    r'^(EXPLAIN \(FORMAT JSON\) |SELECT COUNT\(\*\) FROM \()SELECT "requests_app_servicerequest"\."id" AS "pk"'
)


def _lists() -> dict[str, tuple[QuerySet, bool]]:
    """Lists whose page joins other tables: through `select_related` (nullable keys among them), through a
    filter's own join (on a nullable key, on a many-valued relation) or an annotation's; and whether their
    estimate and count read their ids alone (not a list whose columns decide which rows are one)."""
    joined = ServiceRequest.objects.with_related()
    return {
        "joined": (joined, True),
        "ordered by a related column": (joined.order_by("vendor__name", "assignee__username", "pk"), True),
        "a nullable key's join": (joined.filter(vendor__name="OptIT"), True),
        "a nullable key's outer join": (joined.filter(Q(vendor__name="GWL") | Q(vendor__isnull=True)), True),
        "a nullable key's annotation": (joined.annotate(vendor_name=F("vendor__name")), True),
        "a related key's absence": (joined.filter(stack__isnull=True), True),
        "a many-valued join": (joined.filter(events__kind=EventKind.COMMENT), True),
        "made distinct": (joined.filter(events__kind__in=[EventKind.COMMENT, EventKind.UPDATED]).distinct(), False),
        "distinct by an annotation": (joined.annotate(kind=F("events__kind")).distinct(), False),
        "grouped": (joined.annotate(comments=Count("events")).filter(comments__gte=2).order_by("pk"), False),
        "none": (joined.none(), True),
    }


@pytest.mark.parametrize("limit", [4, 10_000])
def test_the_paginator_counts_ids_alone_and_finds_the_rows_of_the_page_sql(world, settings, limit):
    """The estimate and the count read only the rows' ids (and annotations): the page's `select_related` joins
    never add or remove a row, and a filter's joins stay. The count and `count_is_estimate` are those the list's
    page SQL gave: the planner's estimate of it, or the count of its rows."""
    settings.PORTICO_API_EXACT_COUNT_LIMIT = limit
    made = _rows(world, 12)
    made[1].stack, made[2].stack = f.StackFactory(), None
    ServiceRequest.objects.bulk_update(made[1:3], ["stack"])
    for index, row in enumerate(made[:7]):
        for kind in (EventKind.COMMENT, EventKind.UPDATED, EventKind.COMMENT)[: index % 4]:
            RequestEvent.objects.create(service_request=row, kind=kind)
    _analyze()
    counted_lists = 0
    for name, (queryset, ids_alone) in _lists().items():
        paginator = EstimatingPaginator(queryset, 5)
        with CaptureQueriesContext(connection) as captured:
            count = paginator.count
        rows = len(list(queryset))
        try:
            sql, params = queryset.order_by().query.sql_with_params()
        except EmptyResultSet:
            assert (count, paginator.count_is_estimate, rows, len(captured)) == (0, False, 0, 0), name
            continue
        estimate = _plan_rows("default", sql, params)  # the page's own SQL, joins and all, unordered
        if estimate >= limit:
            assert (count, paginator.count_is_estimate) == (estimate, True), name
        else:  # counted, one row past the limit at most
            assert (count, paginator.count_is_estimate) == (min(rows, limit + 1), rows > limit), name
            counted_lists += 1
        assert captured, name
        for query in captured:
            assert bool(IDS_ALONE.search(query["sql"])) == ids_alone, (name, query["sql"])
            assert ('JOIN "portal_user"' not in query["sql"]) == ids_alone, (name, query["sql"])
            assert ('JOIN "requests_app_vendor"' in query["sql"]) == ("nullable key's" in name or not ids_alone)
    assert counted_lists >= (9 if limit == 10_000 else 1)
