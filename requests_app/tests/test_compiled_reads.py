"""The request page's and API's compiled reads (requests_app.compiled, portal.compiled.CompiledObjects) return what
the querysets they were compiled from return, for every kind of viewer; the API's hand-built request equals
ServiceRequestSerializer's; and the page's and list's query counts do not grow with the timeline or the page."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from attachments.selectors import attachments_for_page, attachments_of
from provisioning.selectors import runs_for_panel, runs_for_request
from requests_app import services
from requests_app.api.serializers import ServiceRequestSerializer, request_representation
from requests_app.choices import RequestState
from requests_app.compiled import request_for_page, request_visible, timeline_for_page
from requests_app.models import RequestEvent, ServiceRequest
from requests_app.services.links import _links_of
from requests_app.testing.workflow import file_request, walk_to
from sla.selectors import clock_snapshots

pytestmark = pytest.mark.django_db


def _requests(world):
    """Requests of both vendors and of neither, with internal notes, a link each viewer may or may not see through,
    and the optional fields both filled and empty."""
    ours = walk_to(world, RequestState.IN_PROGRESS, title="Ours")
    theirs = services.request_triage(file_request(world, title="Theirs"), actor=world.pm, vendor=world.vendor_b)
    submitted = file_request(world, title="Nobody's yet", needed_by=None)
    resolved = walk_to(world, RequestState.RESOLVED, title="Done")
    services.request_comment(ours, actor=world.vendor_engineer, body="Internal", internal=True)
    services.request_comment(ours, actor=world.requester, body="Public")
    services.link_add(actor=world.pm, service_request=ours, relation="relates_to", other_reference=theirs.reference)
    services.link_add(actor=world.pm, service_request=ours, relation="parent_of", other_reference=submitted.reference)
    return [ours, theirs, submitted, resolved]


def _viewers(world):
    return [*world.users.values()]


def test_the_page_reads_equal_the_querysets_they_were_compiled_from_for_every_viewer(world):
    requests = _requests(world)
    for user in _viewers(world):
        for service_request in requests:
            label = (user.username, service_request.title)
            expected = (
                ServiceRequest.objects.visible_to(user)
                .with_related()
                .filter(reference=service_request.reference)
                .first()
            )
            found = request_for_page(user, service_request.reference)
            assert (found and found.pk) == (expected and expected.pk), label
            assert request_visible(user, service_request.pk) == (expected is not None), label
            if expected is None:
                continue
            assert (found.title, found.state) == (expected.title, expected.state), label
            assert [found.environment, found.team, found.requester, found.vendor, found.assignee] == [
                expected.environment,
                expected.team,
                expected.requester,
                expected.vendor,
                expected.assignee,
            ], label
            clocks = list(expected.clocks.select_related("policy", "vendor"))
            assert [(c.pk, c.policy, c.vendor) for c in found.clocks.all()] == [
                (c.pk, c.policy, c.vendor) for c in clocks
            ]
            events = list(
                RequestEvent.objects.visible_to(user).filter(service_request=expected).select_related("actor")
            )
            timeline = timeline_for_page(user, expected)
            assert [(e.pk, e.actor) for e in timeline] == [(e.pk, e.actor) for e in events], label
            assert [view.link.pk for view in services.links_of(expected, user=user)] == [
                link.pk
                for link in _links_of(user, expected.pk)  # the queryset itself, uncompiled
            ], label
            assert [a.pk for a in attachments_for_page(expected, user)] == [
                a.pk for a in attachments_of(expected, user)
            ]
            assert [r.pk for r in runs_for_panel(expected, user=user)] == [
                r.pk for r in runs_for_request(expected, user=user)
            ]


def test_a_viewer_who_sees_some_of_the_timeline_gets_exactly_that_part(world):
    ours = _requests(world)[0]
    seen = {user.username: {e.message for e in timeline_for_page(user, ours)} for user in _viewers(world)}
    assert "Internal" in seen["opti-eng"] and "Internal" not in seen["asha"]  # the vendor's note, not the team's
    links_seen = {name: sum(m.startswith("Linked") for m in messages) for name, messages in seen.items()}
    assert (links_seen["pm"], links_seen["opti-eng"]) == (2, 0)  # the links to requests OptIT cannot see are hidden


def test_the_api_request_built_by_hand_equals_the_serializers(world):
    requests = _requests(world)
    now = timezone.now()
    for service_request in ServiceRequest.objects.with_related().filter(pk__in=[r.pk for r in requests]):
        assert (
            request_representation(service_request, now=now)
            == ServiceRequestSerializer(service_request, context={"now": now}).data
        )
        snapshots = clock_snapshots([service_request.pk])
        expected = ServiceRequestSerializer(service_request, context={"now": now, "clocks": snapshots}).data
        assert (
            request_representation(service_request, now=now, clocks=snapshots.get(service_request.pk, [])) == expected
        )
        assert expected["vendor"] in {None, "optit", "gwl"} and expected["sla"]["response"]["status"]


def _page_queries(client, reference):
    client.get(f"/requests/{reference}/")  # per-process caches filled
    with CaptureQueriesContext(connection) as captured:
        assert client.get(f"/requests/{reference}/").status_code == 200
    return len(captured)


@pytest.mark.parametrize("username", ["vendor_engineer", "pm", "requester"])
def test_the_request_page_reads_as_many_queries_with_a_long_timeline_as_with_a_short_one(world, username):
    user = world.users[username]
    client = Client()
    client.force_login(user)
    short = walk_to(world, RequestState.IN_PROGRESS, title="Short")
    long = walk_to(world, RequestState.IN_PROGRESS, title="Long")
    for index in range(25):
        services.request_comment(long, actor=world.vendor_engineer, body=f"Note {index}", internal=index % 2 == 0)
    target = services.request_triage(file_request(world, title="Linked"), actor=world.pm, vendor=world.vendor_b)
    services.link_add(actor=world.pm, service_request=long, relation="relates_to", other_reference=target.reference)
    assert _page_queries(client, short.reference) == _page_queries(client, long.reference)


def test_the_api_list_reads_as_many_queries_for_fifty_requests_as_for_five(world):
    for index in range(50):
        walk_to(world, RequestState.QUEUED if index % 2 else RequestState.IN_PROGRESS, title=f"R{index}")
    client = APIClient()
    client.force_authenticate(world.vendor_engineer)
    counts = []
    for size in (5, 50):
        client.get(f"/api/v1/requests/?page_size={size}")
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"/api/v1/requests/?page_size={size}")
        assert len(response.json()["results"]) == size
        counts.append(len(captured))
    assert counts[0] == counts[1]


class _ReadsElsewhere:
    """A router that sends every read to a connection that does not exist."""

    def db_for_read(self, model, **hints):
        return "nowhere"


def test_a_compiled_read_goes_where_the_routers_send_the_queryset(world):
    from django.test import override_settings
    from django.utils.connection import ConnectionDoesNotExist

    from requests_app.compiled import request_locked

    service_request = file_request(world, title="Routed")
    world.pm.get_all_permissions()  # read now: under the router below, reading them would fail first
    with override_settings(DATABASE_ROUTERS=[f"{__name__}._ReadsElsewhere"]):
        with pytest.raises(ConnectionDoesNotExist):
            request_for_page(world.pm, service_request.reference)
        assert request_locked(world.pm, service_request.pk).pk == service_request.pk  # a lock is a write: primary


def _columns(instance):
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def test_compiled_reads_convert_every_column_as_the_queryset_does(world):
    """The converters are worked out once per compiled query (portal.compiled): JSON, dates, datetimes and
    choices still come out as the queryset's own rows, for the request, its related rows and its clocks."""
    requests = _requests(world)
    for service_request in requests:
        service_request.parameters = {"namespace": f"ns-{service_request.pk}", "cpu": 2, "nested": {"a": [1, None]}}
        service_request.save(update_fields=["parameters"])
    for user in (world.pm, world.vendor_engineer, world.requester):
        for service_request in requests:
            expected = (
                ServiceRequest.objects.visible_to(user)
                .with_related()
                .filter(reference=service_request.reference)
                .first()
            )
            found = request_for_page(user, service_request.reference)
            if expected is None:
                assert found is None
                continue
            assert _columns(found) == _columns(expected)
            for name in ("environment", "team", "requester", "vendor", "assignee"):
                mine, theirs = getattr(found, name), getattr(expected, name)
                assert (mine and _columns(mine)) == (theirs and _columns(theirs)), name
            clocks = list(expected.clocks.select_related("policy", "vendor"))
            assert [_columns(c) for c in found.clocks.all()] == [_columns(c) for c in clocks]


def test_a_request_read_for_its_id_alone_costs_one_query(world):
    """django-fsm reads the state of every ServiceRequest it makes: without the state selected, each such read
    (the visibility check, the follow card's figures) cost a second query to load it."""
    ours = _requests(world)[0]
    request_visible(world.pm, ours.pk)  # compiled
    with CaptureQueriesContext(connection) as captured:
        assert request_visible(world.pm, ours.pk)
    assert len(captured) == 1


def test_the_stand_in_answers_for_its_scope_and_refuses_any_other_permission():
    """Every compiled read is built from `compiled_scope.stand_in`: it holds VIEW_ALL exactly in the scope "all",
    and a query that asked it anything else (which its scope does not decide) fails while being built."""
    from requests_app.compiled_scope import USER_MARKER, VENDOR_MARKER, stand_in
    from requests_app.permissions import TRIAGE, VIEW_ALL

    assert [stand_in(scope, vendor=False).has_perm(VIEW_ALL) for scope in ("all", "vendor", "member")] == [
        True,
        False,
        False,
    ]
    someone = stand_in("vendor", vendor=True)
    assert (someone.pk, someone.vendor_id) == (USER_MARKER, VENDOR_MARKER)
    assert stand_in("member", vendor=False).vendor_id is None
    with pytest.raises(ValueError, match="asked its stand-in"):
        stand_in("all", vendor=False).has_perm(TRIAGE)
