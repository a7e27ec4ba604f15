"""Prepared statements (portal/settings/base.py): Django talks to PostgreSQL through psycopg 3 with server-side
binding, so a statement a connection runs often is prepared there and planned once, and its answers stay right
for new values."""

from __future__ import annotations

from datetime import UTC

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from portal.postgres.planning import custom_plans
from requests_app.choices import RequestState
from requests_app.models import ServiceRequest
from requests_app.testing.workflow import walk_to
from requests_app.tests import factories as f

pytestmark = pytest.mark.django_db


def _prepared(fragment: str) -> list[tuple[str, int, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE %s",
            [f"%{fragment}%"],
        )
        return cursor.fetchall()


def test_the_connection_binds_on_the_server_and_prepares_after_five_runs():
    options = settings.DATABASES["default"]["OPTIONS"]
    assert options["server_side_binding"] is True
    assert options["prepare_threshold"] == 5
    connection.ensure_connection()
    assert connection.connection.prepare_threshold == 5


def test_a_statement_run_often_is_prepared_once_and_keeps_answering_for_new_values(world):
    requests = [f.ServiceRequestFactory(team=world.team_a, requester=world.requester) for _ in range(8)]
    fragment = 'WHERE "requests_app_servicerequest"."reference" = $1'

    assert _prepared(fragment) == []
    titles = [ServiceRequest.objects.filter(reference=r.reference).values_list("title", flat=True)[0] for r in requests]

    assert titles == [r.title for r in requests]  # each run answered for its own value, prepared or not
    statements = _prepared(fragment)
    assert len(statements) == 1, statements  # one statement for eight values
    _, generic, custom = statements[0]
    assert generic + custom == 8 - 5  # five runs unprepared, the sixth prepares it, and it runs from there


def test_a_page_read_again_and_again_runs_from_prepared_statements(world):
    client = Client()
    client.force_login(world.vendor_engineer)
    for _ in range(6):
        assert client.get("/queue/").status_code == 200

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["%requests_app_%"])
        assert cursor.fetchone()[0] >= 3  # the queue's own reads, not just the session's


def test_the_search_windows_reads_stay_unprepared_and_the_pages_reads_are_prepared(world):
    """portal/postgres/planning.py: a search's window is read with statements planned for their own words each time
    (a generic plan ANDed a reference's GIN lookup with every document of the vendor), while the page read by the
    window's ids, like any other statement, is prepared after five runs."""
    service_request = walk_to(world, RequestState.QUEUED, title="Grafana dashboards are blank")  # their vendor's
    client = Client()
    client.force_login(world.vendor_engineer)
    for text in ["grafana", service_request.reference] * 7:  # each statement run more than five times
        response = client.get("/", {"search": text})
        assert response.status_code == 200
        assert service_request.reference in response.content.decode()  # found, every time

    assert _prepared("requests_app_requestsearchdocument") == []  # spans, GIN reads, check and rank: never
    assert _prepared('FROM "requests_app_servicerequest"')  # the page's own reads (rows by id, count) are
    assert connection.connection.prepare_threshold == 5  # and the connection's threshold is back


def test_the_snippets_timeline_read_is_one_prepared_statement_whatever_the_pages_rows(world):
    """requests_app/search.py reads the page's timeline text by one array of ids: one statement for pages of any
    number of rows, prepared once. As an `IN` list each page size was a statement of its own, and on 1,000,000
    requests PostgreSQL planned it again on every run (its estimates made each custom plan look cheaper than the
    generic one: 1.6 ms of planning for 0.15 ms of execution; with the array it keeps the generic plan, 0.2 ms:
    bench/RESULTS.md, session 16)."""
    one = walk_to(world, RequestState.QUEUED, title="Grafana dashboards are blank")
    two = [walk_to(world, RequestState.QUEUED, title=f"Heron alerts fire {n}") for n in range(2)]
    client = Client()
    client.force_login(world.vendor_engineer)
    for text, expected in [("grafana", [one]), ("heron", two)] * 6:  # each page size more than five times
        page = client.get("/", {"search": text}).content.decode()
        assert all(service_request.reference in page for service_request in expected)

    timeline = [row for row in _prepared('"requests_app_requestevent"."message"') if "ts_headline" not in row[0]]
    assert len(timeline) == 1, timeline
    statement, generic, custom = timeline[0]
    assert '"requests_app_requestevent"."service_request_id" = ANY($' in statement
    assert generic + custom == 12 - 5  # prepared on its sixth run, and run from there for both page sizes


def test_custom_plans_puts_the_threshold_back_when_the_block_fails():
    connection.ensure_connection()
    with pytest.raises(ZeroDivisionError), custom_plans():
        assert connection.connection.prepare_threshold is None
        1 / 0  # noqa: B018 — any error inside the block
    assert connection.connection.prepare_threshold == 5


TIMES = [
    "2026-03-01 10:00:00.123456+05:30",
    "2026-11-01 01:30:00-04:00",
    "0001-01-01 00:00:00+00",
    "9999-12-31 23:59:59.999999+00",
    "2000-02-29 12:00:00.5+14",
    "1970-01-01 00:00:00-12",
]


def test_timestamps_load_as_djangos_own_loader_loads_them():
    """portal/postgres/base.py swaps Django's Python timestamptz loader for psycopg's (C) one on a UTC connection:
    the same values, in the same `datetime.timezone.utc`."""

    from django.db.backends.postgresql.psycopg_any import BaseTzLoader, register_tzloader
    from psycopg.postgres import types
    from psycopg.pq import Format

    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(types["timestamptz"].oid, Format.TEXT)
    assert not issubclass(loader, BaseTzLoader)  # psycopg's own, not Django's subclass

    query = "SELECT " + ", ".join(["%s::timestamptz"] * len(TIMES)) + ", now()"
    with connection.cursor() as cursor:
        cursor.execute(query, TIMES)
        fast = cursor.fetchone()
    with connection.cursor() as cursor:
        register_tzloader(UTC, cursor.cursor)  # Django's loader on this cursor alone
        cursor.execute(query, TIMES)
        djangos = cursor.fetchone()

    assert fast[:-1] == djangos[:-1]
    assert all(value.tzinfo is UTC for value in fast + djangos)
    assert [value.isoformat() for value in fast[:-1]] == [value.isoformat() for value in djangos[:-1]]


def _iterate(world) -> list[tuple[int, object]]:
    requests = [f.ServiceRequestFactory(team=world.team_a, requester=world.requester) for _ in range(5)]
    read = list(
        ServiceRequest.objects.filter(pk__in=[r.pk for r in requests])
        .order_by("pk")
        .values_list("pk", "created_at")
        .iterator(chunk_size=2)
    )
    assert read == sorted((r.pk, r.created_at) for r in requests)
    assert all(created.tzinfo is UTC for _, created in read)
    return read


def test_a_server_side_cursor_in_a_transaction_reads_every_row(world):
    """`.iterator()` reads through a named (server-side) cursor, which portal/postgres/base.py opens itself."""
    assert len(_iterate(world)) == 5


@pytest.mark.django_db(transaction=True)
def test_a_holdable_server_side_cursor_outside_a_transaction_reads_every_row(world):
    """In autocommit (a beat task, a management command) the named cursor is WITH HOLD, as Django makes it."""
    assert connection.get_autocommit()
    assert len(_iterate(world)) == 5


def test_with_use_tz_turned_off_after_connecting_timestamps_load_naive_as_django_loads_them(settings):
    with connection.cursor() as cursor:
        cursor.execute("SELECT '2026-12-05 12:00:00+00'::timestamptz")
        assert cursor.fetchone()[0].tzinfo is UTC  # psycopg's loader, on the connection made with USE_TZ on
    settings.USE_TZ = False  # Django then wants naive times in TIME_ZONE, from its own loader (it raised before)
    with connection.cursor() as cursor:
        cursor.execute("SELECT '2026-12-05 12:00:00+00'::timestamptz")
        value = cursor.fetchone()[0]
    settings.USE_TZ = True
    assert value.tzinfo is None
