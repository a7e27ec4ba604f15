"""API tokens have scopes (read, write, tokens) and a maximum lifetime per role. A token cannot mint tokens unless
it has the `tokens` scope, and then never one that outlives it, has a scope it lacks or survives its revocation;
creating one from a session needs the second factor the user owes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from portal import tokens
from portal.models import ApiToken
from portal.tokens import api_token_create, api_token_max_days
from requests_app.choices import Priority, RequestType
from requests_app.models import ServiceRequest
from requests_app.testing.workflow import file_request
from requests_app.tests import factories as f

pytestmark = pytest.mark.django_db
TOKENS_API = "/api/v1/me/tokens/"
TOKENS_PAGE = reverse("account-tokens")
ALL_SCOPES = ["read", "write", "tokens"]


def bearer(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def _error(response) -> dict:
    return response.json()["error"]


# --- minting tokens with tokens ------------------------------------------------------------------------------
def test_a_token_without_the_tokens_scope_cannot_create_tokens(world):
    token, key = api_token_create(user=world.requester, name="CI")  # read and write: what every token had

    response = bearer(key).post(TOKENS_API, {"name": "forever", "expires_in_days": 365}, format="json")

    assert response.status_code == 403
    assert _error(response)["code"] == "forbidden" and "tokens" in _error(response)["message"]
    assert list(ApiToken.objects.values_list("pk", flat=True)) == [token.pk]


def test_a_five_day_token_cannot_mint_one_that_outlives_it(world):
    parent, key = api_token_create(user=world.requester, name="bootstrap", expires_in_days=5, scopes=ALL_SCOPES)

    too_long = bearer(key).post(TOKENS_API, {"name": "a year", "expires_in_days": 365}, format="json")
    six_days = bearer(key).post(TOKENS_API, {"name": "six days", "expires_in_days": 6}, format="json")
    shorter = bearer(key).post(TOKENS_API, {"name": "three days", "expires_in_days": 3}, format="json")
    unspecified = bearer(key).post(TOKENS_API, {"name": "as long as allowed"}, format="json")

    assert too_long.status_code == six_days.status_code == 400
    assert "outlive" in _error(too_long)["message"]
    assert _error(too_long)["fields"] == {"expires_in_days": ["Choose at most 4 days."]}
    assert shorter.status_code == 201 and unspecified.status_code == 201, unspecified.json()
    children = ApiToken.objects.filter(parent=parent)
    assert children.count() == 2
    assert all(child.expires_at <= parent.expires_at for child in children)
    assert children.get(name="as long as allowed").expires_at == parent.expires_at


def test_a_token_grants_only_scopes_it_has(world):
    _, key = api_token_create(user=world.requester, name="reader", scopes=["read", "tokens"])

    wider = bearer(key).post(TOKENS_API, {"name": "writer", "scopes": ["read", "write"]}, format="json")
    same = bearer(key).post(TOKENS_API, {"name": "reader too", "scopes": ["read"]}, format="json")

    assert wider.status_code == 400 and "scopes" in _error(wider)["fields"]
    assert same.status_code == 201 and same.json()["scopes"] == ["read"]
    assert not ApiToken.objects.filter(name="writer").exists()


def test_revoking_a_token_revokes_every_token_created_through_it(world):
    parent, parent_key = api_token_create(user=world.requester, name="bootstrap", scopes=ALL_SCOPES)
    child = bearer(parent_key).post(TOKENS_API, {"name": "child", "scopes": ALL_SCOPES}, format="json").json()
    grandchild = bearer(child["key"]).post(TOKENS_API, {"name": "grandchild"}, format="json").json()
    _, unrelated_key = api_token_create(user=world.requester, name="unrelated")
    session = APIClient()
    session.force_login(world.requester)

    assert session.delete(f"{TOKENS_API}{parent.pk}/").status_code == 204

    for key in (parent_key, child["key"], grandchild["key"]):
        assert bearer(key).get("/api/v1/me/").status_code == 401
    assert bearer(unrelated_key).get("/api/v1/me/").status_code == 200


def test_a_token_needs_the_tokens_scope_to_revoke_tokens(world):
    victim, _ = api_token_create(user=world.requester, name="victim")
    _, key = api_token_create(user=world.requester, name="CI")

    response = bearer(key).delete(f"{TOKENS_API}{victim.pk}/")

    victim.refresh_from_db()
    assert response.status_code == 403 and victim.revoked_at is None


def test_a_revoked_or_expired_parent_cannot_be_used_by_the_service_either(world):
    parent, _ = api_token_create(user=world.requester, name="bootstrap", scopes=ALL_SCOPES)
    ApiToken.objects.filter(pk=parent.pk).update(revoked_at=timezone.now())

    with pytest.raises(tokens.Forbidden):
        api_token_create(user=world.requester, name="late", parent=parent)


# --- scopes on every other endpoint --------------------------------------------------------------------------
def test_read_only_tokens_read_but_get_403_on_every_write(world):
    service_request = file_request(world)
    _, key = api_token_create(user=world.requester, name="dashboard", scopes=["read"])
    client = bearer(key)
    reference = service_request.reference
    filing = {
        "title": "Namespace",
        "description": "4 CPUs.",
        "request_type": RequestType.INFRA_PROVISION,
        "priority": Priority.P2,
        "environment": world.environment.code,
        "stack": world.stack.code,
    }

    assert client.get("/api/v1/requests/").status_code == 200
    assert client.get(f"/api/v1/requests/{reference}/").status_code == 200
    writes = [
        client.post("/api/v1/requests/", filing, format="json"),
        client.patch(f"/api/v1/requests/{reference}/", {"title": "Renamed"}, format="json"),
        client.post(f"/api/v1/requests/{reference}/comments/", {"body": "hi"}, format="json"),
        client.post(f"/api/v1/requests/{reference}/transitions/cancel/", {"reason": "no"}, format="json"),
        client.post(TOKENS_API, {"name": "more"}, format="json"),
    ]

    assert [w.status_code for w in writes] == [403] * len(writes)
    assert all(_error(w)["code"] == "forbidden" for w in writes)
    assert "“write”" in _error(writes[0])["message"]
    service_request.refresh_from_db()
    assert service_request.title != "Renamed" and service_request.state == "submitted"
    assert ServiceRequest.objects.count() == 1 and service_request.events.count() == 1


def test_a_write_only_token_cannot_read_and_a_read_write_token_does_both(world):
    _, writer = api_token_create(user=world.requester, name="writer", scopes=["write"])
    _, both = api_token_create(user=world.requester, name="both")

    assert bearer(writer).get("/api/v1/me/").status_code == 403
    assert bearer(both).get("/api/v1/me/").status_code == 200
    response = bearer(both).post(
        f"/api/v1/requests/{file_request(world).reference}/comments/", {"body": "hi"}, format="json"
    )
    assert response.status_code == 201


# --- lifetime per role ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("role", "days"),
    [("requester", 365), ("vendor_engineer", 180), ("vendor_lead", 180), ("pm", 90), ("approver", 90)],
)
def test_each_role_has_its_maximum_lifetime(world, role, days):
    user = getattr(world, role)
    session = APIClient()
    session.force_login(user)

    assert api_token_max_days(user) == days
    over = session.post(TOKENS_API, {"name": "long", "expires_in_days": days + 1}, format="json")
    at_most = session.post(TOKENS_API, {"name": "longest", "expires_in_days": days}, format="json")

    assert over.status_code == 400 and "expires_in_days" in _error(over)["fields"]
    assert at_most.status_code == 201


def test_staff_and_superusers_get_the_admin_maximum(world):
    staff = f.UserFactory(username="site-admin", is_staff=True)
    root = f.UserFactory(username="root", is_staff=True, is_superuser=True)

    assert api_token_max_days(staff) == api_token_max_days(root) == 30


def test_the_maximum_comes_from_the_settings(world, settings):
    settings.PORTICO_API_TOKEN_MAX_DAYS = {**settings.PORTICO_API_TOKEN_MAX_DAYS, "requester": 7}

    assert api_token_max_days(world.requester) == 7
    with pytest.raises(tokens.ValidationFailed):
        api_token_create(user=world.requester, name="CI", expires_in_days=8)
    token, _ = api_token_create(user=world.requester, name="CI")  # the default shrinks to fit
    assert token.expires_at - timezone.now() <= timedelta(days=7)


def test_without_a_registered_role_the_strictest_maximum_applies(world, monkeypatch):
    monkeypatch.setattr(tokens, "_role_namers", [])

    assert api_token_max_days(world.requester) == 30


def test_the_page_offers_the_role_maximum_and_the_scopes(client, world):
    client.force_login(world.pm)

    html = client.get(TOKENS_PAGE).content.decode()
    response = client.post(TOKENS_PAGE, {"name": "dashboard", "expires_in_days": "90", "scopes": ["read"]})
    too_long = client.post(TOKENS_PAGE, {"name": "long", "expires_in_days": "91", "scopes": ["read"]})

    assert 'max="90"' in html and 'value="90"' in html
    assert 'name="scopes" value="tokens"' in html and "<legend>What it may do" in html
    assert response.status_code == 200 and "pt_" in response.content.decode()
    assert ApiToken.objects.get(name="dashboard").scope_list == ["read"]
    assert "less than or equal to 90" in " ".join(too_long.context["form"].errors["expires_in_days"])
    assert "read" in client.get(TOKENS_PAGE).content.decode()


# --- two-factor --------------------------------------------------------------------------------------------
def _device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def _code(device: TOTPDevice) -> str:
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift)
    return f"{value:0{device.digits}d}"


def test_a_session_that_owes_its_second_factor_cannot_create_tokens(world):
    device = _device(world.pm)
    client = Client()
    client.force_login(world.pm)

    api = client.post(TOKENS_API, {"name": "sneaky"}, content_type="application/json")
    page = client.post(TOKENS_PAGE, {"name": "sneaky", "expires_in_days": "30", "scopes": ["read"]})

    assert api.status_code == 403
    assert page.status_code == 302 and page["Location"].startswith(reverse("otp-verify"))
    assert not ApiToken.objects.exists()

    client.post(reverse("otp-verify"), {"token": _code(device)})
    assert client.post(TOKENS_API, {"name": "fine"}, content_type="application/json").status_code == 201


def test_staff_required_to_use_two_factor_cannot_create_tokens_before_setting_it_up(world, settings):
    settings.PORTICO_REQUIRE_OTP_FOR_STAFF = True
    admin = f.UserFactory(username="site-admin", is_staff=True)
    client = Client()
    client.force_login(admin)

    assert client.post(TOKENS_API, {"name": "x"}, content_type="application/json").status_code == 403
    assert client.post(TOKENS_PAGE, {"name": "x", "expires_in_days": "5", "scopes": ["read"]}).status_code == 302
    assert not ApiToken.objects.exists()


# --- existing tokens -------------------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_tokens_made_before_scopes_keep_read_and_write_but_not_tokens(world):
    executor = MigrationExecutor(connection)
    executor.migrate([("portal", "0005_api_tokens")])
    old_apps = executor.loader.project_state([("portal", "0005_api_tokens")]).apps
    old_apps.get_model("portal", "ApiToken").objects.create(
        user_id=world.requester.pk, name="old", prefix="pt_old", key_hash="0" * 64, expires_at=timezone.now()
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes("portal"))

    token = ApiToken.objects.get(name="old")
    assert token.scope_list == ["read", "write"] and not token.has_scope("tokens") and token.parent is None
