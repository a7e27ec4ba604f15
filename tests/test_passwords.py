"""Local accounts' passwords: reset by an e-mailed link (locmem backend), change with the current password, limits,
and the links that lead there."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from portal.views_password import CHANGE_LIMIT
from requests_app.tests import factories as f

pytestmark = pytest.mark.django_db

RESET = reverse("password_reset")
CHANGE = reverse("password_change")
LOGIN = reverse("login")
OLD = "old-pass-5521"
NEW = "Fresh-pass-8834"
BASE = "https://portico.example.org"


@pytest.fixture
def asha(world):
    world.requester.email = "asha@example.org"
    world.requester.set_password(OLD)
    world.requester.save()
    return world.requester


def reset_link(message) -> str:
    match = re.search(rf"{re.escape(BASE)}(/accounts/password/reset/[^/\s]+/[^/\s]+/)", message.body)
    assert match, message.body
    return match[1]


def without_csrf(page: bytes) -> bytes:
    return re.sub(rb'"X-CSRFToken": "[^"]+"', b"", page)


def logs_in(client, username: str, password: str) -> bool:
    client.logout()
    return client.post(LOGIN, {"username": username, "password": password}).status_code == 302


# --- reset -------------------------------------------------------------------------------------------------
def test_a_reset_link_sets_a_new_password_and_works_only_once(client, asha, settings):
    settings.PORTAL_BASE_URL = BASE

    asked = client.post(RESET, {"email": "ASHA@example.org"}, HTTP_HOST="localhost")

    assert asked.status_code == 302 and asked["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["asha@example.org"] and message.subject == "Reset your Portico password"
    link = reset_link(message)  # on PORTAL_BASE_URL, not on the Host header the request carried
    form_page = client.get(link, follow=True)
    assert b"Choose a new password" in form_page.content
    saved = client.post(form_page.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW})
    assert saved.status_code == 302 and saved["Location"] == reverse("password_reset_complete")
    assert logs_in(client, "asha", NEW)
    assert not logs_in(client, "asha", OLD)
    client.logout()
    again = client.get(link, follow=True)
    assert b"This link does not work" in again.content
    assert b'name="new_password1"' not in again.content


def test_asking_for_an_unknown_address_answers_the_same_and_sends_nothing(client, asha):
    known = client.post(RESET, {"email": "asha@example.org"}, follow=True)
    unknown = client.post(RESET, {"email": "nobody@example.org"}, follow=True)

    assert known.redirect_chain == unknown.redirect_chain
    assert without_csrf(known.content) == without_csrf(unknown.content)
    assert [message.to for message in mail.outbox] == [["asha@example.org"]]


def test_an_sso_account_without_a_password_gets_no_reset_mail(client, world):
    sso_user = f.UserFactory(username="sso-only", email="sso-only@example.org")
    sso_user.set_unusable_password()
    sso_user.save()

    response = client.post(RESET, {"email": "sso-only@example.org"})

    assert response.status_code == 302
    assert mail.outbox == []


def test_resets_are_limited_per_address_whether_or_not_it_exists(client, asha, settings):
    settings.PORTICO_PASSWORD_RESET_PER_ADDRESS = 2
    for address in ("asha@example.org", "nobody@example.org"):
        answers = [client.post(RESET, {"email": address}).status_code for _ in range(3)]

        assert answers == [302, 302, 429]
    assert len(mail.outbox) == 2
    refused = client.post(RESET, {"email": "Asha@Example.org"})
    assert b"Too many password-reset requests" in refused.content


def test_resets_are_limited_per_client_address(client, asha, settings):
    settings.PORTICO_PASSWORD_RESET_PER_IP = 3

    answers = [client.post(RESET, {"email": f"someone{n}@example.org"}).status_code for n in range(4)]
    elsewhere = client.post(RESET, {"email": "asha@example.org"}, REMOTE_ADDR="203.0.113.9")

    assert answers == [302, 302, 302, 429]
    assert elsewhere.status_code == 302 and len(mail.outbox) == 1


# --- change ------------------------------------------------------------------------------------------------
def test_changing_the_password_needs_the_current_one(client, asha):
    client.force_login(asha)

    refused = client.post(CHANGE, {"old_password": "not-it", "new_password1": NEW, "new_password2": NEW})

    assert refused.status_code == 200
    assert b"Your old password was entered incorrectly" in refused.content
    asha.refresh_from_db()
    assert asha.check_password(OLD)


def test_changing_the_password_keeps_this_session_and_the_new_one_works(client, asha):
    client.force_login(asha)

    changed = client.post(CHANGE, {"old_password": OLD, "new_password1": NEW, "new_password2": NEW})

    assert changed.status_code == 302 and changed["Location"] == reverse("password_change_done")
    assert client.get(reverse("home")).status_code == 200
    assert logs_in(client, "asha", NEW)


def test_password_changes_are_limited_without_checking_the_password(client, asha):
    client.force_login(asha)
    for _ in range(CHANGE_LIMIT):
        client.post(CHANGE, {"old_password": "guess", "new_password1": NEW, "new_password2": NEW})

    refused = client.post(CHANGE, {"old_password": OLD, "new_password1": NEW, "new_password2": NEW})

    assert refused.status_code == 429
    assert b"Too many password changes" in refused.content
    assert b"entered incorrectly" not in refused.content
    asha.refresh_from_db()
    assert asha.check_password(OLD)


def test_an_sso_account_is_told_where_its_password_lives(client, world):
    sso_user = f.UserFactory(username="sso-only")
    sso_user.set_unusable_password()
    sso_user.save()
    client.force_login(sso_user)

    page = client.get(CHANGE)

    assert b"single sign-on" in page.content and b'name="old_password"' not in page.content
    assert f'href="{CHANGE}"'.encode() not in client.get(reverse("home")).content


# --- links -------------------------------------------------------------------------------------------------
def test_the_log_in_page_and_the_user_menu_link_to_the_password_pages(client, asha):
    assert f'href="{RESET}"'.encode() in client.get(LOGIN).content
    client.force_login(asha)
    assert f'href="{CHANGE}"'.encode() in client.get(reverse("account-tokens")).content
