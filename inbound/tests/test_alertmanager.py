"""Alertmanager in, end to end over HTTP: its webhook payloads (fixtures as Alertmanager sends them) become one
production issue per alert group, with notes for what follows and nothing for what was already received."""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from inbound.alertmanager import alertmanager_credential_issue
from inbound.alertmanager_models import AlertmanagerCredential, AlertNotification
from requests_app import services
from requests_app.choices import EventKind, Priority, RequestState, RequestType
from requests_app.models import RequestEvent, ServiceRequest
from requests_app.tests.factories import EnvironmentFactory

FIXTURES = Path(__file__).parent / "alertmanager"
URL = "/api/v1/webhooks/alertmanager/"
DETECTED = datetime(2026, 11, 30, 8, 12, 31, 482000, tzinfo=UTC)  # the earliest startsAt in firing.json

pytestmark = pytest.mark.django_db


def payload(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@pytest.fixture
def credential(world) -> tuple[AlertmanagerCredential, str]:
    return alertmanager_credential_issue(name="prometheus-punjab", environment=world.environment, team=world.team_a)


@pytest.fixture
def token(credential) -> str:
    return credential[1]


def post(body: dict[str, Any] | bytes, *, token: str | None = None, authorization: str | None = None) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {}
    if authorization is not None:
        headers["Authorization"] = authorization
    elif token is not None:
        headers["Authorization"] = f"Bearer {token}"
    # A fresh client with CSRF checks on, as Alertmanager has no session and no CSRF token.
    return Client(enforce_csrf_checks=True).post(URL, data=raw, content_type="application/json", headers=headers)


def comments(service_request: ServiceRequest) -> list[str]:
    return list(service_request.events.filter(kind=EventKind.COMMENT).values_list("message", flat=True))


# --- firing, repeated, resolved ------------------------------------------------------------------------------
def test_a_firing_then_resolved_group_is_one_production_issue_with_its_detection_time(world, token):
    firing = post(payload("firing"), token=token)

    assert firing.status_code == 200, firing.content
    assert firing.json()["status"] == "filed"
    service_request = ServiceRequest.objects.get()
    assert firing.json()["request"] == service_request.reference
    assert service_request.request_type == RequestType.PRODUCTION_ISSUE
    assert service_request.priority == Priority.P0  # severity=critical
    assert service_request.environment == world.environment and service_request.stack == world.stack
    assert service_request.team == world.team_a
    assert service_request.requester.username == "alertmanager"
    assert str(service_request.requester) == "Alertmanager"
    assert service_request.title == "KubePodCrashLooping: Pod is crash looping."
    assert service_request.detected_at == DETECTED
    assert service_request.state == RequestState.SUBMITTED  # in the program manager's triage inbox, as any request
    for text in (
        "pod=mgramseva-5d8f7c9b6-x2k9p",
        "pod=mgramseva-5d8f7c9b6-q7m4t",
        "source: http://prometheus.punjab.example",
        "runbook_url: https://runbooks.prometheus-operator.dev",
        "http://alertmanager.punjab.example:9093",
    ):
        assert text in service_request.description
    filed = service_request.events.get(kind=EventKind.FILED)
    assert filed.payload["channel"] == "alertmanager" and filed.payload["credential"] == "prometheus-punjab"

    resolved = post(payload("resolved"), token=token)

    assert resolved.json() == {"status": "noted", "request": service_request.reference}
    assert ServiceRequest.objects.count() == 1
    service_request.refresh_from_db()
    assert service_request.state == RequestState.SUBMITTED  # resolving on recovery is off by default
    [note] = comments(service_request)
    assert note.startswith("Alertmanager reports the alerts resolved at")
    assert "mgramseva-5d8f7c9b6-h3n8w" in note


def test_a_repeated_firing_notification_adds_a_note_to_the_same_request(token):
    first = post(payload("firing"), token=token).json()

    again = post(payload("firing_more"), token=token)

    assert again.json() == {"status": "noted", "request": first["request"]}
    service_request = ServiceRequest.objects.get()
    [note] = comments(service_request)
    assert note.startswith("Alertmanager: still firing, 3 alerts now.")
    assert "mgramseva-5d8f7c9b6-h3n8w" in note  # the pod that joined the group
    assert comments(service_request)[0].count("(firing)") == 3


def test_a_redelivered_payload_adds_nothing(token):
    first = post(payload("firing"), token=token).json()
    post(payload("resolved"), token=token)
    events = RequestEvent.objects.count()
    # The same payload, as another serialisation (key order, whitespace) would send it.
    reordered = json.dumps(payload("firing"), indent=4, sort_keys=True).encode()

    answers = [
        post(payload("firing"), token=token),
        post(reordered, token=token),
        post(payload("resolved"), token=token),
    ]

    assert [answer.json() for answer in answers] == [{"status": "duplicate", "request": first["request"]}] * 3
    assert ServiceRequest.objects.count() == 1
    assert RequestEvent.objects.count() == events
    assert AlertNotification.objects.count() == 2


def test_resolving_on_recovery_resolves_a_request_in_progress_through_the_workflow(world, credential):
    AlertmanagerCredential.objects.filter(pk=credential[0].pk).update(resolve_on_recovery=True)
    post(payload("firing"), token=credential[1])
    service_request = ServiceRequest.objects.get()
    services.request_triage(service_request, actor=world.pm, vendor=world.vendor_a)
    services.request_pick_up(ServiceRequest.objects.get(), actor=world.vendor_engineer)

    answer = post(payload("resolved"), token=credential[1])

    assert answer.json()["status"] == "resolved"
    service_request.refresh_from_db()
    assert service_request.state == RequestState.RESOLVED and service_request.resolved_at is not None
    assert service_request.resolution_note.startswith("Alertmanager reports the alerts resolved")
    event = service_request.events.get(kind="resolve")
    assert event.actor is None and event.to_state == RequestState.RESOLVED


def test_resolving_on_recovery_leaves_a_request_nobody_works_yet_and_says_so(credential):
    AlertmanagerCredential.objects.filter(pk=credential[0].pk).update(resolve_on_recovery=True)
    post(payload("firing"), token=credential[1])

    answer = post(payload("resolved"), token=credential[1])

    assert answer.json()["status"] == "noted"
    service_request = ServiceRequest.objects.get()
    assert service_request.state == RequestState.SUBMITTED
    assert "The request is submitted, so it was left as it is" in comments(service_request)[0]


def test_after_the_request_is_closed_the_group_firing_again_files_a_new_one(world, token):
    first = post(payload("firing"), token=token).json()
    services.request_reject(ServiceRequest.objects.get(), actor=world.pm, reason="Known, fixed upstream")

    again = post(payload("firing_more"), token=token).json()

    assert again["status"] == "filed" and again["request"] != first["request"]


def test_a_resolved_notification_for_no_open_request_files_nothing(token):
    answer = post(payload("resolved"), token=token)

    assert answer.json() == {"status": "ignored", "request": None}
    assert not ServiceRequest.objects.exists()


@pytest.mark.parametrize(
    ("labels", "priority"),
    [
        ({"severity": "critical"}, "P0"),
        ({"severity": "high"}, "P1"),
        ({"severity": "error"}, "P1"),
        ({"severity": "warning"}, "P2"),
        ({"severity": "info"}, "P3"),
        ({}, "P2"),
        ({"severity": "weird"}, "P2"),
        ({"severity": "warning", "priority": "P1"}, "P1"),
    ],
)
def test_the_priority_comes_from_the_severity_or_priority_label(token, labels, priority):
    body = payload("firing")
    body["commonLabels"] = {"alertname": "DiskFilling"}
    for alert in body["alerts"]:
        alert["labels"] = {"alertname": "DiskFilling", **labels}

    post(body, token=token)

    assert ServiceRequest.objects.get().priority == priority


def test_an_environment_label_picks_the_environment_and_an_unknown_one_falls_back(world, token):
    other = EnvironmentFactory(code="kerala", name="Kerala")
    body = payload("firing")
    body["commonLabels"]["environment"] = "kerala"
    post(body, token=token)
    body = payload("firing")
    body["groupKey"] += "-2"
    body["commonLabels"]["environment"] = "atlantis"
    for alert in body["alerts"]:
        alert["labels"]["environment"] = "atlantis"
    post(body, token=token)

    kerala, fallback = ServiceRequest.objects.order_by("pk")
    assert kerala.environment == other
    assert fallback.environment == world.environment
    assert 'Portico knows no environment "atlantis": filed for Punjab.' in fallback.description


def test_the_detection_time_is_on_the_request_page_and_in_the_api(client, world, token):
    reference = post(payload("firing"), token=token).json()["request"]
    client.force_login(world.pm)

    page = client.get(reverse("request-detail", args=[reference]))
    api = client.get(reverse("api:request-detail", args=[reference]))

    assert page.status_code == 200 and b'data-testid="detected-at"' in page.content
    assert api.json()["detected_at"] == "2026-11-30T13:42:31.482000+05:30"


# --- authentication ------------------------------------------------------------------------------------------
def _basic(name: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()


def test_basic_auth_with_the_credential_name_and_token_is_accepted(token):
    answer = post(payload("firing"), authorization=_basic("prometheus-punjab", token))

    assert answer.json()["status"] == "filed"


@pytest.mark.parametrize(
    "authorization",
    [
        "",
        "Bearer",
        "Bearer pam.nope.nope",
        "Bearer not-a-portico-token",
        "Token whatever",
        "Basic !!!not-base64",
        "WRONG_TOKEN",
        "BASIC_WRONG_NAME",
        "BASIC_WRONG_PASSWORD",
    ],
)
def test_a_missing_or_wrong_credential_is_401_json_and_nothing_is_written(token, authorization):
    key = token.split(".")[1]
    authorization = {
        "WRONG_TOKEN": f"Bearer pam.{key}.{'x' * 43}",
        "BASIC_WRONG_NAME": _basic("someone-else", token),
        "BASIC_WRONG_PASSWORD": _basic("prometheus-punjab", token + "x"),
    }.get(authorization, authorization)

    answer = post(payload("firing"), authorization=authorization)

    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthorised"
    assert not ServiceRequest.objects.exists() and not AlertNotification.objects.exists()


def test_an_inactive_or_rotated_credential_is_refused(world, credential):
    old = credential[1]
    _, new = alertmanager_credential_issue(name="prometheus-punjab", environment=world.environment, team=world.team_a)

    assert post(payload("firing"), token=old).status_code == 401
    AlertmanagerCredential.objects.update(active=False)
    assert post(payload("firing"), token=new).status_code == 401
    assert not ServiceRequest.objects.exists()


def test_the_management_command_prints_a_working_token(world):
    out = StringIO()
    call_command("alertmanager_credential", "prom", "--environment", "punjab", "--team", "mgramseva", stdout=out,
                 stderr=StringIO())  # fmt: skip

    assert post(payload("firing"), token=out.getvalue().strip()).json()["status"] == "filed"
    assert AlertmanagerCredential.objects.get(name="prom").token_hash not in out.getvalue()


# --- malformed bodies ----------------------------------------------------------------------------------------
def _changed(change: Any) -> bytes:
    body = payload("firing")
    change(body)
    return json.dumps(body).encode()


MALFORMED: dict[str, tuple[bytes, str]] = {
    "not JSON": (b"{not json", "body"),
    "not UTF-8": (b'{"version": "\xff\xfe"}', "body"),
    "an array": (b"[]", "body"),
    "empty object": (b"{}", "alerts"),
    "another version": (_changed(lambda b: b.update(version="3")), "version"),
    "no alerts": (_changed(lambda b: b.update(alerts=[])), "alerts"),
    "alerts not a list": (_changed(lambda b: b.update(alerts={"a": 1})), "alerts"),
    "unknown status": (_changed(lambda b: b.update(status="burning")), "status"),
    "alert without startsAt": (_changed(lambda b: b["alerts"][1].pop("startsAt")), "alerts.1.startsAt"),
    "startsAt not a time": (_changed(lambda b: b["alerts"][0].update(startsAt="yesterday")), "alerts.0.startsAt"),
    "startsAt off the calendar": (
        _changed(lambda b: b["alerts"][0].update(startsAt="9999-12-31T23:59:59-12:00")),
        "alerts.0.startsAt",
    ),
    "labels not strings": (_changed(lambda b: b["alerts"][0].update(labels={"a": {"b": 1}})), "alerts.0.labels.a"),
    "no groupKey": (_changed(lambda b: b.pop("groupKey")), "groupKey"),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_a_malformed_body_is_400_json_saying_what_is_wrong(token, case):
    body, field = MALFORMED[case]

    answer = post(body, token=token)

    assert answer.status_code == 400, answer.content
    assert field in answer.json()["error"]["fields"], answer.json()
    assert not ServiceRequest.objects.exists() and not AlertNotification.objects.exists()


def test_a_body_over_the_limit_is_413(settings, token):
    settings.PORTICO_ALERTMANAGER_MAX_BYTES = 1000
    body = payload("firing")

    answer = post(body, token=token)

    assert answer.status_code == 413 and answer.json()["error"]["code"] == "too_large"
    assert not ServiceRequest.objects.exists()


def test_only_post_is_accepted(token):
    assert Client().get(URL).status_code == 405


def test_the_same_group_with_alerts_left_out_is_not_a_duplicate_and_says_how_many(token):
    post(payload("firing"), token=token)
    body = copy.deepcopy(payload("firing"))
    body["truncatedAlerts"] = 2

    assert post(body, token=token).json()["status"] == "noted"
    assert "(and 2 more alerts Alertmanager left out)" in comments(ServiceRequest.objects.get())[0]
