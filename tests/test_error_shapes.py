"""Every class of bad input gets a 4xx, never a 500, and under /api/ always the one JSON shape
{"error": {"code", "message", "fields"}}, whatever the method, the path or the authentication; every 503 carries
Retry-After.

Each class here answered a 500, HTML, YAML or a 503 without Retry-After before (issue 16)."""

from __future__ import annotations

import pytest
from django.db import connections
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import include, path
from rest_framework.test import APIClient

from integrations.models import Connection, System
from integrations.signatures import sign
from jira_bridge.models import JiraDelivery
from portal.celery import app
from portal.constants import RETRY_AFTER_SECONDS

pytestmark = pytest.mark.django_db

API_LIST = "/api/v1/requests/"
WEBHOOK = "/api/v1/webhooks/jira/"
WEBHOOK_SECRET_ENV = "PORTICO_TEST_ERROR_SHAPES_WEBHOOK_SECRET"
WEBHOOK_SECRET = "whsec-error-shapes"


def assert_api_error(response, status: int, code: str | None = None) -> dict:
    """`response` is `status` in the API's one JSON error shape; returns its "error" object."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert {"code", "message", "fields"} <= set(error), error
    assert isinstance(error["message"], str) and error["message"], error
    assert isinstance(error["fields"], dict), error
    if code is not None:
        assert error["code"] == code, error
    return error


def assert_html(response, status: int) -> str:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("text/html"), response["Content-Type"]
    page = response.content.decode()
    for leak in ("Traceback", "Exception", "RequestDataTooBig"):
        assert leak not in page, leak
    return page


def _call(client: Client, method: str, url: str):
    """`method` on `url`, with an empty JSON body for the methods that carry one."""
    if method == "get":
        return client.get(url)
    return getattr(client, method)(url, "{}", content_type="application/json")


def _session(user, **options) -> Client:
    client = Client(raise_request_exception=False, **options)
    client.force_login(user)
    return client


# --- unmatched paths: 404 JSON for any method and any authentication --------------------------------------------
@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
@pytest.mark.parametrize("path_", ["/api/v1/nothing/", "/api/v2/requests/", "/api/v1/requests/REQ-1/nothing/"])
def test_an_unmatched_api_path_is_a_json_404_whatever_the_method_and_authentication(world, method, path_):
    anonymous = Client(enforce_csrf_checks=True)
    session = _session(world.requester, enforce_csrf_checks=True)  # a session's write without its CSRF token

    for client in (anonymous, session):
        error = assert_api_error(_call(client, method, path_), 404, "not_found")
        assert path_ in error["message"]


# --- unsupported methods: 405 JSON, with Allow ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path_", "allowed"),
    [
        ("get", WEBHOOK, "POST"),  # a plain Django view behind require_POST
        ("put", API_LIST, "GET"),
        ("delete", "/api/schema/", "GET"),  # a view whose renderer is YAML
        ("patch", "/api/v1/me/tokens/", "GET"),
    ],
)
def test_an_unsupported_method_is_a_json_405_naming_the_allowed_ones(world, method, path_, allowed):
    response = _call(_session(world.requester), method, path_)

    assert_api_error(response, 405, "method_not_allowed")
    assert allowed in response["Allow"]


# --- CSRF: a session's write without the token ------------------------------------------------------------------
@pytest.mark.parametrize("path_", ["/api/docs/", "/api/redoc/", "/api/v1/me/tokens/", API_LIST])
def test_a_session_post_without_its_csrf_token_is_a_json_403(world, path_):
    response = _session(world.requester, enforce_csrf_checks=True).post(path_, "{}", content_type="application/json")

    error = assert_api_error(response, 403)
    assert "CSRF" in error["message"]


def test_a_page_post_without_its_csrf_token_still_gets_djangos_page(world):
    response = _session(world.requester, enforce_csrf_checks=True).post("/requests/new/", {"title": "x"})

    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")


# --- bodies over DATA_UPLOAD_MAX_MEMORY_SIZE: 413 ---------------------------------------------------------------
def _too_big(settings) -> bytes:
    return b'{"title": "' + b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1) + b'"}'


@pytest.mark.parametrize("path_", [API_LIST, WEBHOOK, "/api/v1/nothing/"])
def test_an_api_body_over_the_limit_is_a_json_413(world, settings, path_):
    api = APIClient()
    api.force_authenticate(world.requester)

    response = api.post(path_, _too_big(settings), content_type="application/json")

    error = assert_api_error(response, 413, "too_large")
    assert str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) in error["message"]


def test_a_page_form_over_the_limit_is_a_friendly_413_page(world, settings):
    text = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)

    response = _session(world.requester).post("/requests/new/", {"title": "Big", "description": text})

    page = assert_html(response, 413)
    assert "too much" in page.lower()


# --- Retry-After on every 503 -----------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_the_apis_503_while_postgres_is_down_says_when_to_retry(world):
    api = APIClient()
    api.force_authenticate(world.requester)
    database = connections["default"]
    port = database.settings_dict["PORT"]
    database.close()
    database.settings_dict["PORT"] = "1"  # nothing listens there: every connect is refused
    try:
        response = api.get(API_LIST)
    finally:
        database.settings_dict["PORT"] = port

    assert_api_error(response, 503, "unavailable")
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)


def test_readyz_503_says_when_to_retry(client):
    original = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = client.get("/readyz")
    finally:
        app.conf.broker_url = original

    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)


# --- weeks outside the supported range: 400 on the page, the API, the CSV and the PDF -------------------------
OUT_OF_RANGE_WEEKS = ["9999-W52", "0001-W01"]


@pytest.mark.parametrize("week", OUT_OF_RANGE_WEEKS)
def test_a_week_outside_the_supported_range_is_a_json_400_from_the_api(world, week):
    response = _session(world.pm).get(f"/api/v1/reports/sla/?week={week}")

    error = assert_api_error(response, 400, "invalid")
    assert "0002-W01 to 9999-W51" in error["fields"]["week"][0]


@pytest.mark.parametrize("week", OUT_OF_RANGE_WEEKS)
def test_a_week_outside_the_supported_range_is_a_400_page(world, week):
    response = _session(world.pm).get(f"/reports/weekly/?week={week}")

    page = assert_html(response, 400)
    assert "0002-W01 to 9999-W51" in page


@pytest.mark.parametrize("download", ["weekly.csv", "weekly-breaches.csv", "weekly.pdf"])
@pytest.mark.parametrize("week", OUT_OF_RANGE_WEEKS)
def test_a_week_outside_the_supported_range_is_a_400_download(world, week, download):
    response = _session(world.pm).get(f"/reports/{download}?week={week}")

    assert response.status_code == 400, response.content[:500]
    assert "0002-W01 to 9999-W51" in response.content.decode()


def test_the_first_and_last_supported_weeks_have_reports(world):
    session = _session(world.pm)
    for week in ("0002-W01", "9999-W51"):
        response = session.get(f"/api/v1/reports/sla/?week={week}")
        assert response.status_code == 200, response.content[:500]
        assert response.json()["week"] == week


# --- deeply nested JSON to the signed webhook: 400, never a RecursionError ------------------------------------
@pytest.mark.parametrize("depth", [100_000, 500])
def test_deeply_nested_json_to_the_signed_webhook_is_a_json_400(world, monkeypatch, depth):
    monkeypatch.setenv(WEBHOOK_SECRET_ENV, WEBHOOK_SECRET)
    Connection.objects.create(
        environment=world.environment,
        system=System.JIRA,
        url="http://127.0.0.1:9",
        secret_env="PORTICO_TEST_ERROR_SHAPES_JIRA_TOKEN",
        webhook_secret_env=WEBHOOK_SECRET_ENV,
    )
    body = b'{"webhookEvent": "jira:issue_updated", "issue": ' + b"[" * depth + b"]" * depth + b"}"
    client = Client(raise_request_exception=False)

    response = client.post(
        WEBHOOK,
        data=body,
        content_type="application/json",
        headers={"X-Hub-Signature": sign(WEBHOOK_SECRET, body), "X-Atlassian-Webhook-Identifier": "deep-1"},
    )

    assert_api_error(response, 400)
    assert not JiraDelivery.objects.exists()


# --- NUL bytes in page URLs: 400 (the API answers them as field errors or 404s: requests_app/tests/api) ----------
@pytest.mark.parametrize("url", ["/requests/REQ%00X/", "/?q=%00", "/?state=a%00b", "/reports/weekly/?%00=1"])
def test_a_nul_byte_in_a_page_url_is_a_400_page(world, url):
    response = _session(world.pm).get(url)

    assert_html(response, 400)


# --- anything else Django answers itself under /api/ ------------------------------------------------------------
def _bug(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug")


def _busy(request: HttpRequest) -> HttpResponse:
    return HttpResponse("busy", status=503)


urlpatterns = [
    path("api/v1/test-bug/", _bug),
    path("api/v1/test-busy/", _busy),
    path("", include("portal.urls")),
]


@pytest.mark.urls(__name__)
def test_an_unexpected_error_under_the_api_is_a_json_500_and_any_503_says_when_to_retry(world):
    client = Client(raise_request_exception=False)

    assert_api_error(client.get("/api/v1/test-bug/"), 500, "server_error")
    busy = client.get("/api/v1/test-busy/")
    assert_api_error(busy, 503, "unavailable")
    assert busy["Retry-After"] == str(RETRY_AFTER_SECONDS)
