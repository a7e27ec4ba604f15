"""Every class of bad input gets a 4xx, never a 500, and under /api/ always the one JSON shape
{"error": {"code", "message", "fields"}}, whatever the method, the path or the authentication; every 503 carries
Retry-After.

Each class here answered a 500, HTML, YAML or a 503 without Retry-After before (issue 16)."""

from __future__ import annotations

import pytest
from django.test import Client

from integrations.models import Connection, System
from integrations.signatures import sign
from jira_bridge.models import JiraDelivery

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


@pytest.mark.parametrize("download", ["weekly.csv", "weekly.pdf"])
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
