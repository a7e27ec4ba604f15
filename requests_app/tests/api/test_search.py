"""`?search=` on the request list: full-text, ranked unless `ordering` is given, never past `visible_to`."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from requests_app.choices import RequestState
from requests_app.testing.workflow import walk_to

pytestmark = pytest.mark.django_db

LIST_URL = "/api/v1/requests/"


def test_api_search_is_ranked_and_scoped(world, api):
    mine = walk_to(world, RequestState.IN_PROGRESS, title="Ibis pipeline", description="Ibis.")
    other = walk_to(world, RequestState.QUEUED, title="Storage", description="Ibis mentioned once.")
    response = api(world.pm).get(LIST_URL, {"search": "ibis"})
    assert response.status_code == 200
    assert [row["reference"] for row in response.json()["results"]] == [mine.reference, other.reference]
    response = api(world.pm).get(LIST_URL, {"search": "ibis", "ordering": "created_at"})
    assert [row["reference"] for row in response.json()["results"]] == [mine.reference, other.reference]
    response = api(world.pm).get(LIST_URL, {"search": "ibis", "ordering": "-created_at"})
    assert [row["reference"] for row in response.json()["results"]] == [other.reference, mine.reference]
    assert api(world.other_vendor_engineer).get(LIST_URL, {"search": "ibis"}).json()["count"] == 0
    assert api(world.pm).get(LIST_URL, {"search": '"unclosed -" or or'}).status_code == 200


def test_api_ranks_the_newest_matches_after_every_filter_and_counts_what_it_lists(world, api, settings):
    settings.PORTICO_SEARCH_RANK_WINDOW = 2
    queued = [walk_to(world, RequestState.QUEUED, title=f"Ibis {n}", description="Ibis.") for n in range(2)]
    newer = [walk_to(world, RequestState.SUBMITTED, title=f"Ibis {n}", description="Ibis.") for n in range(2)]
    client = api(world.pm)
    body = client.get(LIST_URL, {"search": "ibis", "state": "queued"}).json()
    assert {row["reference"] for row in body["results"]} == {row.reference for row in queued}
    body = client.get(LIST_URL, {"search": "ibis"}).json()
    assert body["count"] == 2 and body["count_is_estimate"] is False
    assert {row["reference"] for row in body["results"]} == {row.reference for row in newer}
    body = client.get(LIST_URL, {"search": "ibis", "ordering": "-created_at"}).json()
    assert body["count"] == 4 and [row["reference"] for row in body["results"]] == [
        row.reference for row in reversed(queued + newer)
    ]


def test_api_search_count_is_an_estimate_past_the_exact_count_limit(world, api, settings):
    settings.PORTICO_API_EXACT_COUNT_LIMIT = 2
    for n in range(4):
        walk_to(world, RequestState.QUEUED, title=f"Ibis {n}")
    body = api(world.pm).get(LIST_URL, {"search": "ibis", "ordering": "-created_at"}).json()
    assert body["count_is_estimate"] is True and len(body["results"]) == 4


def test_a_ranked_search_sends_its_window_as_one_array_and_counts_it_from_the_window(world, api):
    """The window's ids go to the database as one parameter (`id = ANY(…)`, the same text for any window), and the
    count is the window's size (`known_count`): no EXPLAIN, no COUNT, no `IN (%s, %s, …)` list."""
    found = [walk_to(world, RequestState.QUEUED, title=f"Ibis {n}", description="Ibis.") for n in range(3)]
    client = api(world.vendor_engineer)
    client.get(LIST_URL, {"search": "ibis"})  # the user's permission cache, as any earlier request would fill it
    with CaptureQueriesContext(connection) as captured:
        body = client.get(LIST_URL, {"search": "ibis"}).json()
    assert body["count"] == 3 and body["count_is_estimate"] is False
    assert sorted(row["reference"] for row in body["results"]) == sorted(r.reference for r in found)
    assert not any(query["sql"].startswith("EXPLAIN") for query in captured)
    windows = [query["sql"] for query in captured if "= ANY(" in query["sql"] and "::bigint[]" in query["sql"]]
    assert len(windows) >= 2, windows  # the check and the page
    assert not any(query["sql"].startswith("SELECT COUNT(*)") for query in captured)
    assert not any(" IN (" in query["sql"] and '"id" IN (' in query["sql"] for query in captured)


ID_LIST = re.compile(r"\bIN \(\d+, \d+, \d+")


def test_every_read_of_the_search_documents_sends_ids_as_one_array(world, api):
    """The window's ids reach the database as one array parameter in every read that holds them: ranked on the
    documents alone (the program manager), checked on the requests (a vendor engineer), or found among every match of
    a list filtered by state. A list of 500 placeholders cost more to build and compile than to run."""
    for n in range(4):
        walk_to(world, RequestState.QUEUED, title=f"Ibis {n}", description="Ibis.")
    for user, params in (
        (world.pm, {"search": "ibis"}),
        (world.vendor_engineer, {"search": "ibis"}),
        (world.pm, {"search": "ibis", "state": "queued"}),
    ):
        with CaptureQueriesContext(connection) as captured:
            body = api(user).get(LIST_URL, params).json()
        assert body["count"] == 4, (user.username, params)
        searched = [query["sql"] for query in captured if "requestsearchdocument" in query["sql"]]
        assert searched, (user.username, params)
        assert not [sql for sql in searched if ID_LIST.search(sql)], (user.username, params)
