"""`?search=` on the request list: full-text, ranked unless `ordering` is given, never past `visible_to`."""

from __future__ import annotations

import pytest

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
