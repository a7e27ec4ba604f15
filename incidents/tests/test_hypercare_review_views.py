"""The hypercare and review pages and API: visibility (another vendor gets 404), writes through the services."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from incidents.hypercare import hypercare_open
from incidents.models import ActionItem, HypercareWindow, IncidentReview, ReviewStatus
from requests_app.choices import Priority, RequestState, RequestType
from requests_app.testing.workflow import file_request, walk_to

from .test_reviews import resolved_incident

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def page(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def review_url(reference: str, *rest: str) -> str:
    return f"/api/v1/requests/{reference}/review/" + "".join(f"{r}/" for r in rest)


def test_the_hypercare_api_lists_windows_with_issues_and_counts(world):
    release = walk_to(world, RequestState.RESOLVED, request_type=RequestType.RELEASE)
    response = api(world.requester).post("/api/v1/hypercare/", {"request": release.reference, "days": 3}, format="json")
    assert response.status_code == 201, response.json()
    issue = file_request(world, request_type=RequestType.PRODUCTION_ISSUE, priority=Priority.P3)
    (window,) = api(world.requester).get("/api/v1/hypercare/").json()
    assert window["request"] == release.reference
    assert [(i["reference"], i["priority"], i["filed_priority"]) for i in window["issues"]] == [
        (issue.reference, "P2", "P3")
    ]
    assert window["counts_by_priority"] == {"P0": 0, "P1": 0, "P2": 1, "P3": 0, "P4": 0}
    # The release's vendor sees the window, but not the issue until it is routed to them.
    (seen_by_vendor,) = api(world.vendor_lead).get("/api/v1/hypercare/").json()
    assert seen_by_vendor["issues"] == [] and seen_by_vendor["counts_by_priority"]["P2"] == 0
    assert api(world.other_vendor_lead).get("/api/v1/hypercare/").json() == []


def test_the_hypercare_api_refuses_bad_lengths_with_field_errors(world):
    release = walk_to(world, RequestState.RESOLVED, request_type=RequestType.RELEASE)
    response = api(world.pm).post("/api/v1/hypercare/", {"request": release.reference, "days": 61}, format="json")
    assert response.status_code == 400
    assert "days" in response.json()["error"]["fields"]
    assert not HypercareWindow.objects.exists()


def test_the_review_api_reads_writes_and_files_action_items(world):
    issue = resolved_incident(world)
    url = review_url(issue.reference)
    body = api(world.vendor_engineer).get(url).json()
    assert (body["status"], body["comment_count"], body["timeline"][-1]["kind"]) == ("draft", 2, "resolve")

    response = api(world.requester).put(url, {"root_cause": "Index bloat", "impact": "Checkout down"}, format="json")
    assert response.status_code == 200 and response.json()["root_cause"] == "Index bloat"

    item = {"title": "Alert on bloat", "due_on": "2026-12-31", "owner": world.requester.username}
    response = api(world.requester).post(review_url(issue.reference, "action-items"), item, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["owner"] == world.requester.username and response.json()["due_on"] == "2026-12-31"
    assert response.json()["state"] == RequestState.SUBMITTED
    assert api(world.pm).get(url).json()["action_items"][0]["reference"] == response.json()["reference"]

    assert api(world.vendor_engineer).post(review_url(issue.reference, "publish")).status_code == 403
    response = api(world.vendor_lead).post(review_url(issue.reference, "publish"))
    assert response.status_code == 200 and response.json()["status"] == "published"
    assert api(world.pm).put(url, {"impact": "x"}, format="json").status_code == 409


def test_another_vendor_and_other_teams_get_404_from_the_review(world):
    issue = resolved_incident(world)
    for user in (world.other_vendor_engineer, world.other_vendor_lead, world.other_requester):
        assert api(user).get(review_url(issue.reference)).status_code == 404
        assert api(user).put(review_url(issue.reference), {"impact": "x"}, format="json").status_code == 404
        assert api(user).post(review_url(issue.reference, "publish")).status_code == 404
        assert page(user).get(reverse("request-review", args=[issue.reference])).status_code == 404
    assert IncidentReview.objects.get().status == ReviewStatus.DRAFT


def test_an_action_item_with_an_unknown_owner_is_a_400(world):
    issue = resolved_incident(world)
    item = {"title": "x", "due_on": "2026-12-31", "owner": "nobody-here"}
    response = api(world.pm).post(review_url(issue.reference, "action-items"), item, format="json")
    assert response.status_code == 400 and "owner" in response.json()["error"]["fields"]
    assert not ActionItem.objects.exists()


def test_the_request_page_opens_hypercare_and_links_to_the_review(world):
    release = walk_to(world, RequestState.RESOLVED, request_type=RequestType.RELEASE)
    detail = reverse("request-detail", args=[release.reference])
    assert b"Open hypercare" in page(world.requester).get(detail).content
    assert b"Open hypercare" not in page(world.vendor_engineer).get(detail).content
    response = page(world.requester).post(
        reverse("request-hypercare-open", args=[release.reference]), {"days": "10", "raise_priority": "on"}
    )
    assert response.status_code == 302
    assert HypercareWindow.objects.get().days == 10
    assert b'data-testid="hypercare-window"' in page(world.requester).get(detail).content

    issue = resolved_incident(world)
    content = page(world.vendor_lead).get(reverse("request-detail", args=[issue.reference])).content.decode()
    assert reverse("request-review", args=[issue.reference]) in content


def test_the_review_page_saves_findings_and_files_action_items(world):
    issue = resolved_incident(world)
    url = reverse("request-review", args=[issue.reference])
    client = page(world.requester)
    assert "Resolved by" in client.get(url).content.decode()
    assert client.post(url, {"root_cause": "Bloat", "impact": "", "went_well": "", "went_badly": ""}).status_code == 302
    assert IncidentReview.objects.get().root_cause == "Bloat"
    item = {"title": "Alert", "due_on": "2026-12-31", "owner": world.requester.pk}
    response = client.post(reverse("request-review-action-item", args=[issue.reference]), item)
    assert response.status_code == 302
    assert ActionItem.objects.get().due_on == date(2026, 12, 31)
    response = client.post(reverse("request-review-action-item", args=[issue.reference]), {"title": "No date"})
    assert response.status_code == 400 and ActionItem.objects.count() == 1


def test_the_hypercare_page_lists_windows_the_reader_sees(world):
    release = walk_to(world, RequestState.RESOLVED, request_type=RequestType.RELEASE)
    hypercare_open(release, actor=world.pm)
    file_request(world, request_type=RequestType.PRODUCTION_ISSUE, priority=Priority.P2)
    content = page(world.requester).get(reverse("hypercare-list")).content.decode()
    assert release.reference in content and "P1: 1" in content
    assert release.reference not in page(world.other_requester).get(reverse("hypercare-list")).content.decode()
