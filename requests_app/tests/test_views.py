"""Browser pages through the Django test client: rendering per role, forms, workflow actions and visibility."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from portal.timefmt import format_iso
from requests_app import services
from requests_app.choices import Priority, RequestState, RequestType
from requests_app.models import RequestEvent, RoutingRule, ServiceRequest
from requests_app.templatetags.portico import clocks_for, time_left
from requests_app.testing.workflow import file_request, walk_to
from requests_app.tests import factories as f
from requests_app.views import CappedPaginator

pytestmark = pytest.mark.django_db

ROW = re.compile(r'<th scope="row"><a href="/requests/(REQ-\d+)/">')


def detail_url(service_request: ServiceRequest) -> str:
    return reverse("request-detail", args=[service_request.reference])


def transition_url(service_request: ServiceRequest, name: str) -> str:
    return reverse("request-transition", args=[service_request.reference, name])


def comment_url(service_request: ServiceRequest) -> str:
    return reverse("request-comment", args=[service_request.reference])


def rows(response) -> list[str]:
    return ROW.findall(response.content.decode())


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def as_user(client):
    def login(user):
        client.force_login(user)
        return client

    return login


def new_request_data(world, **overrides) -> dict:
    data = {
        "title": "Namespace for UAT",
        "description": "Four CPUs, please.",
        "request_type": RequestType.INFRA_PROVISION,
        "priority": Priority.P2,
        "environment": world.environment.pk,
        "stack": world.stack.pk,
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


# --- login, navigation, assets ---------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["/", "/requests/new/", "/requests/REQ-000001/", "/queue/", "/triage/", "/approvals/"])
def test_pages_redirect_anonymous_users_to_login(client, world, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_login_page_has_labelled_inputs_and_logs_in(client, world):
    page = client.get("/accounts/login/").content.decode()
    assert '<label for="id_username">' in page
    assert '<label for="id_password">' in page
    response = client.post("/accounts/login/", {"username": "asha", "password": "portico-pass-123"})
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_login_with_wrong_password_shows_error_summary(client, world):
    response = client.post("/accounts/login/", {"username": "asha", "password": "nope-nope-nope"})
    assert response.status_code == 200
    assert 'class="error-summary"' in response.content.decode()


def test_logout_is_a_post_button(as_user, world):
    client = as_user(world.requester)
    page = client.get("/").content.decode()
    assert re.search(r'<form method="post" action="/accounts/logout/">', page)
    client.post("/accounts/logout/")
    assert client.get("/").status_code == 302


@pytest.mark.parametrize(
    ("role", "visible", "hidden"),
    [
        ("requester", ["New request"], ["/queue/", "/triage/", "/approvals/"]),
        ("vendor_engineer", ["/queue/"], ["/triage/", "/approvals/", "New request"]),
        ("pm", ["/triage/"], ["/queue/", "/approvals/"]),
        ("approver", ["/approvals/"], ["/queue/", "/triage/"]),
    ],
)
def test_navigation_follows_the_role(as_user, world, role, visible, hidden):
    nav = as_user(getattr(world, role)).get("/").content.decode().split('aria-label="Main"')[1].split("</nav>")[0]
    for text in visible:
        assert text in nav
    for text in hidden:
        assert text not in nav


def test_pages_load_no_asset_from_external_hosts(as_user, world):
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    pages = {
        "requester": ["/", "/requests/new/", detail_url(service_request)],
        "vendor_engineer": ["/queue/", detail_url(service_request)],
        "pm": ["/triage/", detail_url(service_request)],
        "approver": ["/approvals/"],
    }
    for role, urls in pages.items():
        client = as_user(getattr(world, role))
        for url in urls:
            page = client.get(url).content.decode()
            assert not re.search(r'<(script|link|img)[^>]+(src|href)="(https?:)?//', page), (role, url)
            assert "/static/django_htmx/htmx-2.min.js" in page
            assert "/static/css/portico.css" in page
    assert "skip-link" in page
    assert 'aria-live="polite"' in page


# --- home ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("role", "heading"),
    [
        ("requester", "My team&#x27;s requests"),
        ("vendor_engineer", "My vendor&#x27;s requests"),
        ("vendor_lead", "My vendor&#x27;s requests"),
        ("pm", "All requests"),
        ("approver", "All requests"),
    ],
)
def test_home_renders_for_each_role(as_user, world, role, heading):
    response = as_user(getattr(world, role)).get("/")
    assert response.status_code == 200
    assert f"<h1>{heading}</h1>" in response.content.decode()


def test_home_lists_only_requests_the_viewer_can_see(as_user, world):
    mine = file_request(world, title="Ours")
    theirs = file_request(world, title="Theirs", actor=world.other_requester)
    assert rows(as_user(world.requester).get("/")) == [mine.reference]
    assert rows(as_user(world.other_requester).get("/")) == [theirs.reference]
    assert set(rows(as_user(world.pm).get("/"))) == {mine.reference, theirs.reference}
    assert rows(as_user(world.vendor_engineer).get("/")) == []


def test_home_shows_sla_badge_and_time_left(as_user, world):
    file_request(world, priority=Priority.P0)
    page = as_user(world.requester).get("/").content.decode()
    assert "sla--on_track" in page
    assert re.search(r"in 3 h 5\d min", page)


def test_home_empty_state_invites_filing(as_user, world):
    page = as_user(world.requester).get("/").content.decode()
    assert "No requests yet" in page
    assert f'href="{reverse("request-new")}">File a request</a>' in page


def test_home_search_matches_reference_and_title(as_user, world):
    namespace = file_request(world, title="Namespace for UAT")
    pipeline = file_request(world, title="Jenkins pipeline broken")
    client = as_user(world.requester)
    assert rows(client.get("/", {"search": "pipeline"})) == [pipeline.reference]
    assert rows(client.get("/", {"search": namespace.reference})) == [namespace.reference]
    assert rows(client.get("/", {"q": "pipeline"})) == [pipeline.reference]  # links from before the desk
    empty = client.get("/", {"search": "nothing like this"}).content.decode()
    assert "No requests match" in empty


def test_home_filters_by_state_priority_type_and_environment(as_user, world):
    queued = walk_to(world, RequestState.QUEUED, priority=Priority.P1)
    submitted = file_request(world, request_type=RequestType.TROUBLESHOOTING)
    other_env = f.EnvironmentFactory(code="bihar", name="Bihar")
    elsewhere = file_request(world, environment=other_env)
    client = as_user(world.requester)
    assert rows(client.get("/", {"state": "queued"})) == [queued.reference]
    assert rows(client.get("/", {"priority": "P1"})) == [queued.reference]
    assert rows(client.get("/", {"type": "Troubleshooting"})) == [submitted.reference]
    assert rows(client.get("/", {"environment": "bihar"})) == [elsewhere.reference]
    assert set(rows(client.get("/", {"environment": "punjab", "state": "submitted"}))) == {submitted.reference}


def test_home_paginates_25_per_page(as_user, world):
    for number in range(30):
        f.ServiceRequestFactory(
            title=f"Bulk {number}", team=world.team_a, requester=world.requester, environment=world.environment
        )
    client = as_user(world.requester)
    first = client.get("/")
    second = client.get("/", {"page": 2})
    assert len(rows(first)) == 25
    assert len(rows(second)) == 5
    assert not set(rows(first)) & set(rows(second))
    assert "Page 1 of 2" in first.content.decode()
    assert 'href="?page=2"' in first.content.decode()


def test_home_counts_a_long_history_only_up_to_the_cap(as_user, world, monkeypatch):
    monkeypatch.setattr(CappedPaginator, "COUNT_CAP", 30)
    for number in range(40):
        f.ServiceRequestFactory(
            title=f"Bulk {number}", team=world.team_a, requester=world.requester, environment=world.environment
        )
    client = as_user(world.requester)
    first = client.get("/").content.decode()
    assert "Page 1 of 2" in first
    assert "(30+ requests)" in first
    last = client.get("/", {"page": 2})
    assert len(rows(last)) == 5  # pages stop at the cap
    assert "Only the first 30 are listed here" in last.content.decode()
    assert "Only the first" not in first
    monkeypatch.setattr(CappedPaginator, "COUNT_CAP", 50)
    assert "(40 requests)" in client.get("/").content.decode()


def test_home_pagination_keeps_the_filters(as_user, world):
    for _ in range(26):
        f.ServiceRequestFactory(team=world.team_a, requester=world.requester, environment=world.environment)
    page = as_user(world.requester).get("/", {"priority": "P2"}).content.decode()
    assert 'href="?priority=P2&amp;page=2"' in page


def test_home_with_fewer_queries_than_rows(as_user, world, django_assert_max_num_queries):
    for _ in range(25):
        f.ServiceRequestFactory(team=world.team_a, requester=world.requester, environment=world.environment)
    client = as_user(world.requester)
    with django_assert_max_num_queries(15):
        assert len(rows(client.get("/"))) == 25


# --- new request -----------------------------------------------------------------------------------------
def test_new_request_form_labels_every_input(as_user, world):
    page = as_user(world.requester).get("/requests/new/").content.decode()
    for name in ("title", "description", "request_type", "priority", "environment", "stack", "needed_by"):
        assert f'<label for="id_{name}">' in page, name
    assert 'for="id_affects_production"' in page
    assert 'name="team"' not in page  # one team: nothing to choose
    assert 'type="date"' in page
    assert "at least 21 days" in page
    assert "(required)" in page


def test_new_request_form_asks_for_the_team_when_the_user_has_several(as_user, world):
    world.team_b.members.add(world.requester)
    page = as_user(world.requester).get("/requests/new/").content.decode()
    assert '<label for="id_team">' in page
    assert "Sanitation" in page


def test_new_request_without_title_shows_errors_and_creates_nothing(as_user, world):
    response = as_user(world.requester).post("/requests/new/", new_request_data(world, title=""))
    page = response.content.decode()
    assert response.status_code == 200
    assert 'class="error-summary"' in page
    assert 'href="#id_title">Title: This field is required.' in page
    assert 'id="id_title_error"' in page
    assert re.search(r'<input[^>]+aria-describedby="id_title_helptext id_title_error"', page)
    assert 'aria-invalid="true"' in page
    assert not ServiceRequest.objects.exists()


def test_new_p4_request_without_needed_by_shows_the_services_message(as_user, world):
    response = as_user(world.requester).post("/requests/new/", new_request_data(world, priority=Priority.P4))
    assert response.status_code == 200
    assert response.context["form"].errors["needed_by"] == [
        "Required for P4: the date you need this by, at least 21 days ahead."
    ]
    assert not ServiceRequest.objects.exists()


def test_new_p4_request_needed_too_soon_is_refused(as_user, world):
    soon = (timezone.now() + timedelta(days=5)).date().isoformat()
    response = as_user(world.requester).post(
        "/requests/new/", new_request_data(world, priority=Priority.P4, needed_by=soon)
    )
    assert response.status_code == 200
    assert "21 days&#x27; notice" in response.content.decode()
    assert not ServiceRequest.objects.exists()


def test_new_request_with_unknown_choices_shows_field_errors(as_user, world):
    response = as_user(world.requester).post(
        "/requests/new/", new_request_data(world, priority="P9", request_type="Magic", environment=99999)
    )
    errors = response.context["form"].errors
    assert response.status_code == 200
    assert set(errors) == {"priority", "request_type", "environment"}
    assert not ServiceRequest.objects.exists()


def test_filing_redirects_to_the_request_page(as_user, world):
    client = as_user(world.requester)
    response = client.post("/requests/new/", new_request_data(world))
    service_request = ServiceRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail_url(service_request)
    assert service_request.team == world.team_a
    assert service_request.state == RequestState.SUBMITTED
    assert service_request.events.get().kind == "filed"
    page = client.get(response["Location"])
    assert f"{service_request.reference} is filed" in messages_of(page)[0]


def test_filing_for_a_chosen_team(as_user, world):
    world.team_b.members.add(world.requester)
    client = as_user(world.requester)
    missing = client.post("/requests/new/", new_request_data(world))
    assert "team" in missing.context["form"].errors
    client.post("/requests/new/", new_request_data(world, team=world.team_b.pk))
    assert ServiceRequest.objects.get().team == world.team_b


def test_vendor_filing_gets_a_page_message_not_a_500(as_user, world):
    response = as_user(world.vendor_engineer).post("/requests/new/", new_request_data(world))
    assert response.status_code == 403
    assert "cannot file" in messages_of(response)[0]
    assert not ServiceRequest.objects.exists()


def test_inline_validation_renders_one_field_with_its_error(as_user, world):
    client = as_user(world.requester)
    url = reverse("request-new-validate")
    title = client.post(f"{url}?field=title", new_request_data(world, title="")).content.decode()
    assert title.lstrip().startswith('<div class="field field--error"')
    assert "This field is required." in title
    assert "<html" not in title
    needed_by = client.post(f"{url}?field=needed_by", new_request_data(world, priority="P4")).content.decode()
    assert "Required for P4" in needed_by
    fine = client.post(f"{url}?field=needed_by", new_request_data(world)).content.decode()
    assert "field--error" not in fine
    assert client.post(f"{url}?field=nope", new_request_data(world)).status_code == 404


# --- request page ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["requester", "vendor_engineer", "vendor_lead", "pm", "approver"])
def test_request_page_renders_for_every_role_that_sees_it(as_user, world, role):
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    response = as_user(getattr(world, role)).get(detail_url(service_request))
    page = response.content.decode()
    assert response.status_code == 200
    assert service_request.reference in page
    assert 'data-testid="state">In progress<' in page
    assert "OptIT" in page
    assert "Punjab (Asia/Kolkata)" in page
    assert '<h2 id="timeline-heading">Timeline</h2>' in page


def test_request_page_offers_the_actions_allowed_for_the_viewer(as_user, world):
    service_request = file_request(world)
    pm_page = as_user(world.pm).get(detail_url(service_request)).content.decode()
    assert f'action="{transition_url(service_request, "triage")}"' in pm_page
    assert f'action="{transition_url(service_request, "reject")}"' in pm_page
    assert 'name="triage-vendor"' in pm_page
    requester_page = as_user(world.requester).get(detail_url(service_request)).content.decode()
    assert f'action="{transition_url(service_request, "cancel")}"' in requester_page
    assert "triage" not in re.findall(r'action="[^"]+/transitions/(\w+)/"', requester_page)


def test_triage_form_preselects_the_routing_suggestion(as_user, world):
    RoutingRule.objects.create(environment=world.environment, vendor=world.vendor_b)
    service_request = file_request(world)
    page = as_user(world.pm).get(detail_url(service_request)).content.decode()
    assert re.search(rf'<option value="{world.vendor_b.pk}" selected>GWL</option>', page)
    assert "Suggested by routing: GWL." in page


def test_request_page_shows_countdowns(as_user, world):
    service_request = file_request(world, priority=Priority.P0)
    page = as_user(world.requester).get(detail_url(service_request)).content.decode()
    assert re.search(r"in 3 h 5\d min", page)
    assert re.search(r"in 23 h 5\d min", page)
    assert f'data-countdown="{format_iso(service_request.response_due_at)}"' in page  # to the second, with offset


def test_triage_post_queues_the_request_and_redirects_with_a_message(as_user, world):
    service_request = file_request(world)
    client = as_user(world.pm)
    response = client.post(transition_url(service_request, "triage"), {"triage-vendor": world.vendor_a.pk})
    assert response.status_code == 302
    assert response["Location"] == detail_url(service_request)
    service_request.refresh_from_db()
    assert service_request.state == RequestState.QUEUED
    assert service_request.vendor == world.vendor_a
    assert "Triage: " in messages_of(client.get(response["Location"]))[0]


def test_triage_changing_priority_without_reason_shows_the_field_error(as_user, world):
    service_request = file_request(world)
    response = as_user(world.pm).post(
        transition_url(service_request, "triage"),
        {"triage-vendor": world.vendor_a.pk, "triage-priority": "P1", "triage-request_type": "InfraProvision"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "A reason is required when changing priority or type." in page
    assert '<details class="action__details" open>' in page
    service_request.refresh_from_db()
    assert service_request.state == RequestState.SUBMITTED


def test_resolve_without_note_shows_the_required_error(as_user, world):
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    response = as_user(world.vendor_engineer).post(transition_url(service_request, "resolve"), {"resolve-reason": ""})
    assert response.status_code == 200
    assert response.context["actions"][[a.name for a in response.context["actions"]].index("resolve")].errors
    service_request.refresh_from_db()
    assert service_request.state == RequestState.IN_PROGRESS


def test_invalid_transition_is_a_message_not_a_500(as_user, world):
    service_request = file_request(world)
    client = as_user(world.requester)
    response = client.post(transition_url(service_request, "confirm"), follow=True)
    assert response.status_code == 200
    assert "Cannot confirm resolved a request that is submitted." in messages_of(response)
    service_request.refresh_from_db()
    assert service_request.state == RequestState.SUBMITTED


def test_forbidden_transition_is_a_message_not_a_500(as_user, world):
    service_request = file_request(world)
    response = as_user(world.requester).post(
        transition_url(service_request, "triage"), {"triage-vendor": world.vendor_a.pk}, follow=True
    )
    assert response.status_code == 200
    assert "You may not triage this request." in messages_of(response)
    service_request.refresh_from_db()
    assert service_request.state == RequestState.SUBMITTED


def test_unknown_or_system_transitions_answer_404(as_user, world):
    service_request = walk_to(world, RequestState.RESOLVED)
    client = as_user(world.pm)
    assert client.post(transition_url(service_request, "explode")).status_code == 404
    assert client.post(transition_url(service_request, "auto_close")).status_code == 404
    assert client.get(transition_url(service_request, "confirm")).status_code == 405


def test_full_walk_through_the_pages(as_user, world):
    service_request = file_request(world)
    as_user(world.pm).post(transition_url(service_request, "triage"), {"triage-vendor": world.vendor_a.pk})
    as_user(world.vendor_engineer).post(transition_url(service_request, "pick_up"))
    as_user(world.vendor_engineer).post(transition_url(service_request, "resolve"), {"resolve-reason": "Done."})
    client = as_user(world.requester)
    client.post(transition_url(service_request, "confirm"))
    page = client.get(detail_url(service_request)).content.decode()
    assert 'data-testid="state">Closed<' in page
    assert list(service_request.events.values_list("kind", flat=True)) == [
        "filed",
        "triage",
        "pick_up",
        "resolve",
        "confirm",
    ]


def test_reassign_offers_vendor_only_to_the_program_manager(as_user, world):
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    lead_page = as_user(world.vendor_lead).get(detail_url(service_request)).content.decode()
    assert 'name="reassign-assignee"' in lead_page
    assert 'name="reassign-vendor"' not in lead_page
    pm_page = as_user(world.pm).get(detail_url(service_request)).content.decode()
    assert 'name="reassign-vendor"' in pm_page
    response = as_user(world.vendor_lead).post(
        transition_url(service_request, "reassign"), {"reassign-assignee": world.vendor_lead.pk}
    )
    assert response.status_code == 302
    service_request.refresh_from_db()
    assert service_request.assignee == world.vendor_lead


# --- comments and timeline -------------------------------------------------------------------------------
def test_comment_appears_in_the_timeline(as_user, world):
    service_request = file_request(world)
    client = as_user(world.requester)
    response = client.post(comment_url(service_request), {"body": "Any news?"})
    assert response.status_code == 302
    assert response["Location"].endswith("#timeline")
    assert "Any news?" in client.get(detail_url(service_request)).content.decode()


def test_empty_comment_shows_an_error(as_user, world):
    service_request = file_request(world)
    response = as_user(world.requester).post(comment_url(service_request), {"body": "  "})
    assert response.status_code == 200
    assert response.context["comment_form"].errors["body"]
    assert not service_request.events.filter(kind="comment").exists()


def test_htmx_comment_gets_the_timeline_back(as_user, world):
    service_request = file_request(world)
    response = as_user(world.requester).post(comment_url(service_request), {"body": "Via htmx"}, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<section id="timeline"')
    assert "Via htmx" in page
    assert "<html" not in page


def test_internal_notes_are_for_staff_and_the_vendor_only(as_user, world):
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    vendor_client = as_user(world.vendor_engineer)
    assert 'name="internal"' in vendor_client.get(detail_url(service_request)).content.decode()
    vendor_client.post(comment_url(service_request), {"body": "Quota is tight", "internal": "on"})
    vendor_page = vendor_client.get(detail_url(service_request)).content.decode()
    assert "Quota is tight" in vendor_page
    assert "badge--internal" in vendor_page
    requester_client = as_user(world.requester)
    requester_page = requester_client.get(detail_url(service_request)).content.decode()
    assert "Quota is tight" not in requester_page
    assert 'name="internal"' not in requester_page
    requester_client.post(comment_url(service_request), {"body": "Sneaky", "internal": "on"})
    assert RequestEvent.objects.get(message="Sneaky").internal is False


# --- visibility: outside the scope, a request does not exist ----------------------------------------------
@pytest.mark.parametrize("outsider", ["other_vendor_engineer", "other_vendor_lead", "other_requester"])
def test_outsiders_get_404_on_every_request_endpoint(as_user, world, outsider):
    service_request = walk_to(world, RequestState.QUEUED)
    client = as_user(getattr(world, outsider))
    assert client.get(detail_url(service_request)).status_code == 404
    assert client.post(transition_url(service_request, "pick_up")).status_code == 404
    assert client.post(transition_url(service_request, "cancel")).status_code == 404
    assert client.post(comment_url(service_request), {"body": "Hello"}).status_code == 404
    assert client.post(comment_url(service_request), {"body": "Hi"}, HTTP_HX_REQUEST="true").status_code == 404
    service_request.refresh_from_db()
    assert service_request.state == RequestState.QUEUED
    assert not service_request.events.filter(kind="comment").exists()


def test_unknown_reference_answers_404(as_user, world):
    assert as_user(world.pm).get("/requests/REQ-999999/").status_code == 404


# --- role pages ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("/queue/", {"vendor_engineer", "vendor_lead", "other_vendor_engineer"}),
        ("/triage/", {"pm"}),
        ("/approvals/", {"approver"}),
    ],
)
def test_role_pages_answer_403_to_other_roles(as_user, world, url, allowed):
    for role in ("requester", "vendor_engineer", "vendor_lead", "other_vendor_engineer", "pm", "approver"):
        status = as_user(getattr(world, role)).get(url).status_code
        assert status == (200 if role in allowed else 403), (url, role, status)


def test_queue_lists_the_vendors_open_work_most_urgent_first(as_user, world):
    later = walk_to(world, RequestState.QUEUED, priority=Priority.P3)
    sooner = walk_to(world, RequestState.QUEUED, priority=Priority.P0)
    working = walk_to(world, RequestState.IN_PROGRESS, priority=Priority.P2)
    walk_to(world, RequestState.CLOSED)
    other_vendor = file_request(world)
    as_user(world.pm).post(transition_url(other_vendor, "triage"), {"triage-vendor": world.vendor_b.pk})
    response = as_user(world.vendor_engineer).get("/queue/")
    # The clock that runs out next: the queued ones' response, the picked-up one's resolution.
    mine = ServiceRequest.objects.filter(pk__in=[later.pk, sooner.pk, working.pk])
    assert rows(response) == [r.reference for r in sorted(mine, key=lambda r: (r.next_due_at, r.pk))]
    assert rows(response)[0] == sooner.reference
    page = response.content.decode()
    assert page.count(">Pick up<") == 2


@pytest.mark.parametrize(
    ("role", "url", "vendor_column"),
    [
        ("vendor_engineer", "/queue/", False),
        ("vendor_lead", "/", False),
        ("pm", "/", True),
        ("requester", "/", True),
    ],
)
def test_the_vendor_column_is_shown_only_where_rows_can_differ_in_it(as_user, world, role, url, vendor_column):
    """A vendor's people see only their own vendor's requests: the column would say the same on every row."""
    walk_to(world, RequestState.QUEUED)
    page = as_user(getattr(world, role)).get(url).content.decode()
    headers = re.findall(r'class="sort-link" href="[^"]*">([^<]+)', page)
    assert "Reference" in headers
    assert ("Vendor" in headers) is vendor_column
    assert (">OptIT</td>" in page) is vendor_column


def test_pick_up_from_the_queue_returns_to_the_queue(as_user, world):
    service_request = walk_to(world, RequestState.QUEUED)
    client = as_user(world.vendor_engineer)
    response = client.post(transition_url(service_request, "pick_up"), {"next": "/queue/"})
    assert response["Location"] == "/queue/"
    service_request.refresh_from_db()
    assert service_request.state == RequestState.IN_PROGRESS
    assert service_request.assignee == world.vendor_engineer


def test_next_to_another_host_is_ignored(as_user, world):
    service_request = walk_to(world, RequestState.QUEUED)
    response = as_user(world.vendor_engineer).post(
        transition_url(service_request, "pick_up"), {"next": "https://evil.example/"}
    )
    assert response["Location"] == detail_url(service_request)


def test_triage_inbox_lists_submitted_most_urgent_first_with_suggestion(as_user, world):
    RoutingRule.objects.create(environment=world.environment, vendor=world.vendor_a)
    first = file_request(world, title="First")
    second = file_request(world, title="Second")
    walk_to(world, RequestState.QUEUED)
    response = as_user(world.pm).get("/triage/")
    page = response.content.decode()
    assert rows(response) == [first.reference, second.reference]
    # The vendor select is described by the row's suggestion cell (the form field's help text is not rendered).
    assert f'<td id="id_triage-vendor_{first.pk}_helptext">OptIT</td>' in page
    assert f'aria-describedby="id_triage-vendor_{first.pk}_helptext" id="id_triage-vendor_{first.pk}"' in page


def test_triage_from_the_inbox(as_user, world):
    service_request = file_request(world)
    response = as_user(world.pm).post(
        transition_url(service_request, "triage"),
        {
            "next": "/triage/",
            "triage-vendor": world.vendor_b.pk,
            "triage-priority": service_request.priority,
            "triage-request_type": service_request.request_type,
        },
    )
    assert response["Location"] == "/triage/"
    service_request.refresh_from_db()
    assert (service_request.state, service_request.vendor) == (RequestState.QUEUED, world.vendor_b)


def test_approvals_page_approves_and_denies(as_user, world):
    to_approve = walk_to(world, RequestState.PENDING_APPROVAL, title="Grant access A")
    to_deny = walk_to(world, RequestState.PENDING_APPROVAL, title="Grant access B")
    client = as_user(world.approver)
    assert rows(client.get("/approvals/")) == [to_approve.reference, to_deny.reference]
    client.post(transition_url(to_approve, "approve"), {"next": "/approvals/"})
    missing_reason = client.post(transition_url(to_deny, "deny"), {"next": "/approvals/", "deny-reason": ""})
    assert missing_reason.status_code == 200
    assert "This field is required." in missing_reason.content.decode()
    asked = client.post(transition_url(to_deny, "deny"), {"next": "/approvals/", "deny-reason": "Too broad"})
    assert "Deny approval for" in asked.content.decode()  # without JavaScript the server asks first
    client.post(
        transition_url(to_deny, "deny"), {"next": "/approvals/", "deny-reason": "Too broad", "confirmed": "yes"}
    )
    to_approve.refresh_from_db()
    to_deny.refresh_from_db()
    assert (to_approve.state, to_deny.state) == (RequestState.QUEUED, RequestState.REJECTED)
    assert rows(client.get("/approvals/")) == []


# --- template helpers ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (12_000, "in 3 h 20 min"),
        (7_200, "in 2 h"),
        (-7_200, "overdue by 2 h"),
        (3 * 86_400 + 3_600, "in 3 d 1 h"),
        (30, "in less than a minute"),
        (None, ""),
    ],
)
def test_time_left_wording(seconds, text):
    assert time_left(seconds) == text


def test_clock_status_from_the_sla_engine(world):
    created = timezone.now()
    with time_machine.travel(created, tick=False):
        service_request = file_request(world, priority=Priority.P0)
    response, resolution = clocks_for(service_request, now=created + timedelta(hours=1))
    assert (response.status, resolution.status) == ("on_track", "on_track")
    response, _ = clocks_for(service_request, now=created + timedelta(hours=3, minutes=30))
    assert response.status == "at_risk"
    response, _ = clocks_for(service_request, now=created + timedelta(hours=5))
    assert (response.status, response.remaining_seconds) == ("breached", -3600)
    with time_machine.travel(created + timedelta(hours=1), tick=False):
        service_request = services.request_triage(service_request, actor=world.pm, vendor=world.vendor_a)
        service_request = services.request_pick_up(service_request, actor=world.vendor_engineer)
    response, _ = clocks_for(service_request, now=created + timedelta(hours=5))
    assert (response.status, response.remaining_seconds) == ("met", 3 * 3600)  # met three hours early


def test_filing_form_takes_automation_parameters_for_the_chosen_type(client, world):
    client.force_login(world.requester)
    form = {
        "title": "Namespace for UAT",
        "description": "4 CPUs please",
        "request_type": "InfraProvision",
        "priority": "P2",
        "environment": world.environment.pk,
        "namespace_with_quota__namespace": "Bad Name!",
        "namespace_with_quota__cpu": "4",
        "namespace_with_quota__memory": "8Gi",
        "gitlab_project__name": "ignored because the type is not GitOps",
    }
    page = client.post("/requests/new/", form)
    assert page.status_code == 200  # shown again with the error on the namespace field
    assert not ServiceRequest.objects.exists()
    assert "namespace_with_quota__namespace" in page.context["form"].errors
    form["namespace_with_quota__namespace"] = "mgramseva-uat"
    response = client.post("/requests/new/", form)
    service_request = ServiceRequest.objects.get()
    assert response.status_code == 302
    assert service_request.parameters == {"namespace": "mgramseva-uat", "cpu": "4", "memory": "8Gi", "team_group": ""}
