"""Links between requests: the service's rules, both sides on the page, visibility (a partner never sees a link
to another vendor's request), the browser forms and the API, and the audit on both timelines."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from portal.exceptions import NotFound, ValidationFailed
from requests_app import services
from requests_app.choices import EventKind, RequestState
from requests_app.models import RequestEvent, RequestLink
from requests_app.testing.workflow import file_request, walk_to

from .api.helpers import error_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    def client_for(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return client_for


def links_url(service_request, link_id=None):
    suffix = f"{link_id}/" if link_id else ""
    return f"/api/v1/requests/{service_request.reference}/links/{suffix}"


def relations(service_request, user):
    return [(view.relation, view.other.reference) for view in services.links_of(service_request, user=user)]


def other_vendors_request(world):
    return services.request_triage(file_request(world, title="GWL work"), actor=world.pm, vendor=world.vendor_b)


def test_a_link_reads_both_ways_and_is_audited_on_both_timelines(world):
    parent, child = file_request(world, title="Parent"), file_request(world, title="Child")
    services.link_add(
        actor=world.requester, service_request=child, relation="child_of", other_reference=parent.reference
    )
    assert relations(parent, world.requester) == [("parent_of", child.reference)]
    assert relations(child, world.requester) == [("child_of", parent.reference)]
    messages = {
        event.service_request_id: event.message for event in RequestEvent.objects.filter(kind=EventKind.LINK_ADDED)
    }
    assert messages == {
        parent.pk: f"Linked: parent of {child.reference}.",
        child.pk: f"Linked: child of {parent.reference}.",
    }


@pytest.mark.parametrize(
    ("first", "second"),
    [("causes", "caused_by"), ("relates_to", "relates_to")],
)
def test_the_same_link_from_either_side_is_a_duplicate(world, first, second):
    one, two = file_request(world), file_request(world)
    services.link_add(actor=world.requester, service_request=one, relation=first, other_reference=two.reference)
    with pytest.raises(ValidationFailed) as caught:
        services.link_add(actor=world.requester, service_request=two, relation=second, other_reference=one.reference)
    assert "already linked" in caught.value.fields["other"][0]
    assert RequestLink.objects.count() == 1


def test_no_self_link_no_cycle_no_unseen_request(world):
    a, b, c = (file_request(world, title=t) for t in "ABC")
    with pytest.raises(ValidationFailed, match="itself"):
        services.link_add(actor=world.requester, service_request=a, relation="relates_to", other_reference=a.reference)
    services.link_add(actor=world.requester, service_request=a, relation="parent_of", other_reference=b.reference)
    services.link_add(actor=world.requester, service_request=b, relation="parent_of", other_reference=c.reference)
    with pytest.raises(ValidationFailed, match="loop"):
        services.link_add(actor=world.requester, service_request=c, relation="parent_of", other_reference=a.reference)
    with pytest.raises(ValidationFailed, match="loop"):
        services.link_add(actor=world.requester, service_request=a, relation="child_of", other_reference=c.reference)
    theirs = file_request(world, actor=world.other_requester)
    with pytest.raises(ValidationFailed) as caught:
        services.link_add(
            actor=world.requester, service_request=a, relation="relates_to", other_reference=theirs.reference
        )
    assert caught.value.fields["other"] == [f"No request “{theirs.reference}” that you can see."]
    assert RequestLink.objects.count() == 2


def test_a_partner_never_sees_a_link_to_another_vendors_request(world, client):
    ours = walk_to(world, RequestState.QUEUED, title="Ours")
    theirs = other_vendors_request(world)
    services.link_add(actor=world.pm, service_request=ours, relation="causes", other_reference=theirs.reference)
    assert relations(ours, world.pm) == [("causes", theirs.reference)]
    assert relations(ours, world.vendor_engineer) == []
    assert relations(theirs, world.other_vendor_engineer) == []
    client.force_login(world.vendor_engineer)
    page = client.get(reverse("request-detail", args=[ours.reference])).content.decode()
    assert theirs.reference not in page
    api_events = APIClient()
    api_events.force_authenticate(world.vendor_engineer)
    events = api_events.get(f"/api/v1/requests/{ours.reference}/events/").json()["results"]
    assert theirs.reference not in str(events)
    assert EventKind.LINK_ADDED not in {event["kind"] for event in events}
    # The PM, who sees both, sees the link event.
    assert RequestEvent.objects.visible_to(world.pm).filter(service_request=ours, kind=EventKind.LINK_ADDED).exists()
    with pytest.raises(NotFound):
        link = RequestLink.objects.get()
        services.link_remove(actor=world.vendor_engineer, service_request=ours, link_id=link.pk)


def test_remove_unlinks_and_audits_both(world):
    one, two = file_request(world), file_request(world)
    link = services.link_add(
        actor=world.requester, service_request=one, relation="relates_to", other_reference=two.reference
    )
    services.link_remove(actor=world.requester, service_request=two, link_id=link.pk)
    assert not RequestLink.objects.exists()
    removed = RequestEvent.objects.filter(kind=EventKind.LINK_REMOVED)
    assert set(removed.values_list("service_request", flat=True)) == {one.pk, two.pk}


def test_api_list_create_delete(world, api):
    one, two = file_request(world, title="One"), file_request(world, title="Two")
    client = api(world.requester)
    created = client.post(links_url(one), {"relation": "caused_by", "other": two.reference.lower()}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["relation"], body["label"], body["request"]) == (
        "caused_by",
        "Caused by",
        {"reference": two.reference, "title": "Two", "state": "submitted"},
    )
    listed = client.get(links_url(two)).json()
    assert [(row["relation"], row["request"]["reference"]) for row in listed] == [("causes", one.reference)]
    assert client.delete(links_url(two, body["id"])).status_code == 204
    assert client.get(links_url(one)).json() == []
    assert client.delete(links_url(two, body["id"])).status_code == 404


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"relation": "sibling_of", "other": "REQ-000001"}, "relation"),
        ({"relation": "relates_to", "other": "REQ-999999"}, "other"),
        ({"relation": "relates_to"}, "other"),
        ({"relation": "relates_to", "other": "x" * 40}, "other"),
    ],
)
def test_api_bad_input_is_a_400_with_the_field(world, api, payload, field):
    one = file_request(world)
    response = api(world.requester).post(links_url(one), payload, format="json")
    assert response.status_code == 400
    assert field in error_of(response)["fields"]


def test_api_links_of_an_unseen_request_are_404(world, api):
    theirs = file_request(world, actor=world.other_requester)
    assert api(world.requester).get(links_url(theirs)).status_code == 404
    assert (
        api(world.requester)
        .post(links_url(theirs), {"relation": "relates_to", "other": theirs.reference}, format="json")
        .status_code
        == 404
    )


def test_browser_add_and_remove_without_javascript(world, client):
    one, two = file_request(world, title="One"), file_request(world, title="Two")
    client.force_login(world.requester)
    add_url = reverse("request-link-add", args=[one.reference])
    bad = client.post(add_url, {"relation": "parent_of", "other": one.reference})
    assert bad.status_code == 200
    assert "A request cannot be linked to itself." in bad.content.decode()
    response = client.post(add_url, {"relation": "parent_of", "other": two.reference})
    assert response.status_code == 302
    page = client.get(reverse("request-detail", args=[two.reference])).content.decode()
    assert "Child of" in page and one.reference in page and "One" in page
    link = RequestLink.objects.get()
    removed = client.post(reverse("request-link-remove", args=[two.reference, link.pk]))
    assert removed.status_code == 302
    assert not RequestLink.objects.exists()
    assert client.post(reverse("request-link-remove", args=[two.reference, link.pk])).status_code == 404
