"""Metrics, request ids and structured logs."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import time_machine
from celery.signals import before_task_publish, task_prerun
from django.db import connection
from django.utils import timezone

from portal.models import MetricCounter, OutboxMessage, TaskStat
from portal.observability import HEADER, RequestIdFilter, request_id_var
from portal.tasks import worker_heartbeat
from requests_app.choices import Priority
from requests_app.testing.workflow import file_request
from sla.services import sla_scan

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent


def _metrics(client, **extra) -> tuple[int, str]:
    response = client.get("/metrics", **extra)
    return response.status_code, response.content.decode()


def _value(text: str, line_start: str) -> float:
    for line in text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no metric line starting {line_start!r} in:\n{text}")


def test_metrics_refuse_strangers_and_accept_the_token(client, settings):
    settings.METRICS_TOKEN = "s3cret-token"
    assert _metrics(client, REMOTE_ADDR="10.9.8.7")[0] == 403
    assert _metrics(client, REMOTE_ADDR="10.9.8.7", HTTP_AUTHORIZATION="Bearer wrong")[0] == 403
    assert _metrics(client, REMOTE_ADDR="10.9.8.7", HTTP_AUTHORIZATION="Bearer s3cret-token")[0] == 200
    assert _metrics(client, REMOTE_ADDR="127.0.0.1")[0] == 200  # the default allow-list: loopback


# Run under production settings in a process of its own: how Prometheus's scrape (deploy/kubernetes: the pod's IP and
# port, plain HTTP) and a browser on the public name are answered.
PRODUCTION_SCRAPE = """
import json, django
django.setup()
from django.test import Client
client = Client()
pod = {"HTTP_HOST": "10.42.0.7:8000"}
answers = {
    "token": client.get("/metrics", REMOTE_ADDR="192.0.2.10", HTTP_AUTHORIZATION="Bearer scrape-token", **pod),
    "allowed_network": client.get("/metrics", REMOTE_ADDR="10.42.3.9", **pod),
    "stranger": client.get("/metrics", REMOTE_ADDR="192.0.2.10", **pod),
    "page": client.get("/accounts/login/", HTTP_HOST="portico.example.org"),
}
print(json.dumps({name: [r.status_code, r["Location"] if r.has_header("Location") else "", r["Content-Type"]]
                  for name, r in answers.items()}))
"""


def _test_database_url() -> str:
    db = connection.settings_dict
    credentials = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def test_metrics_are_scrapeable_over_plain_http_by_pod_address_under_production_settings():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.production",
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
        "SECRET_KEY": "production-test-" + "k" * 40,
        "ALLOWED_HOSTS": "portico.example.org",
        "METRICS_TOKEN": "scrape-token",
        "METRICS_ALLOWED_NETWORKS": "10.42.0.0/16",
    }
    result = subprocess.run(
        [sys.executable, "-c", PRODUCTION_SCRAPE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    answers = json.loads(result.stdout.strip().splitlines()[-1])

    assert answers["token"][0] == 200, answers
    assert answers["token"][2].startswith("text/plain")
    assert answers["allowed_network"][0] == 200, answers
    assert answers["stranger"][0] == 403  # still protected: neither the token nor an allowed network
    assert answers["page"][:2] == [301, "https://portico.example.org/accounts/login/"]  # the rest still goes to https


def test_metrics_report_requests_sla_outbox_tasks_and_heartbeat(client, world):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        file_request(world, priority=Priority.P0)
    with time_machine.travel(start + timedelta(hours=5), tick=False):
        assert sla_scan()["breached"] == 1
        OutboxMessage.objects.create(task="requests_app.tasks.request_notify", kwargs={"event_id": 1})
        TaskStat.objects.create(task="sla.tasks.sla_scan", outcome="success", count=3)
        worker_heartbeat.run()
        status, text = _metrics(client)
    assert status == 200
    assert _value(text, 'portico_requests_open{priority="P0",state="submitted",vendor="unassigned"}') == 1
    assert _value(text, 'portico_sla_clocks{clock="sla",status="breached"}') == 1
    assert _value(text, "portico_sla_breach_events_total") == 1
    assert _value(text, "portico_outbox_pending") >= 1
    assert _value(text, 'portico_celery_tasks_total{outcome="success",task="sla.tasks.sla_scan"}') == 3
    assert _value(text, "portico_worker_heartbeat_age_seconds") == 0
    assert MetricCounter.objects.get(name="sla_breach_events").value == 1


def test_responses_carry_a_request_id_and_keep_a_sane_one_given(client):
    made = client.get("/healthz")["X-Request-ID"]
    assert len(made) == 32
    assert client.get("/accounts/login/", HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] == "abc-123"
    assert client.get("/accounts/login/", HTTP_X_REQUEST_ID="bad id\n<script>")["X-Request-ID"] != "bad id\n<script>"


def test_the_request_id_travels_into_a_task_and_back_out():
    token = request_id_var.set("req-42")
    try:
        headers: dict = {}
        before_task_publish.send(sender="requests_app.tasks.request_notify", headers=headers, body=None)
        assert headers[HEADER] == "req-42"
    finally:
        request_id_var.reset(token)

    class FakeRequest:
        id = "t1"
        portico_request_id = "req-42"

    class FakeTask:
        request = FakeRequest()

    task_prerun.send(sender=FakeTask, task=FakeTask(), task_id="t1")
    assert request_id_var.get() == "req-42"


def test_json_logs_carry_the_request_id(settings):
    from pythonjsonlogger.json import JsonFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s"))
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("portico.test")
    logger.addHandler(handler)
    token = request_id_var.set("req-7")
    try:
        logger.warning("filed %s", "REQ-000001")
    finally:
        request_id_var.reset(token)
        logger.removeHandler(handler)
    line = json.loads(stream.getvalue())
    assert (line["request_id"], line["message"], line["levelname"]) == ("req-7", "filed REQ-000001", "WARNING")
