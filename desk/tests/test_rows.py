"""The desk table written out in Python (`desk.rows`) against the templates it replaced, and the compiled list
queries against the querysets they were compiled from: the same HTML, the same rows for every kind of user."""

from __future__ import annotations

import copy
import re
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import time_machine
from django.db import connection
from django.http import QueryDict
from django.template import RequestContext, Template
from django.template.loader import get_template
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.safestring import mark_safe

from announcements.context_processors import banners
from announcements.models import Acknowledgement, Announcement, Audience
from desk.forms import DeskFilterForm
from desk.models import SavedView, Sharing
from desk.pages import saved_views
from desk.rows import attach_clocks, compiled_list, render_rows, row_from_instance, row_from_values
from desk.selectors import COLUMNS, filter_choices, requests_sorted
from portal.forms import SharedFields
from requests_app import services, views
from requests_app.choices import RequestState
from requests_app.models import Notification, RequestEvent, ServiceRequest
from requests_app.notifications import notification_list, notification_unread_count
from requests_app.testing.workflow import file_request, walk_to
from requests_app.tests import factories as f
from sla.defaults import ensure_defaults
from sla.selectors import clock_snapshots

pytestmark = pytest.mark.django_db
ROW = re.compile(r'<th scope="row"><a href="/requests/(REQ-\d+)/">')


def _people(world) -> list:
    loner = f.UserFactory(username="loner")  # no team, no vendor: sees nothing but what they filed
    return [
        world.requester,
        world.other_requester,
        world.vendor_engineer,
        world.vendor_lead,
        world.other_vendor_engineer,
        world.pm,
        world.approver,
        loner,
    ]


@pytest.fixture
def requests(world):
    """Requests across teams, vendors and states, some assigned, one with a title that needs escaping."""
    ensure_defaults()
    made = [
        file_request(world),
        walk_to(world, RequestState.QUEUED),
        walk_to(world, RequestState.IN_PROGRESS),
        walk_to(world, RequestState.WAITING_ON_REQUESTER),
        walk_to(world, RequestState.CLOSED),
    ]
    for index in range(6):
        made.append(
            f.ServiceRequestFactory(
                title=f'<b>"Risky" & {index}</b>',
                team=world.team_b if index % 2 else world.team_a,
                requester=world.other_requester if index % 2 else world.requester,
                environment=world.environment,
                vendor=[None, world.vendor_a, world.vendor_b][index % 3],
                assignee=world.vendor_engineer if index == 1 else None,
                state=RequestState.QUEUED if index < 4 else RequestState.SUBMITTED,
                next_due_at=timezone.now() + timedelta(hours=index - 2) if index != 3 else None,
            )
        )
    return made


# --- the rows' HTML -----------------------------------------------------------------------------------------
def _reference_rows(page, *, bulk: bool, pick_up: bool, vendor: bool, request) -> str:
    """The rows as `requests_app/partials/request_rows.html` (the template language) writes them."""
    template = get_template("requests_app/partials/request_rows.html")
    desk = {"bulk_form": object() if bulk else None, "vendor_column": vendor}
    context = {"desk": desk, "pick_up": pick_up, "csrf_token": "tok&en"}
    return "".join(template.render({**context, "service_request": row}, request) for row in page)


@pytest.mark.parametrize(
    ("bulk", "pick_up", "vendor", "zone"),
    [
        (True, True, True, None),
        (False, False, True, None),
        (True, False, True, None),
        (True, True, False, None),
        (True, True, True, "America/St_Johns"),
    ],
)
def test_rows_are_the_templates_html_byte_for_byte(world, requests, bulk, pick_up, vendor, zone):
    if zone:  # the viewer's own zone, current for the request (`UserTimezoneMiddleware`)
        with timezone.override(zone):
            test_rows_are_the_templates_html_byte_for_byte(world, requests, bulk, pick_up, vendor, None)
        return
    request = RequestFactory().get("/queue/", {"sort": "-priority", "x": '"<&>'})
    request.user = world.pm
    page = list(ServiceRequest.objects.with_related().order_by("pk"))
    snapshots = clock_snapshots(row.pk for row in page)
    for row in page:
        row.clock_snapshots = snapshots.get(row.pk, [])
        row.search_snippet = mark_safe("a <mark>match</mark> &amp; more") if row.pk % 2 else None
    expected = _reference_rows(page, bulk=bulk, pick_up=pick_up, vendor=vendor, request=request)
    written = render_rows(
        page,
        bulk=bulk,
        pick_up=pick_up,
        vendor=vendor,
        next_path=request.get_full_path(),
        csrf_input='<input type="hidden" name="csrfmiddlewaretoken" value="tok&amp;en">' if pick_up else "",
        now=timezone.now(),
    )
    assert written == expected
    assert "Pick up" in written if pick_up else "Pick up" not in written
    assert ("not routed yet" in written) is vendor  # a third of the requests are not routed
    assert "&lt;b&gt;&quot;Risky&quot; &amp; 0&lt;/b&gt;" in written  # escaped, as the template escaped it


def test_rows_from_values_are_the_rows_from_instances(world, requests):
    """What the compiled query fetches makes the same row as the model instance the filtered lists read."""
    by_pk = {row.pk: row for row in ServiceRequest.objects.with_related()}
    values = ServiceRequest.objects.values_list(*__import__("desk.rows").rows.ROW_FIELDS)
    for value in values:
        assert row_from_values(value) == row_from_instance(by_pk[value[0]])
    rows = [row_from_instance(row) for row in by_pk.values()]
    attach_clocks(rows)
    expected = clock_snapshots(by_pk)
    assert {row.pk: row.clock_snapshots for row in rows} == {pk: expected.get(pk, []) for pk in by_pk}
    assert any(row.clock_snapshots for row in rows)


@pytest.mark.parametrize(
    "query", [{}, {"sort": "title"}, {"sort": "-title", "page": "3"}, {"sort": "-sla", "q": "a&b"}]
)
def test_sort_headers_are_the_templates_html(world, query):
    from desk.templatetags import desk as tags

    request = RequestFactory().get("/", query)
    request.user = world.pm
    tags._SORT_HEADERS.clear()
    for kept in (False, True):  # written, then kept per query string, sort and column
        for current in ("sla", "title", "-title", "-sla", ""):
            desk = type("Desk", (), {"sort": current})()
            for key in COLUMNS:
                context = RequestContext(request, {"desk": desk, "key": key})
                expected = get_template("desk/partials/sort_th.html").template.render(context)
                written = Template("{% load desk %}{% sort_th key %}").render(
                    RequestContext(request, {"desk": desk, "key": key})
                )
                assert written == expected, (current, key, kept)
        assert len(tags._SORT_HEADERS) == 5 * len(COLUMNS)


# --- the compiled queries answer what the querysets answer ------------------------------------------------
@pytest.mark.parametrize("sort", ["sla", "-priority", "title", "-created"])
def test_compiled_lists_see_what_visible_to_sees(world, requests, sort):
    for source in (views.REQUESTS, views.QUEUE):
        for user in _people(world):
            compiled = compiled_list(source, user, sort)
            if source.by_vendor and not user.vendor_id:
                assert compiled is None
                continue
            expected = requests_sorted(source.queryset(user), sort)
            values = compiled.values(user)
            got = [row[0] for row in compiled.rows.rows(**values)]
            assert got == list(expected.values_list("pk", flat=True)), (user.username, sort)
            assert compiled.counted.count(cap=1000, **values) == expected.count()
            assert compiled.counted.count(cap=2, **values) == min(2, expected.count())
            assert [row[0] for row in compiled.rows.rows(limit=2, offset=1, **values)] == got[1:3]


def test_the_compiled_lists_are_not_empty_for_everyone(world, requests):
    """The comparison above means something: most people see some requests, and not all the same ones."""
    seen = {
        user.username: tuple(
            compiled_list(views.REQUESTS, user, "sla").rows.rows(
                **compiled_list(views.REQUESTS, user, "sla").values(user)
            )
        )
        for user in _people(world)
    }
    assert seen["pm"] and seen["asha"] and seen["opti-eng"] and not seen["loner"]
    assert len(set(seen.values())) >= 4


def test_unread_counts_and_choices_are_the_querysets_answers(world, requests):
    events = list(RequestEvent.objects.all()[:12])
    people = _people(world)
    for index, event in enumerate(events):
        for user in people:
            Notification.objects.get_or_create(
                user=user, event=event, defaults={"read_at": None if index % 3 else timezone.now()}
            )
    counts = set()
    for user in people:
        expected = notification_list(user=user).filter(read_at__isnull=True).count()
        assert notification_unread_count(user=user) == expected, user.username
        counts.add(expected)
        choices = filter_choices(user)
        from desk.selectors import assignee_choices, team_choices, vendor_choices

        assert choices.teams == [(t.slug, t.name) for t in team_choices(user)]
        assert choices.vendors == [(v.slug, v.name) for v in vendor_choices(user)]
        assert choices.engineers == [(u.username, u.get_full_name() or u.username) for u in assignee_choices(user)]
    assert len(counts) > 1


def test_saved_views_and_banners_are_the_querysets_answers(world):
    mine = SavedView.objects.create(owner=world.vendor_engineer, name="Mine", list_name="queue", query="sort=sla")
    SavedView.objects.create(
        owner=world.vendor_lead, name="Ours", list_name="queue", sharing=Sharing.VENDOR, vendor=world.vendor_a
    )
    SavedView.objects.create(
        owner=world.requester, name="Team", list_name="queue", sharing=Sharing.TEAM, team=world.team_a
    )
    SavedView.objects.create(owner=world.other_vendor_engineer, name="Theirs", list_name="queue")
    for user in _people(world):
        expected = list(
            SavedView.objects.visible_to(user).filter(list_name="queue").select_related("owner", "team", "vendor")
        )
        got = saved_views(user, "queue")
        assert [(v.pk, str(v.owner), str(v.team), str(v.vendor), v.is_default) for v in got] == [
            (v.pk, str(v.owner), str(v.team), str(v.vendor), v.is_default) for v in expected
        ]
    assert [v.pk for v in saved_views(world.vendor_engineer, "queue")][:1] and mine.pk in [
        v.pk for v in saved_views(world.vendor_engineer, "queue")
    ]
    now = timezone.now()
    shown = Announcement.objects.create(title="Maintenance", body="Tonight", audience=Audience.ALL_PARTNERS)
    Announcement.objects.create(title="Old", body="Gone", expires_at=now - timedelta(hours=1))
    Announcement.objects.create(title="Later", body="Soon gone", expires_at=now + timedelta(hours=1))
    Acknowledgement.objects.create(announcement=shown, user=world.vendor_lead)
    for user in (world.vendor_engineer, world.vendor_lead, world.other_vendor_engineer):
        expected = list(Announcement.objects.for_partner(user).unacknowledged_by(user))
        assert [(b.pk, b.title, b.body) for b in banners(user)] == [(a.pk, a.title, a.body) for a in expected]
    assert [b.title for b in banners(world.vendor_lead)] == ["Later"]


# --- the page's queries ------------------------------------------------------------------------------------
def _queue_queries(client, monkeypatch, page_size: int) -> tuple[int, list[str]]:
    monkeypatch.setattr(views, "PAGE_SIZE", page_size)
    client.get("/queue/")  # per-process compiling and caches
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/queue/")
    assert response.status_code == 200
    return len(captured.captured_queries), ROW.findall(response.content.decode())


def test_the_queue_page_reads_a_fixed_number_of_queries_whatever_the_page_size(client, world, monkeypatch):
    for index in range(30):
        f.ServiceRequestFactory(
            team=world.team_a,
            requester=world.requester,
            environment=world.environment,
            vendor=world.vendor_a,
            state=RequestState.QUEUED,
            title=f"Queued {index}",
        )
    client.force_login(world.vendor_engineer)
    small, few = _queue_queries(client, monkeypatch, 5)
    large, many = _queue_queries(client, monkeypatch, 25)
    assert (len(few), len(many)) == (5, 25)
    # Session, user (with whether they have a confirmed authenticator: the two-factor check), saved views, the
    # filter choices (vendors, engineers, environments: kept a few seconds outside tests; the vendor's teams), count,
    # page, clocks, unread count, announcements.
    assert small == large == 12


def _filter_bar(html: str) -> str:
    return html[html.index('<form id="desk-filters"') : html.index("</form>", html.index('<form id="desk-filters"'))]


def test_the_filter_bar_kept_for_the_same_inputs_is_the_one_rendered_afresh(client, world, requests):
    from desk.templatetags import desk as tags

    client.force_login(world.pm)
    tags._TOOLBARS.clear()
    first = client.get("/", {"priority": "P2"}).content.decode()
    assert len(tags._TOOLBARS) == 1
    tags_html = _filter_bar(first)
    assert _filter_bar(client.get("/", {"priority": "P2"}).content.decode()) == tags_html  # kept
    assert len(tags._TOOLBARS) == 1
    other = _filter_bar(client.get("/", {"priority": "P3"}).content.decode())
    assert len(tags._TOOLBARS) == 2 and other != tags_html
    assert re.search(r'<option value="P3" selected>', other)
    f.VendorFactory(slug="newcomer", name="Newcomer")  # new choices: a new key, not the kept bar
    kept = _filter_bar(client.get("/", {"priority": "P2"}).content.decode())
    assert 'value="newcomer"' in kept
    assert _filter_bar(client.get("/", {"priority": "P2"}).content.decode()) == kept
    tags._TOOLBARS.clear()
    assert _filter_bar(client.get("/", {"priority": "P2"}).content.decode()) == kept  # afresh: the same HTML


# --- forms sharing their fields (`portal.forms.fields_shared`) write the same pages ---------------------------
LIST_PATHS = ["/", "/queue/", "/triage/", "/approvals/"]
LIST_QUERIES = [
    "",
    "sort=sla",
    "sort=-priority&page=2",
    "sort=title",
    "sort=-created",
    "quick=mine",
    "quick=unassigned",
    "quick=breached",
    "quick=waiting",
    "state=queued&sort=-title",
    "priority=P1",
    "vendor=optit",
    "team=mgramseva",
    "search=Risky",
    "page=2",
    "state=bogus",
]
CSRF = re.compile(r'(csrfmiddlewaretoken" value="|X-CSRFToken": ")[^"]+')
FROZEN = datetime(2026, 12, 5, 10, 30, tzinfo=UTC)


class _NeverKept(OrderedDict):
    """A `DeskFilterForm._prepared` that keeps nothing: each form makes its fields afresh."""

    def __setitem__(self, key, value) -> None:
        pass


def _pages(people) -> dict:
    out = {}
    for person in people:
        browser = Client()
        browser.force_login(person)
        for path in LIST_PATHS:
            for query in LIST_QUERIES:
                response = browser.get(f"{path}?{query}")
                out[person.username, path, query] = (response.status_code, CSRF.sub(r"\1-", response.content.decode()))
    return out


def test_list_pages_are_the_same_as_with_forms_that_copy_their_fields(world, requests, monkeypatch):
    """Every kind of user's list pages (filters, sorts, quick filters, pages), with the forms' fields shared and kept
    (twice: the second round reuses the first's), are byte for byte the pages whose forms deep-copy their fields
    and set their choices each time, as Django's forms do; one user reads the times in a zone of their own."""
    people = _people(world)
    world.vendor_lead.timezone = "America/St_Johns"
    world.vendor_lead.save(update_fields=["timezone"])
    with time_machine.travel(FROZEN, tick=False):
        shared = _pages(people)
        again = _pages(people)
        monkeypatch.setattr(
            SharedFields,
            "__deepcopy__",
            lambda self, memo: {name: copy.deepcopy(field, memo) for name, field in self.items()},
        )
        monkeypatch.setattr(DeskFilterForm, "_prepared", _NeverKept())
        copied = _pages(people)
    assert shared == again
    assert shared == copied
    assert sum(status == 200 for status, _ in shared.values()) > 100
    lead = [html for (name, _, _), (status, html) in shared.items() if name == world.vendor_lead.username]
    assert any("NST" in html for html in lead)  # Newfoundland's winter time: the lead's own zone


def test_filter_forms_share_fields_only_with_the_same_choices(world, requests):
    """Users offered different vendors, engineers or teams get different fields; the same choices, the same ones."""
    DeskFilterForm._prepared.clear()
    forms = {person.username: DeskFilterForm(QueryDict(), user=person) for person in _people(world)}
    pm, engineer, lead = (
        forms[world.pm.username],
        forms[world.vendor_engineer.username],
        forms[world.vendor_lead.username],
    )
    assert pm.fields["vendor"] is not engineer.fields["vendor"]
    assert list(pm.fields["vendor"].choices) != list(engineer.fields["vendor"].choices)
    assert engineer.fields["vendor"] is lead.fields["vendor"]  # one vendor's people: the same choices
    assert engineer.fields is not lead.fields
    hidden = DeskFilterForm(QueryDict(), user=world.vendor_engineer, hide=("vendor",))
    assert "vendor" not in hidden.fields and "vendor" in engineer.fields


@pytest.mark.parametrize("list_name", ["requests", "queue", "triage"])
@pytest.mark.parametrize("bulk", [True, False])
def test_the_bulk_bar_is_the_templates_html(world, list_name, bulk):
    from django.middleware.csrf import get_token

    from desk.services import BULK_ACTIONS

    request = RequestFactory().get("/queue/", {"sort": "-priority", "x": '"<&>'})
    request.user = world.pm
    get_token(request)  # as a page's form asks for it: the context then holds a token
    desk = SimpleNamespace(
        bulk_form=object() if bulk else None,
        bulk_actions=BULK_ACTIONS,
        list_name=list_name,
        vendors=[("optit", "OptIT"), ("odd", 'O"dd & <Co>')],
        engineers=[("engineer", "Eng Ineer"), ("x&y", "X <Y>")],
    )
    expected = get_template("desk/partials/bulk_bar.html").template.render(RequestContext(request, {"desk": desk}))
    written = Template("{% load desk %}{% desk_bulk_bar %}").render(RequestContext(request, {"desk": desk}))
    assert CSRF.sub(r"\1-", written) == CSRF.sub(r"\1-", expected)  # each render masks the token afresh
    assert ("csrfmiddlewaretoken" in written) is bulk
    assert ("Routing suggestion" in written) is (bulk and list_name == "triage")


@pytest.mark.parametrize("number", ["1", "2", "3", "40"])
@pytest.mark.parametrize("count", [0, 1, 26, 60, 1_001])
def test_the_pagination_is_the_templates_html(world, number, count):
    request = RequestFactory().get("/", {"sort": "-priority", "page": number, "x": '"<&>'})
    request.user = world.pm
    paginator = views.CappedPaginator(ServiceRequest.objects.none(), views.PAGE_SIZE)
    paginator.capped = count > paginator.COUNT_CAP
    paginator.__dict__["count"] = min(count, paginator.COUNT_CAP)
    page = paginator.get_page(number)
    for noun in (None, "", "notification"):
        context = {"page": page} if noun is None else {"page": page, "noun": noun}
        expected = get_template("requests_app/partials/pagination.html").template.render(
            RequestContext(request, context)
        )
        written = Template("{% load desk %}{% desk_pagination %}").render(RequestContext(request, context))
        assert written == expected, (number, count, noun)


SEARCHES = [
    "search=Risky",
    "search=namespace",
    "search=namespace&page=2",
    "search=Risky&page=3",
    "search=%22need+a+namespace%22",
    "search=risky+-1",
    "search=quota+or+risky",
    "search=nothingmatchesthis",
    "search=namespace&page=99",
]


def test_a_ranked_search_page_read_by_its_ids_is_the_page_the_orm_made(world, requests, monkeypatch):
    """A search listed best first reads its page by the window's ids (`views._ranked_page`, `desk.rows.rows_by_ids`):
    for every kind of user, on the request list and the queue, with snippets from public comments and internal notes,
    across pages of 3, the page is byte for byte the one read through the ORM (model instances, a COUNT)."""
    for index, service_request in enumerate(requests[:4]):
        services.request_comment(
            service_request, actor=world.pm, body=f"namespace quota note {index}", internal=index % 2 == 0
        )
    people = _people(world)
    monkeypatch.setattr(views, "PAGE_SIZE", 3)
    ranked_pages = []
    real = views._ranked_page

    def spy(*args, **kwargs):
        page = real(*args, **kwargs)
        ranked_pages.append(page is not None)
        return page

    def pages() -> dict:
        out = {}
        for person in people:
            browser = Client()
            browser.force_login(person)
            for path in ("/", "/queue/"):
                for query in SEARCHES:
                    response = browser.get(f"{path}?{query}")
                    out[person.username, path, query] = (
                        response.status_code,
                        CSRF.sub(r"\1-", response.content.decode()),
                    )
        return out

    with time_machine.travel(FROZEN, tick=False):
        monkeypatch.setattr(views, "_ranked_page", spy)
        by_ids = pages()
        monkeypatch.setattr(views, "_ranked_page", lambda *args, **kwargs: None)
        through_orm = pages()
    assert by_ids == through_orm
    assert sum(ranked_pages) > 50  # the pages above were read by their ids
    assert sum("<mark>" in html for _, html in by_ids.values()) > 20  # with snippets to compare
    assert any("quota" in html and "<mark>" in html for _, html in by_ids.values())  # a comment's words among them
