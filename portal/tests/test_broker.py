"""What the broker URL decides: RabbitMQ gets a durable quorum queue and publisher confirms, Redis a visibility
timeout, and with no variables at all the embedded default keeps its serverless filesystem broker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from portal.broker import broker_kind, celery_broker_settings

ROOT = Path(__file__).resolve().parents[2]


def _settings_with(**variables: str) -> dict[str, str]:
    """Celery's broker settings as portal.settings.base builds them in a fresh process with `variables` only."""
    script = (
        "from django.conf import settings as s; "
        "q = s.CELERY_TASK_QUEUES or (); "
        "print(s.CELERY_BROKER_URL); "
        "print([(x.name, x.durable, x.exchange.type, x.queue_arguments) for x in q]); "
        "print(sorted(s.CELERY_BROKER_TRANSPORT_OPTIONS)); print(s.CELERY_WORKER_PREFETCH_MULTIPLIER, "
        "s.CELERY_TASK_ACKS_LATE, s.CELERY_TASK_REJECT_ON_WORKER_LOST)"
    )
    keep = {name: value for name, value in os.environ.items() if name in ("PATH", "HOME", "LANG", "TMPDIR")}
    env = keep | {"DJANGO_SETTINGS_MODULE": "portal.settings.base"} | variables
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", f"import django; django.setup(); {script}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    url, queues, options, delivery = result.stdout.strip().splitlines()
    return {"url": url, "queues": queues, "options": options, "delivery": delivery}


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("amqp://guest:guest@rabbitmq:5672/portico", "amqp"),
        ("pyamqp://rabbitmq//", "amqp"),
        ("redis://redis:6379/0", "redis"),
        ("rediss://redis:6380/0", "redis"),
        ("filesystem://", "filesystem"),
    ],
)
def test_the_kind_of_broker_comes_from_the_url_scheme(url, kind):
    assert broker_kind(url) == kind


def test_rabbitmq_gets_one_durable_quorum_queue_on_a_topic_exchange_and_publisher_confirms(tmp_path):
    settings = celery_broker_settings("amqp://rabbitmq//", folder=tmp_path, visibility_timeout=60)

    (queue,) = settings["task_queues"]
    assert (queue.name, queue.durable, queue.queue_arguments) == ("celery", True, {"x-queue-type": "quorum"})
    assert queue.exchange.type == "topic"  # native delayed delivery (countdowns, retries) needs a topic exchange
    assert settings["broker_transport_options"] == {"confirm_publish": True}  # no visibility timeout at all
    assert settings["task_default_queue_type"] == settings["task_create_missing_queue_type"] == "quorum"
    assert settings["worker_detect_quorum_queues"] is True


def test_redis_keeps_its_visibility_timeout_and_the_classic_queue(tmp_path):
    settings = celery_broker_settings("redis://redis:6379/0", folder=tmp_path, visibility_timeout=7200)

    assert settings["broker_transport_options"] == {"visibility_timeout": 7200}
    assert settings["task_queues"] is None
    assert settings["task_default_queue_type"] == "classic"


def test_settings_build_the_rabbitmq_setup_from_celery_broker_url():
    built = _settings_with(CELERY_BROKER_URL="amqp://portico:secret@rabbitmq:5672/portico")

    assert built["url"] == "amqp://portico:secret@rabbitmq:5672/portico"
    assert built["queues"] == "[('celery', True, 'topic', {'x-queue-type': 'quorum'})]"
    assert built["options"] == "['confirm_publish']"
    assert built["delivery"] == "1 True True"  # one task at a time, acknowledged only once it has run


def test_the_embedded_default_keeps_a_serverless_filesystem_broker():
    built = _settings_with()

    assert built["url"] == "filesystem://"
    assert built["queues"] == "[]"
    assert "data_folder_in" in built["options"]
