"""Reference lists, /me/, token authentication, the OpenAPI schema and the self-hosted docs."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.staticfiles import finders
from django.utils import timezone
from rest_framework.test import APIClient

from portal.tokens import api_token_create, api_token_revoke
from requests_app.choices import OnboardingStatus
from requests_app.tests import factories as f

from .helpers import LIST_URL, error_of

pytestmark = pytest.mark.django_db


def _results(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_vendors_with_their_live_environments(world, api):
    bihar = f.EnvironmentFactory(code="bihar", name="Bihar")
    f.VendorOnboardingFactory(vendor=world.vendor_b, environment=bihar)
    training = f.EnvironmentFactory(code="ap", name="Andhra Pradesh")
    f.VendorOnboardingFactory(vendor=world.vendor_a, environment=training, status=OnboardingStatus.TRAINING)
    vendors = _results(api(world.requester).get("/api/v1/vendors/"))
    assert [(v["slug"], v["environments"]) for v in vendors] == [("gwl", ["bihar", "punjab"]), ("optit", ["punjab"])]


def test_vendor_list_query_count_is_fixed(world, api, django_assert_num_queries):
    for number in range(5):
        vendor = f.VendorFactory(slug=f"extra{number}")
        f.VendorOnboardingFactory(vendor=vendor, environment=world.environment)
    client = api(world.pm)
    with django_assert_num_queries(3):  # count, vendors, live onboardings with their environments
        assert len(_results(client.get("/api/v1/vendors/"))) == 7


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/api/v1/environments/", [{"code": "punjab", "name": "Punjab", "timezone": "Asia/Kolkata"}]),
        ("/api/v1/stacks/", [{"code": "ms", "name": "Microservices"}]),
        # In the model's order (by name; "S" sorts before "m").
        ("/api/v1/teams/", [{"slug": "sanitation", "name": "Sanitation"}, {"slug": "mgramseva", "name": "mGramSeva"}]),
    ],
)
def test_reference_lists(world, api, url, expected):
    rows = _results(api(world.vendor_engineer).get(url))
    assert [{key: row[key] for key in expected[0]} for row in rows] == expected


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("requester", {"username": "asha", "role": "requester", "teams": ["mgramseva"], "vendor": None}),
        ("vendor_lead", {"username": "opti-lead", "role": "vendor_lead", "teams": [], "vendor": "optit"}),
        ("other_vendor_engineer", {"username": "gwl-eng", "role": "vendor_engineer", "teams": [], "vendor": "gwl"}),
        ("pm", {"username": "pm", "role": "program_manager", "teams": [], "vendor": None}),
        ("approver", {"username": "egov", "role": "egov_devops", "teams": [], "vendor": None}),
    ],
)
def test_me(world, api, role, expected):
    user = world.users[role]
    body = api(user).get("/api/v1/me/").json()
    assert {key: body[key] for key in expected} == expected
    assert (body["name"], body["email"]) == (user.get_full_name(), user.email)


@pytest.mark.parametrize("url", ["/api/v1/me/", "/api/v1/vendors/", "/api/v1/teams/", LIST_URL])
def test_everything_needs_authentication(world, api, url):
    response = api(None).get(url)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert error_of(response)["code"] == "not_authenticated"


def test_token_authentication_with_expiry_and_revocation(world):
    token, key = api_token_create(user=world.requester, name="CI", expires_in_days=30)
    assert token.key_hash != key and key not in repr(token.__dict__)  # only the hash is stored
    client = APIClient()
    for keyword in ("Bearer", "Token"):
        client.credentials(HTTP_AUTHORIZATION=f"{keyword} {key}")
        assert client.get("/api/v1/me/").json()["username"] == "asha"
    client.credentials(HTTP_AUTHORIZATION="Bearer " + "0" * 40)
    assert client.get("/api/v1/me/").status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        assert client.get("/api/v1/me/").status_code == 401  # expired
    api_token_revoke(user=world.requester, token_id=token.pk)
    assert client.get("/api/v1/me/").status_code == 401  # revoked


def test_session_authentication(world):
    client = APIClient()
    client.force_login(world.pm)
    assert client.get("/api/v1/me/").json()["role"] == "program_manager"


def test_reference_lists_are_read_only(world, api):
    response = api(world.pm).post("/api/v1/vendors/", {"slug": "new", "name": "New"}, format="json")
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"


# --- OpenAPI ---------------------------------------------------------------------------------------------
def test_schema_is_valid_openapi_3(world, api):
    from drf_spectacular.validation import validate_schema

    response = api(None).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)  # raises on any violation of the OpenAPI 3 JSON schema
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    for path in (
        "/api/v1/requests/",
        "/api/v1/requests/{reference}/",
        "/api/v1/requests/{reference}/transitions/",
        "/api/v1/requests/{reference}/transitions/{name}/",
        "/api/v1/requests/{reference}/comments/",
        "/api/v1/requests/{reference}/events/",
        "/api/v1/vendors/",
        "/api/v1/environments/",
        "/api/v1/stacks/",
        "/api/v1/teams/",
        "/api/v1/me/",
    ):
        assert path in paths, path
    create = paths["/api/v1/requests/"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("ServiceRequestFileRequest")
    assert {"201", "400"} <= set(create["responses"])
    transition = paths["/api/v1/requests/{reference}/transitions/{name}/"]["post"]
    assert {"200", "400", "403", "404", "409"} <= set(transition["responses"])
    assert transition["responses"]["409"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
    list_params = {p["name"] for p in paths["/api/v1/requests/"]["get"]["parameters"]}
    assert {"state", "priority", "type", "environment", "stack", "vendor", "assignee", "created_after"} <= list_params
    assert {"created_before", "q", "ordering", "page", "page_size"} <= list_params
    sla = schema["components"]["schemas"]["SlaClock"]["properties"]
    assert set(sla) == {"due_at", "met_at", "status", "remaining_seconds"}


def test_docs_are_served_without_a_cdn(world, client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert any(asset.endswith("swagger-ui-bundle.js") for asset in assets), assets
    assert not re.search(r"https?://", html), "the docs page must not load anything from another host"
    # Swagger UI's init script comes from the docs view itself (no inline script under the CSP).
    script = "/api/docs/?script="
    assert script in assets
    for asset in assets:
        if asset == script:
            continue
        assert asset.startswith("/static/"), asset
        assert finders.find(asset.removeprefix("/static/")), asset
    init = client.get(script)
    assert init.status_code == 200 and init["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in init.content.decode()


def test_docs_assets_are_served_locally(world, client):
    html = client.get("/api/docs/").content.decode()
    bundle = next(a for a in re.findall(r"""src=["']([^"']+)["']""", html) if a.endswith("swagger-ui-bundle.js"))
    response = client.get(bundle)
    assert response.status_code == 200
    assert b"SwaggerUI" in b"".join(response.streaming_content if response.streaming else [response.content])


def test_token_api_creates_lists_and_revokes_my_tokens(world, api):
    client = api(world.requester)
    created = client.post("/api/v1/me/tokens/", {"name": "laptop", "expires_in_days": 7}, format="json")
    assert created.status_code == 201
    body = created.json()
    assert body["key"].startswith(body["prefix"]) and body["revoked_at"] is None
    listed = client.get("/api/v1/me/tokens/").json()
    assert [t["name"] for t in listed] == ["laptop"] and "key" not in listed[0]
    assert api(world.other_requester).delete(f"/api/v1/me/tokens/{body['id']}/").status_code == 404  # not theirs
    assert client.delete(f"/api/v1/me/tokens/{body['id']}/").status_code == 204
    assert client.get("/api/v1/me/tokens/").json()[0]["revoked_at"] is not None
    too_long = client.post("/api/v1/me/tokens/", {"name": "x", "expires_in_days": 999}, format="json")
    assert too_long.status_code == 400 and "expires_in_days" in error_of(too_long)["fields"]
