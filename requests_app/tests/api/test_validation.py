"""Bad input answers 400 with field messages; no input, however malformed, yields a 500."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from requests_app.choices import RequestState
from requests_app.models import ServiceRequest
from requests_app.testing.workflow import file_request, walk_to

from .helpers import LIST_URL, detail_url, error_of, transition_url

pytestmark = pytest.mark.django_db

TOO_LONG = "x" * 20_001


def _filing(world, **overrides) -> dict:
    body = {
        "title": "Namespace for UAT",
        "description": "4 CPUs please.",
        "request_type": "InfraProvision",
        "priority": "P2",
        "environment": world.environment.code,
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not ...}


def _post_filing(api, world, **overrides):
    return api(world.requester).post(LIST_URL, _filing(world, **overrides), format="json")


def _fields(response) -> dict[str, list[str]]:
    assert response.status_code == 400, response.content
    error = error_of(response)
    assert error["code"] == "invalid"
    return error["fields"]


def test_missing_fields_each_get_a_message(world, api):
    fields = _fields(api(world.requester).post(LIST_URL, {}, format="json"))
    assert set(fields) == {"title", "description", "request_type", "priority", "environment"}
    assert all(messages and all(isinstance(m, str) and m for m in messages) for messages in fields.values())
    assert not ServiceRequest.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", ["a", "list"]),
        ("title", {"an": "object"}),
        ("description", True),
        ("request_type", "Coffee"),
        ("request_type", 3),
        ("priority", "P9"),
        ("priority", ["P1"]),
        ("environment", 42),
        ("environment", ["punjab"]),
        ("stack", {"code": "ms"}),
        ("team", ["mgramseva"]),
        ("needed_by", "next tuesday"),
        ("needed_by", 20260101),
        ("needed_by", "2026-13-45"),
        ("affects_production", "maybe"),
        ("affects_production", [True]),
        ("affects_production", {"x": 1}),
    ],
)
def test_wrong_types_are_field_errors(world, api, field, value):
    fields = _fields(_post_filing(api, world, **{field: value}))
    assert list(fields) == [field]
    assert not ServiceRequest.objects.exists()


def test_p4_without_needed_by(world, api):
    fields = _fields(_post_filing(api, world, priority="P4"))
    assert "needed_by" in fields
    assert "P4" in fields["needed_by"][0]


def test_p4_with_too_little_notice(world, api):
    soon = (timezone.localdate() + timedelta(days=5)).isoformat()
    assert "needed_by" in _fields(_post_filing(api, world, priority="P4", needed_by=soon))


@pytest.mark.parametrize(("field", "value"), [("environment", "atlantis"), ("stack", "cobol"), ("team", "nobody")])
def test_unknown_codes(world, api, field, value):
    fields = _fields(_post_filing(api, world, **{field: value}))
    assert value in fields[field][0]


@pytest.mark.parametrize(("field", "length"), [("title", 201), ("description", 20_001)])
def test_oversized_text(world, api, field, length):
    fields = _fields(_post_filing(api, world, **{field: "x" * length}))
    assert list(fields) == [field]
    assert "characters" in fields[field][0]


def test_text_at_the_limits_is_accepted(world, api):
    response = _post_filing(api, world, title="t" * 200, description="d" * 20_000)
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("field", ["title", "description"])
def test_null_bytes_are_refused(world, api, field):
    assert field in _fields(_post_filing(api, world, **{field: "bad\x00byte"}))


def test_blank_text_is_refused(world, api):
    assert set(_fields(_post_filing(api, world, title="   ", description=""))) == {"title", "description"}


def test_unknown_fields_are_refused_not_ignored(world, api):
    fields = _fields(_post_filing(api, world, state="closed", vendor="optit", reference="REQ-1"))
    assert set(fields) == {"state", "vendor", "reference"}
    assert "transition" in fields["state"][0]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ('{"title": "unterminated', "application/json"),
        ("{'single': 'quotes'}", "application/json"),
        ('{"title": NaN}', "application/json"),
        ("", "application/json"),
        ("\xff\xfe not utf-8", "application/json"),
        ("[" * 100_000 + "]" * 100_000, "application/json"),
        ('{"title": "\\ud800 lone surrogate"}', "application/json"),
    ],
    ids=["unterminated", "single-quotes", "nan", "empty", "not-utf8", "deeply-nested", "lone-surrogate"],
)
def test_malformed_json_is_400(world, api, body, content_type):
    data = body.encode("latin-1") if body.startswith("\xff") else body.encode("utf-8")
    response = api(world.requester).generic("POST", LIST_URL, data, content_type=content_type)
    assert response.status_code == 400, response.content
    assert error_of(response)["code"] == "invalid"
    assert not ServiceRequest.objects.exists()


@pytest.mark.parametrize("payload", [[1, 2], "a string", 42, None])
def test_json_that_is_not_an_object_is_400(world, api, payload):
    response = api(world.requester).generic("POST", LIST_URL, json.dumps(payload), content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["fields"]


def test_form_encoded_bodies_are_415(world, api):
    response = api(world.requester).post(LIST_URL, {"title": "x"}, format="multipart")
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "image/png"])
def test_a_comment_in_an_odd_content_type_is_a_documented_415_in_the_error_shape(world, api, content_type):
    reference = file_request(world).reference
    url = f"{LIST_URL}{reference}/comments/"

    response = api(world.requester).generic("POST", url, "body=Hello", content_type=content_type)

    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"
    schema = Client().get("/api/schema/", {"format": "json"}).json()
    documented = schema["paths"]["/api/v1/requests/{reference}/comments/"]["post"]["responses"]
    assert documented["415"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


# --- PATCH -----------------------------------------------------------------------------------------------
def test_patch_refuses_state(world, api):
    service_request = walk_to(world, RequestState.SUBMITTED)
    response = api(world.pm).patch(detail_url(service_request.reference), {"state": "closed"}, format="json")
    fields = _fields(response)
    assert list(fields) == ["state"]
    assert "transition" in fields["state"][0]
    service_request.refresh_from_db()
    assert service_request.state == RequestState.SUBMITTED
    assert service_request.events.count() == 1


def test_patch_refuses_state_even_next_to_valid_changes(world, api):
    service_request = walk_to(world, RequestState.SUBMITTED)
    body = {"title": "New title", "state": "queued"}
    assert "state" in _fields(api(world.requester).patch(detail_url(service_request.reference), body, format="json"))
    service_request.refresh_from_db()
    assert (service_request.title, service_request.state) == ("Namespace for mGramSeva UAT", RequestState.SUBMITTED)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "x" * 201),
        ("title", None),
        ("title", ""),
        ("description", TOO_LONG),
        ("stack", "cobol"),
        ("needed_by", "soon"),
        ("priority", "P7"),
        ("affects_production", "perhaps"),
        ("reason", TOO_LONG),
        ("reference", "REQ-000001"),
        ("vendor", "gwl"),
        ("assignee", "gwl-eng"),
    ],
)
def test_patch_field_errors(world, api, field, value):
    service_request = walk_to(world, RequestState.SUBMITTED)
    fields = _fields(api(world.pm).patch(detail_url(service_request.reference), {field: value}, format="json"))
    assert list(fields) == [field]


# --- transitions and comments ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": TOO_LONG}, "reason"),
        ({"reason": ["a"]}, "reason"),
        ({"reason": "ok\x00"}, "reason"),
        ({"vendor": ["optit"]}, "vendor"),
        ({"vendor": "optit", "priority": "P8"}, "priority"),
        ({"vendor": "optit", "request_type": None}, "request_type"),
        ({"vendor": "optit", "affects_production": "?"}, "affects_production"),
        ({"vendor": "optit", "assignee": "opti-eng"}, "assignee"),
    ],
)
def test_transition_field_errors(world, api, body, field):
    service_request = walk_to(world, RequestState.SUBMITTED)
    response = api(world.pm).post(transition_url(service_request.reference, "triage"), body, format="json")
    assert field in _fields(response)
    service_request.refresh_from_db()
    assert service_request.state == RequestState.SUBMITTED


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"body": "   "}, "body"),
        ({"body": TOO_LONG}, "body"),
        ({"body": ["x"]}, "body"),
        ({"body": "hi\x00"}, "body"),
        ({"body": "hi", "internal": "sometimes"}, "internal"),
        ({"body": "hi", "author": "pm"}, "author"),
    ],
)
def test_comment_field_errors(world, api, body, field):
    service_request = walk_to(world, RequestState.SUBMITTED)
    response = api(world.requester).post(f"{detail_url(service_request.reference)}comments/", body, format="json")
    assert field in _fields(response)
    assert service_request.events.count() == 1


# --- query strings --------------------------------------------------------------------------------------
def test_offsets_postgresql_refuses_are_converted_not_passed_on(world, api):
    # Found by schemathesis: ISO 8601 allows -17:59, PostgreSQL does not, and the error poisoned the transaction.
    walk_to(world, RequestState.SUBMITTED)
    response = api(world.pm).get(LIST_URL, {"created_after": "0759-03-04T22:03:36.61-17:59"})
    assert response.status_code == 200 and response.json()["count"] == 1
    assert api(world.pm).get(LIST_URL).status_code == 200


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"created_after": "notadate"}, "created_after"),
        ({"created_before": "2026-02-30"}, "created_before"),
        ({"created_after": "0001-01-01T00:00:00+05:00"}, "created_after"),  # before year 1 in UTC
        ({"state": "sleeping"}, "state"),
        ({"priority": "P9"}, "priority"),
        ({"type": "Coffee"}, "type"),
        ({"q": "nul\x00"}, "q"),
        ({"environment": "a\x00b"}, "environment"),
        ({"page": "abc"}, "page"),
        ({"page": "-1"}, "page"),
    ],
)
def test_bad_query_parameters_are_field_errors(world, api, params, field):
    walk_to(world, RequestState.SUBMITTED)
    assert field in _fields(api(world.pm).get(LIST_URL, params))
    assert api(world.pm).get(LIST_URL).status_code == 200


# --- the no-500 sweep -----------------------------------------------------------------------------------
NASTY = [
    None,
    True,
    0,
    -1,
    1.5,
    10**30,
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "☃" * 10,
    "x" * 300,
    TOO_LONG,
    [],
    ["a"],
    [[["deep"]]],
    {},
    {"a": "b"},
    "REQ-000001",
    "../../etc/passwd",
    "' OR 1=1 --",
    "9999-99-99",
    "1970-01-01",
]
WRITE_FIELDS = [
    "title",
    "description",
    "request_type",
    "priority",
    "environment",
    "stack",
    "team",
    "needed_by",
    "affects_production",
    "state",
    "reason",
    "vendor",
    "assignee",
    "body",
    "internal",
]


def test_no_body_value_yields_a_500(world, api):
    service_request = walk_to(world, RequestState.SUBMITTED)
    detail = detail_url(service_request.reference)
    calls = [
        ("post", LIST_URL, _filing(world)),
        ("patch", detail, {}),
        ("post", transition_url(service_request.reference, "triage"), {"vendor": "optit"}),
        ("post", transition_url(service_request.reference, "reject"), {"reason": "x"}),
        ("post", f"{detail}comments/", {"body": "hi"}),
    ]
    client = api(world.pm)
    seen = set()
    for method, url, base in calls:
        for field in WRITE_FIELDS:
            for value in NASTY:
                # Each call is rolled back, so a value that happens to be valid does not move the request on.
                with transaction.atomic():
                    # json.dumps escapes lone surrogates ("\ud800"), which the client's own encoder cannot send.
                    body = json.dumps({**base, field: value})
                    response = client.generic(method.upper(), url, body, content_type="application/json")
                    transaction.set_rollback(True)
                seen.add(response.status_code)
                assert response.status_code < 500, (method, url, field, repr(value)[:40], response.content[:300])
                if response.status_code >= 400:
                    error_of(response)
    assert {200, 201, 400} <= seen


def test_no_query_string_yields_a_500(world, api):
    walk_to(world, RequestState.IN_PROGRESS)
    client = api(world.pm)
    params = ["state", "priority", "type", "environment", "stack", "vendor", "assignee", "created_after",
              "created_before", "q", "ordering", "page", "page_size", "format", "search"]  # fmt: skip
    values = ["", "\x00", "%00", "'", "abc", "-1", "0", "99999999999999999999", "1e400", "☃", "2026-01-01T25:00",
              "x" * 5000, "created_at,,-pk", "-", "__all__", "title__icontains"]  # fmt: skip
    for param in params:
        for value in values:
            response = client.get(LIST_URL, {param: value})
            assert response.status_code < 500, (param, value[:40], response.content[:300])
        response = client.get(LIST_URL, {param: ["a", "b", "queued"]})  # repeated where one value is expected
        assert response.status_code < 500


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/requests/REQ-%00/",
        "/api/v1/requests/%00/",
        "/api/v1/requests/REQ-99999999999999999999999/",
        "/api/v1/requests/../../",
        "/api/v1/requests/REQ-000001/transitions/%00/",
        "/api/v1/nothing-here/",
        "/api/v2/requests/",
        "/api/v1/requests",
    ],
)
def test_odd_paths_answer_json_404(world, api, path):
    response = api(world.pm).get(path)
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_missing_trailing_slash_says_so(world, api):
    response = api(world.pm).get("/api/v1/requests")
    assert "/api/v1/requests/" in error_of(response)["message"]


def test_a_malformed_token_is_401_not_500(world, api):
    client = api(None)
    for header in ("Token", "Token a b", "Token \x00", "Token abc\x00def", "Token ☃", "Bearer x"):
        response = client.get(LIST_URL, HTTP_AUTHORIZATION=header)
        assert response.status_code == 401, header
        error_of(response)
