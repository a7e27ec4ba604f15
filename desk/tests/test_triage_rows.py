"""The triage inbox written out in Python (`desk.triage`) against the template and the per-row `TransitionForm` it
replaced, and its compiled query against the queryset it was compiled from: the same HTML, the same rows, the same
form posted back."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.template.loader import get_template
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from desk.rows import compiled_list
from desk.selectors import requests_sorted
from desk.triage import TRIAGE_FIELDS, render_triage_rows, triage_row_from_instance, triage_row_from_values, triage_rows
from requests_app import views
from requests_app.choices import Priority, RequestState, RequestType
from requests_app.form_choices import FormChoices
from requests_app.forms import TransitionForm
from requests_app.models import RoutingRule, ServiceRequest
from requests_app.services import TRANSITIONS
from requests_app.testing.workflow import file_request, walk_to
from requests_app.tests import factories as f
from sla.defaults import ensure_defaults
from sla.selectors import clock_snapshots

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 12, 5, 9, 30, tzinfo=UTC)
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')
ROW = re.compile(r'<th scope="row"><a href="/requests/(REQ-\d+)/">')


@pytest.fixture
def inbox(world):
    """Submitted requests in two environments: with and without a routing suggestion, a vendor already set (live
    there or not), a stack, production, titles and names that need escaping, clocks running or not; and requests
    in other states, which the inbox leaves out."""
    ensure_defaults()
    other = f.EnvironmentFactory(code="kerala", name='Kerala & "Co" <east>')
    zeta = f.VendorFactory(slug="zeta", name="Zeta <&> 'Ops'")
    f.VendorOnboardingFactory(vendor=world.vendor_b, environment=other)
    f.VendorOnboardingFactory(vendor=zeta, environment=other)
    RoutingRule.objects.create(environment=world.environment, vendor=world.vendor_a)
    RoutingRule.objects.create(request_type=RequestType.TROUBLESHOOTING, environment=other, vendor=zeta)
    RoutingRule.objects.create(environment=other, stack=world.stack, vendor=world.vendor_b)
    with time_machine.travel(NOW - timedelta(hours=5), tick=False):
        made = [
            file_request(world, title=f"Filed <{n}> & co", priority=priority)
            for n, priority in enumerate([Priority.P1, Priority.P3])
        ]
        made.append(file_request(world, environment=other, stack=None, request_type=RequestType.TROUBLESHOOTING))
        walk_to(world, RequestState.QUEUED)
        walk_to(world, RequestState.IN_PROGRESS)
    for index in range(9):
        made.append(
            f.ServiceRequestFactory(
                title=f'<b>"Risky" & {index}</b>' if index % 3 == 0 else f"Plain {index}",
                team=world.team_b if index % 2 else world.team_a,
                requester=world.other_requester if index % 2 else world.requester,
                environment=other if index % 3 == 1 else world.environment,
                stack=world.stack if index % 4 == 1 else None,
                request_type=[RequestType.TROUBLESHOOTING, RequestType.INFRA_PROVISION, RequestType.ACCESS_OPS][
                    index % 3
                ],
                priority=[Priority.P0, Priority.P1, Priority.P2, Priority.P3, Priority.P4][index % 5],
                affects_production=index % 2 == 0,
                vendor=[None, world.vendor_a, world.vendor_b, None][index % 4],
                state=RequestState.SUBMITTED,
                created_at=NOW - timedelta(minutes=7 * index + 1, days=index % 3),
            )
        )
    return made


def _reference_rows(service_requests: list[ServiceRequest], *, user, request) -> str:
    """The rows as `requests_app/partials/triage_rows.html` writes them, each with its `TransitionForm`: the page's
    template loop before `desk.triage`. Its `FormChoices` is not primed, so each row's routing and each environment's
    live vendors are asked one by one (`routing_suggest`, `live_vendors`), as before the page decided them at once."""
    choices = FormChoices()
    rows = [
        {
            "service_request": service_request,
            "form": TransitionForm(
                name="triage",
                spec=TRANSITIONS["triage"],
                service_request=service_request,
                user=user,
                choices=choices,
                auto_id=f"id_%s_{service_request.pk}",
            ),
            "suggestion": choices.suggestion(service_request),
        }
        for service_request in service_requests
    ]
    return get_template("requests_app/partials/triage_rows.html").render(
        {"rows": rows, "csrf_token": "tok&en"}, request
    )


def _with_clocks(service_requests: list[ServiceRequest]) -> list[ServiceRequest]:
    snapshots = clock_snapshots(row.pk for row in service_requests)
    for row in service_requests:
        row.clock_snapshots = snapshots.get(row.pk, [])
    return service_requests


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(
    ("sort", "zone"), [("sla", None), ("-priority", None), ("title", None), ("-created", "America/St_Johns")]
)
def test_rows_are_the_templates_html_byte_for_byte(world, inbox, sort, zone):
    if zone:  # the viewer's own zone, current for the request (`UserTimezoneMiddleware`)
        with timezone.override(zone):
            test_rows_are_the_templates_html_byte_for_byte.__wrapped__(world, inbox, sort, None)
        return
    request = RequestFactory().get("/triage/", {"sort": sort, "x": '"<&>'})
    request.user = world.pm
    page = _with_clocks(list(requests_sorted(views.TRIAGE.queryset(world.pm), sort)))
    assert len(page) == 12
    expected = _reference_rows(page, user=world.pm, request=request)
    written = render_triage_rows(
        triage_rows(page),
        next_path=request.get_full_path(),
        csrf_input='<input type="hidden" name="csrfmiddlewaretoken" value="tok&amp;en">',
        now=timezone.now(),
    )
    assert written == expected
    # The comparison covers every branch: suggestions and none, a preselected vendor or the empty option, production.
    assert '_helptext">No rule matches</td>' in written and '_helptext">OptIT</td>' in written
    assert "Zeta &lt;&amp;&gt; &#x27;Ops&#x27;" in written
    assert '<option value="" selected>Routing suggestion</option>' in written
    assert f'<option value="{world.vendor_b.pk}" selected>GWL</option>' in written
    assert 'name="triage-affects_production" value="on"' in written
    assert "&lt;b&gt;&quot;Risky&quot; &amp; 0&lt;/b&gt;" in written


@pytest.mark.parametrize("sort", ["sla", "-priority", "title", "-created", "environment"])
def test_compiled_triage_rows_are_the_querysets_rows(world, inbox, sort):
    """For every kind of user (the page is the program manager's; the query's gate is everyone's)."""
    for user in world.users.values():
        compiled = compiled_list(views.TRIAGE, user, sort, TRIAGE_FIELDS)
        assert compiled is not None
        expected = [triage_row_from_instance(row) for row in requests_sorted(views.TRIAGE.queryset(user), sort)]
        values = compiled.values(user)
        assert [triage_row_from_values(row) for row in compiled.rows.rows(**values)] == expected, user.username
        assert compiled.counted.count(cap=1000, **values) == len(expected)
    assert len(expected) == 12  # the approver sees everything; the comparison above is not of empty lists


def _tbody(html: str) -> str:
    table = html.index('<table class="table table--desk"')
    return CSRF.sub("csrf", html[html.index("<tbody>", table) + 7 : html.index("</tbody>", table)])


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(
    ("query", "narrow"),
    [
        ({}, {}),
        ({"sort": "-priority"}, {}),
        ({"sort": "title", "page": "2"}, {}),
        ({"sort": "-created", "page": "3"}, {}),
        ({"priority": "P1"}, {"priority": "P1"}),  # a filter: the model-instance path
        ({"type": RequestType.TROUBLESHOOTING, "sort": "environment"}, {"request_type": RequestType.TROUBLESHOOTING}),
    ],
)
def test_the_inbox_page_shows_the_templates_rows(client, world, inbox, monkeypatch, query, narrow):
    """The page, through the view (compiled or filtered), holds the rows the old template wrote for that page."""
    monkeypatch.setattr(views, "PAGE_SIZE", 4)
    client.force_login(world.pm)
    response = client.get("/triage/", query)
    assert response.status_code == 200
    sort = query.get("sort", "sla")
    ordered = list(requests_sorted(views.TRIAGE.queryset(world.pm).filter(**narrow), sort))
    number = int(query.get("page", 1))
    page = _with_clocks(ordered[(number - 1) * 4 : number * 4])
    assert page
    request = RequestFactory().get("/triage/", query)
    request.user = world.pm
    expected = _reference_rows(page, user=world.pm, request=request)
    assert _tbody(response.content.decode()) == CSRF.sub("csrf", f"\n    {expected}\n  ")


def test_a_rows_form_posts_back_as_the_triage_form_expects(client, world, inbox):
    """What the written form sends (its hidden fields and the preselected vendor) is valid for `TransitionForm` and
    triages the request through the service, back to the inbox."""
    client.force_login(world.pm)
    html = client.get("/triage/", {"sort": "title"}).content.decode()
    form = re.search(r'<form method="post" action="([^"]+)" class="inline-form">(.*?)</form>', html, re.S)
    assert form
    action, body = form.groups()
    data = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', body))
    selected, reference = re.search(r'<option value="(\d+)" selected>', body), re.search(r"(REQ-\d+)", action)
    assert selected and reference
    data["triage-vendor"] = selected.group(1)
    response = client.post(action, data)
    assert response.status_code == 302 and response["Location"] == "/triage/?sort=title"
    service_request = ServiceRequest.objects.get(reference=reference.group(1))
    assert service_request.state == RequestState.QUEUED
    assert str(service_request.vendor_id) == data["triage-vendor"]


def _inbox_queries(client, monkeypatch, page_size: int) -> tuple[int, list[str]]:
    monkeypatch.setattr(views, "PAGE_SIZE", page_size)
    client.get("/triage/?sort=sla")  # per-process compiling and caches
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/triage/?sort=sla")
    assert response.status_code == 200
    return len(captured.captured_queries), ROW.findall(response.content.decode())


def test_the_inbox_reads_a_fixed_number_of_queries_whatever_the_page_size(client, world, inbox, monkeypatch, settings):
    from django.core.cache import cache

    settings.PORTICO_DESK_CHOICES_CACHE_SECONDS = 60  # as served: the filter bar's choices kept
    cache.clear()
    client.force_login(world.pm)
    small, few = _inbox_queries(client, monkeypatch, 3)
    large, many = _inbox_queries(client, monkeypatch, 25)
    assert (len(few), len(many)) == (3, 12)
    # Session, user, two-factor check, saved views, count, page, clocks, the environments' live vendors, routing
    # rules, unread count.
    assert small == large <= 10
