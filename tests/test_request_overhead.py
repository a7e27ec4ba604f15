"""The fixed cost of a signed-in request, in SQL queries: what bench/profile_request.py measured and the
overhead work removed (bench/RESULTS.md, "Signed-in request: profile")."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from portal.tokens import api_token_create
from requests_app.choices import RequestState
from requests_app.permissions import is_requester_side
from requests_app.tests import factories as f


def _second_call(client: Client, path: str) -> tuple[int, list[str]]:
    """Status and SQL of the second call (the first fills per-process caches and the token's last-used time)."""
    client.get(path)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    return response.status_code, [query["sql"] for query in captured.captured_queries]


def _reads(queries: list[str], table: str) -> int:
    return sum(1 for sql in queries if f'FROM "{table}"' in sql)


@pytest.mark.django_db
def test_me_with_a_token_is_one_query(world):
    world.vendor_engineer.teams.add(world.team_a)
    _, key = api_token_create(user=world.vendor_engineer, name="profile", expires_in_days=1)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    status, queries = _second_call(client, "/api/v1/me/")
    assert status == 200
    body = client.get("/api/v1/me/").json()
    assert (body["vendor"], body["teams"], body["role"]) == ("optit", [world.team_a.slug], "vendor_engineer")
    # the token with its user, vendor, permissions and teams; was three (and four before that)
    assert len(queries) == 1, queries
    assert queries[0].startswith('SELECT "portal_apitoken"."id"'), queries


@pytest.mark.django_db
def test_me_with_a_session_reads_the_user_with_vendor_permissions_and_teams_in_one_query(world):
    client = Client()
    client.force_login(world.vendor_engineer)
    status, queries = _second_call(client, "/api/v1/me/")
    assert status == 200
    # the session, the user (with vendor, permissions, teams and whether they have a confirmed authenticator);
    # was three (the two-factor device check on its own), five before that
    assert len(queries) == 2, queries
    assert not any("otp_totp_totpdevice" in sql and not sql.startswith('SELECT "portal_user"') for sql in queries)
    assert _reads(queries, "requests_app_vendor") == 0  # joined in the user's query, not read on its own
    assert sum(1 for sql in queries if sql.startswith('SELECT "portal_user"."id"')) == 1, queries


@pytest.mark.django_db
def test_queue_page_reads_vendors_and_engineers_once(world):
    for _ in range(5):
        f.ServiceRequestFactory(
            team=world.team_a,
            requester=world.requester,
            environment=world.environment,
            vendor=world.vendor_a,
            state=RequestState.QUEUED,
        )
    client = Client()
    client.force_login(world.vendor_engineer)
    status, queries = _second_call(client, "/queue/")
    assert status == 200
    # the filter bar and the bulk bar share one read of each; the heading's vendor comes with the user
    assert _reads(queries, "requests_app_vendor") == 1, queries
    engineers = [
        sql for sql in queries if 'FROM "portal_user"' in sql and '"portal_user"."vendor_id" IS NOT NULL' in sql
    ]
    assert len(engineers) == 1, queries
    assert len(queries) <= 13, queries  # was 14: the permissions come with the user


@pytest.mark.django_db
def test_request_page_reads_the_viewers_teams_once(world):
    service_request = f.ServiceRequestFactory(
        team=world.team_a, requester=world.other_requester, environment=world.environment
    )
    assert world.requester.teams.filter(pk=world.team_a.pk).exists()
    client = Client()
    client.force_login(world.requester)
    status, queries = _second_call(client, f"/requests/{service_request.reference}/")
    assert status == 200
    # one read of the viewer's team ids serves every "is this the requester's side" check; it was one EXISTS each
    memberships = [sql for sql in queries if sql.startswith('SELECT 1 AS "a" FROM "requests_app_team" INNER JOIN')]
    team_ids = [sql for sql in queries if sql.startswith('SELECT "requests_app_team"."id" FROM "requests_app_team"')]
    # ... and now none: the team ids come with the signed-in user
    assert len(memberships) == 0 and len(team_ids) == 0, queries


@pytest.mark.django_db
def test_requester_side_follows_team_membership_of_a_fresh_user_object(world):
    service_request = f.ServiceRequestFactory(team=world.team_a, requester=world.other_requester)
    outsider = f.UserFactory(username="outsider")
    assert not is_requester_side(service_request, outsider)
    outsider.teams.add(world.team_a)
    reloaded = type(outsider).objects.get(pk=outsider.pk)  # each request loads its user afresh
    assert is_requester_side(service_request, reloaded)


# --- the desk pages (bench/RESULTS.md, "Desk pages: service time"): ceilings at what they reach -------------------
def _open_requests(world, count: int, **fields) -> list:
    environments = [world.environment, f.EnvironmentFactory(), f.EnvironmentFactory()]
    return [
        f.ServiceRequestFactory(
            team=world.team_a,
            requester=world.requester,
            environment=environments[index % 3],
            request_type=("troubleshooting", "gitops")[index % 2],
            **fields,
        )
        for index in range(count)
    ]


def _desk_queries(world, user, path: str) -> list[str]:
    client = Client()
    client.force_login(user)
    status, queries = _second_call(client, path)
    assert status == 200
    return queries


@pytest.mark.django_db
def test_desk_lists_keep_their_filter_choices_and_read_no_more_with_more_rows(world, settings):
    settings.PORTICO_DESK_CHOICES_CACHE_SECONDS = 60
    from django.core.cache import cache

    cache.clear()
    _open_requests(world, 3, vendor=world.vendor_a, state=RequestState.QUEUED)
    _open_requests(world, 3, state=RequestState.SUBMITTED)
    few = {
        "queue": len(_desk_queries(world, world.vendor_engineer, "/queue/?sort=sla")),
        "home": len(_desk_queries(world, world.pm, "/?sort=sla")),
        "triage": len(_desk_queries(world, world.pm, "/triage/?sort=sla")),
    }
    _open_requests(world, 12, vendor=world.vendor_a, state=RequestState.QUEUED)
    _open_requests(world, 12, state=RequestState.SUBMITTED)
    many = {
        "queue": _desk_queries(world, world.vendor_engineer, "/queue/?sort=sla"),
        "home": _desk_queries(world, world.pm, "/?sort=sla"),
        "triage": _desk_queries(world, world.pm, "/triage/?sort=sla"),
    }
    assert {name: len(queries) for name, queries in many.items()} == few  # flat in the number of rows
    # the vendor, its engineers and the environments are kept; the engineer's teams come from what they see
    assert _reads(many["queue"], "requests_app_vendor") == 0, many["queue"]
    assert len(many["queue"]) <= 11, many["queue"]  # was 14
    assert len(many["home"]) <= 9, many["home"]  # was 13
    # the triage inbox: the live vendors (routing reuses them) and the routing rules once each, not 3 queries a row
    assert _reads(many["triage"], "requests_app_routingrule") == 1, many["triage"]
    assert len(many["triage"]) <= 10, many["triage"]  # was 14 + 3 a row
    cache.clear()


@pytest.mark.django_db
def test_request_page_queries(world):
    service_request = _open_requests(world, 1, vendor=world.vendor_a, state=RequestState.IN_PROGRESS)[0]
    path = f"/requests/{service_request.reference}/"
    engineer, pm = _desk_queries(world, world.vendor_engineer, path), _desk_queries(world, world.pm, path)
    # one read of the ledger and of the SLA clocks, one for the follow card's three figures
    for queries in (engineer, pm):
        assert _reads(queries, "sla_clockledgerentry") == 1, queries
        assert _reads(queries, "conversations_watcher") == 1, queries
        assert not any(sql.startswith("DECLARE") for sql in queries), queries  # no cursor per select
    # 25 and 26 until a request read for its id alone (the visibility check, the follow card) selected its state,
    # which django-fsm otherwise loads in a query of its own
    assert len(engineer) <= 23, engineer
    assert len(pm) <= 24, pm
