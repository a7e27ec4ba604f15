"""Which Portico user an SSO log-in becomes: matched by (issuer, subject), never taken over by a username, and by
a provider-verified address only when PORTICO_SSO_LINK_BY_EMAIL allows it. The flow itself: tests/test_sso.py."""

from __future__ import annotations

import pytest
from django.urls import reverse

from portal.models import SsoIdentity, User
from portal.sso import sso_user_for_claims

pytestmark = pytest.mark.django_db

ISSUER = "https://id.example.org"


def claims(**extra: object) -> dict[str, object]:
    return {"iss": ISSUER, "sub": "abc-123", "preferred_username": "kiran", "email": "kiran@example.org"} | extra


def test_the_first_log_in_creates_a_user_without_a_password_and_the_next_finds_it_again():
    first = sso_user_for_claims(claims(given_name="Kiran", family_name="Rao"))
    again = sso_user_for_claims(claims(preferred_username="kiran-renamed", email="kiran.rao@example.org"))

    assert again.pk == first.pk and first.username == "kiran"
    assert not first.has_usable_password()
    assert User.objects.get(pk=first.pk).email == "kiran.rao@example.org"  # kept current from the provider
    assert SsoIdentity.objects.get().last_login_at is not None


def test_the_same_subject_at_another_issuer_is_another_person():
    first = sso_user_for_claims(claims())
    other = sso_user_for_claims(claims(iss="https://elsewhere.example.org"))

    assert other.pk != first.pk


def test_an_existing_username_or_address_is_not_taken_over_by_default():
    local = User.objects.create_user("kiran", email="kiran@example.org", password="local-pass-7781")

    user = sso_user_for_claims(claims(email_verified=True))

    assert user.pk != local.pk and user.username.startswith("kiran-")
    assert not local.sso_identities.exists()


def test_with_link_by_email_a_verified_address_links_the_one_existing_account(settings):
    settings.PORTICO_SSO_LINK_BY_EMAIL = True
    local = User.objects.create_user("kiran.local", email="Kiran@Example.org", password="local-pass-7781")

    unverified = sso_user_for_claims(claims(sub="someone-else", email_verified=False))
    verified = sso_user_for_claims(claims(email_verified=True))

    assert unverified.pk != local.pk
    assert verified.pk == local.pk
    assert local.sso_identities.get().subject == "abc-123"


def test_the_admin_shows_a_users_sso_identities(client):
    user = sso_user_for_claims(claims())
    client.force_login(User.objects.create_superuser("root", "root@example.org", "x" * 12))

    page = client.get(reverse("admin:portal_user_change", args=[user.pk]))

    assert page.status_code == 200
    assert b"abc-123" in page.content and ISSUER.encode() in page.content
