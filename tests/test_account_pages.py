"""The viewer's own pages: in-portal notifications (list, unread badge, mark all read) and personal API tokens."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from conversations.delivery import notify
from portal.models import ApiToken
from portal.tokens import api_token_create
from requests_app import services
from requests_app.choices import EventKind, RequestState
from requests_app.models import Notification
from requests_app.testing.workflow import file_request, walk_to

pytestmark = pytest.mark.django_db

NOTIFICATIONS = reverse("notification-list")
TOKENS = reverse("account-tokens")
BADGE = re.compile(r'<span class="nav-badge" aria-hidden="true">(\d+)</span>')


def notified(service_request, kind: str) -> list[Notification]:
    """The in-portal rows of the request's latest `kind` event (written with it), after the e-mail task ran."""
    event = service_request.events.filter(kind=kind).latest("created_at", "pk")
    notify(event)
    return list(Notification.objects.filter(event=event))


def subjects(response) -> list[str]:
    return re.findall(r'class="notification__subject" href="[^"]+">([^<]+)</a>', response.content.decode())


def revoke_url(token: ApiToken) -> str:
    return reverse("account-token-revoke", args=[token.pk])


# --- notifications -------------------------------------------------------------------------------------------
def test_the_list_shows_my_notifications_newest_first_with_links_and_unread_marked(client, world):
    first = walk_to(world, RequestState.IN_PROGRESS, title="First")
    second = walk_to(world, RequestState.IN_PROGRESS, title="Second")
    notified(first, EventKind.PICK_UP)
    notified(second, EventKind.PICK_UP)
    Notification.objects.filter(event__service_request=first).update(read_at=timezone.now())
    client.force_login(world.requester)

    response = client.get(NOTIFICATIONS)

    html = response.content.decode()
    assert response.status_code == 200
    # The requester hears of the triage and the pick-up of each, written as the events happen.
    assert subjects(response) == [
        f"{second.reference} picked up by {world.vendor_engineer}",
        f"{second.reference} triaged to {world.vendor_a}",
        f"{first.reference} picked up by {world.vendor_engineer}",
        f"{first.reference} triaged to {world.vendor_a}",
    ]
    assert html.count("notification--unread") == 2
    assert f'href="{reverse("request-detail", args=[second.reference])}"' in html
    assert BADGE.findall(html) == ["2"]
    assert "Mark all read" in html


def test_opening_the_list_marks_nothing_read_and_the_button_marks_all(client, world):
    notified(walk_to(world, RequestState.IN_PROGRESS), EventKind.PICK_UP)
    notified(walk_to(world, RequestState.IN_PROGRESS), EventKind.PICK_UP)
    client.force_login(world.requester)

    client.get(NOTIFICATIONS)
    assert Notification.objects.filter(user=world.requester, read_at__isnull=True).count() == 4  # triage, pick-up

    response = client.post(reverse("notification-mark-all-read"))

    assert response.status_code == 302 and response["Location"] == NOTIFICATIONS
    assert not Notification.objects.filter(user=world.requester, read_at__isnull=True).exists()
    page = client.get(NOTIFICATIONS).content.decode()
    assert "notification--unread" not in page and not BADGE.findall(page)
    assert "Marked 4 notifications read." in page


def test_marking_all_read_is_post_only_and_touches_only_my_notifications(client, world):
    service_request = walk_to(world, RequestState.QUEUED)
    notified(service_request, EventKind.TRIAGE)  # the requester and both vendor A people
    client.force_login(world.requester)

    assert client.get(reverse("notification-mark-all-read")).status_code == 405
    client.post(reverse("notification-mark-all-read"))

    assert Notification.objects.get(user=world.requester).read_at is not None
    assert Notification.objects.get(user=world.vendor_engineer).read_at is None


def test_a_notification_about_a_request_no_longer_visible_is_not_listed_nor_counted(client, world):
    service_request = walk_to(world, RequestState.QUEUED)
    notified(service_request, EventKind.TRIAGE)  # the requester and vendor A's people
    client.force_login(world.vendor_engineer)
    assert len(subjects(client.get(NOTIFICATIONS))) == 1

    # Moved to vendor B: the request leaves vendor A's scope (404 on its page), and so does the notification.
    services.request_reassign(service_request, actor=world.pm, vendor=world.vendor_b, reason="Capacity")
    response = client.get(NOTIFICATIONS)

    assert subjects(response) == []
    assert not BADGE.findall(response.content.decode())
    assert "No notifications" in response.content.decode()
    assert client.get(reverse("request-detail", args=[service_request.reference])).status_code == 404
    assert Notification.objects.filter(user=world.vendor_engineer, read_at__isnull=True).count() == 1  # kept


def test_the_empty_list_says_so(client, world):
    client.force_login(world.pm)

    response = client.get(NOTIFICATIONS)

    assert response.status_code == 200
    assert "No notifications" in response.content.decode()
    assert "Mark all read" not in response.content.decode()


def test_the_list_pages_by_25(client, world):
    for number in range(27):
        notified(file_request(world, title=f"Request {number}"), EventKind.FILED)  # the PM hears of each
    client.force_login(world.pm)

    first, second = client.get(NOTIFICATIONS), client.get(NOTIFICATIONS, {"page": 2})

    assert len(subjects(first)) == 25 and len(subjects(second)) == 2
    assert subjects(first)[0].endswith("Request 26") and subjects(second)[-1].endswith("Request 0")
    assert "Page 1 of 2" in first.content.decode() and "(27 notifications)" in first.content.decode()


def test_the_unread_badge_costs_one_count_query(client, world):
    notified(walk_to(world, RequestState.IN_PROGRESS), EventKind.PICK_UP)  # and the triage before it
    client.force_login(world.requester)

    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("home"))

    notification_queries = [q["sql"] for q in captured.captured_queries if "requests_app_notification" in q["sql"]]
    assert BADGE.findall(response.content.decode()) == ["2"]
    assert len(notification_queries) == 1 and notification_queries[0].startswith("SELECT COUNT(*)")


def test_the_pages_are_for_signed_in_users(client):
    assert client.get(NOTIFICATIONS)["Location"].startswith(reverse("login"))
    assert client.get(TOKENS)["Location"].startswith(reverse("login"))


# --- navigation ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("role", "sees_reports"),
    [
        ("requester", False),
        ("vendor_engineer", False),
        ("vendor_lead", True),
        ("pm", True),
        ("approver", True),
    ],
)
def test_the_nav_links_reports_only_for_those_who_may_see_them(client, world, role, sees_reports):
    client.force_login(getattr(world, role))

    html = client.get(reverse("home")).content.decode()

    assert (f'href="{reverse("reports-dashboard")}"' in html) is sees_reports
    assert f'href="{NOTIFICATIONS}"' in html and f'href="{TOKENS}"' in html


# --- API tokens ------------------------------------------------------------------------------------------
def test_the_tokens_page_lists_only_my_tokens_with_their_status(client, world):
    api_token_create(user=world.requester, name="CI pipeline")
    revoked, _ = api_token_create(user=world.requester, name="Old laptop")
    revoked.revoked_at = timezone.now()
    revoked.save()
    expired, _ = api_token_create(user=world.requester, name="Last year", expires_in_days=1)
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(days=1))
    api_token_create(user=world.other_requester, name="Someone else's")
    client.force_login(world.requester)

    html = client.get(TOKENS).content.decode()

    assert "CI pipeline" in html and "Old laptop" in html and "Last year" in html
    assert "Someone else" not in html
    assert ">Active<" in html and ">Revoked<" in html and ">Expired<" in html
    assert html.count("Revoke<span") == 1  # only the active token can be revoked
    assert 'value="90"' in html  # the default lifetime


def test_creating_a_token_shows_its_key_once(client, world):
    client.force_login(world.requester)

    response = client.post(TOKENS, {"name": "CI pipeline", "expires_in_days": "30", "scopes": ["read", "write"]})

    html = response.content.decode()
    key = re.search(r'<code id="token-key">(pt_[0-9a-f]+)</code>', html).group(1)
    token = ApiToken.objects.get(user=world.requester)
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    assert "only time" in html and token.name == "CI pipeline"
    assert timedelta(days=29, hours=23) < token.expires_at - timezone.now() <= timedelta(days=30)
    assert key not in client.get(TOKENS).content.decode()  # never again
    assert token.prefix in client.get(TOKENS).content.decode()
    client.logout()
    me = client.get(reverse("api:me"), HTTP_AUTHORIZATION=f"Bearer {key}")
    assert me.status_code == 200 and me.json()["username"] == "asha"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "CI", "expires_in_days": "0"}, "expires_in_days", "greater than or equal to 1"),
        ({"name": "CI", "expires_in_days": "366"}, "expires_in_days", "less than or equal to 365"),
        ({"name": "   ", "expires_in_days": "90"}, "name", "required"),
    ],
)
def test_invalid_input_is_a_form_error_and_creates_nothing(client, world, data, field, message):
    client.force_login(world.requester)

    response = client.post(TOKENS, data)

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert "error-summary" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_i_can_revoke_my_own_token(client, world):
    token, key = api_token_create(user=world.requester, name="CI")
    client.force_login(world.requester)

    response = client.post(revoke_url(token), {"confirmed": "yes"})

    token.refresh_from_db()
    assert response.status_code == 302 and response["Location"] == TOKENS
    assert token.revoked_at is not None
    client.logout()
    assert client.get(reverse("api:me"), HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401


@pytest.mark.parametrize("role", ["other_requester", "pm", "approver"])
def test_revoking_someone_elses_token_is_not_found(client, world, role):
    token, _ = api_token_create(user=world.requester, name="CI")
    client.force_login(getattr(world, role))

    response = client.post(revoke_url(token))

    token.refresh_from_db()
    assert response.status_code == 404
    assert token.revoked_at is None


def test_revoking_asks_first_and_asking_revokes_nothing(client, world):
    token, key = api_token_create(user=world.requester, name="CI pipeline", scopes=["read", "tokens"])
    api_token_create(user=world.requester, name="Nightly", parent=token, scopes=["read"])
    client.force_login(world.requester)

    # A GET (a link, a prefetch) and a POST without `confirmed` (no script to open the dialog) only ask.
    for asked in (client.get(revoke_url(token)), client.post(revoke_url(token))):
        page = re.sub(r"\s+", " ", asked.content.decode())
        assert asked.status_code == 200
        assert "Revoke “CI pipeline”?" in page and f"<code>{token.prefix}…</code>" in page
        assert "Scripts and pipelines using “CI pipeline” stop working at once" in page
        assert "so do the tokens created with it" in page
        assert 'name="confirmed" value="yes"' in page and "Go back, change nothing" in page
    assert not ApiToken.objects.filter(revoked_at__isnull=False).exists()
    client.logout()
    assert client.get(reverse("api:me"), HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200


def test_the_tokens_page_offers_the_dialog_with_the_same_words(client, world):
    api_token_create(user=world.requester, name="CI pipeline")
    client.force_login(world.requester)

    page = client.get(TOKENS).content.decode()

    assert 'data-confirm-title="Revoke “CI pipeline”?"' in page
    assert 'data-confirm="Scripts and pipelines using “CI pipeline” stop working at once' in page
    assert 'name="confirmed" value=""' in page


def test_a_revoked_token_says_so_instead_of_asking_again(client, world):
    token, _ = api_token_create(user=world.requester, name="CI pipeline")
    client.force_login(world.requester)
    client.post(revoke_url(token), {"confirmed": "yes"})

    page = client.get(revoke_url(token)).content.decode()

    assert "“CI pipeline” is revoked" in page and 'name="confirmed"' not in page
