"""Prometheus metrics read from the database at scrape time, so every web and worker process agrees.

The kernel serves /metrics with its own figures (outbox, Celery task outcomes, worker liveness). Each app adds its
own with `metrics_register` in its `metrics` module, which the kernel imports at start-up as the admin does with
`admin.py`, so the kernel never names a domain app.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from django.conf import settings
from django.db.models import Count, Max, Min
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from portal.broker import DEFAULT_QUEUE, queue_depth
from portal.replica import on_replica

logger = logging.getLogger(__name__)
# Seconds a scrape waits for the broker's answer; Prometheus's own scrape timeout is 10 s by default.
BROKER_READ_TIMEOUT = 1.0

MetricsCollect = Callable[[datetime], Iterable[Metric]]

# name -> collect(now), in registration order (INSTALLED_APPS order, as the `metrics` modules are imported).
_collectors: dict[str, MetricsCollect] = {}


def metrics_register(name: str, collect: MetricsCollect) -> MetricsCollect:
    """Add `collect(now)`'s metrics to every scrape; a name is registered once (re-imports are harmless)."""
    _collectors.setdefault(name, collect)
    return collect


def metrics_autodiscover() -> None:
    """Import each installed app's `metrics` module, where it registers its figures (called once, at start-up)."""
    autodiscover_modules("metrics")


class PorticoCollector:
    """The apps' registered figures, then the kernel's own: outbox, Celery task outcomes and worker liveness."""

    def collect(self) -> Iterator[Metric]:
        from portal.models import OutboxMessage, TaskStat, WorkerHeartbeat

        now = timezone.now()
        for collect in _collectors.values():
            yield from collect(now)

        pending = OutboxMessage.objects.filter(dispatched_at__isnull=True).aggregate(
            n=Count("pk"), oldest=Min("created_at")
        )
        yield GaugeMetricFamily("portico_outbox_pending", "Tasks waiting for the broker", value=pending["n"])
        age = (now - pending["oldest"]).total_seconds() if pending["oldest"] else 0.0
        yield GaugeMetricFamily("portico_outbox_oldest_age_seconds", "Age of the oldest undelivered task", value=age)

        tasks = CounterMetricFamily("portico_celery_tasks", "Celery task outcomes", labels=["task", "outcome"])
        for task, outcome, count in TaskStat.objects.values_list("task", "outcome", "count"):
            tasks.add_metric([task, outcome], count)
        yield tasks

        yield from _broker_figures()

        last = WorkerHeartbeat.objects.aggregate(last=Max("seen_at"))["last"]
        if last is not None:
            yield GaugeMetricFamily(
                "portico_worker_heartbeat_age_seconds",
                "Seconds since a worker last ran the heartbeat",
                value=(now - last).total_seconds(),
            )


def _broker_figures() -> Iterator[Metric]:
    """The queue's depth, which the worker autoscaler follows (deploy/kubernetes/hpa.yaml), and whether the broker
    answered within BROKER_READ_TIMEOUT: a scrape must never hang on a broker that accepts and stays silent."""
    from portal.celery import app

    url = app.conf.broker_url
    try:
        depth = queue_depth(url, DEFAULT_QUEUE, timeout=BROKER_READ_TIMEOUT)
    except Exception as exc:  # every client's connection errors differ; any of them means "no answer"
        logger.warning("broker queue depth unavailable: %s", exc.__class__.__name__)
        yield GaugeMetricFamily("portico_broker_up", "1 if the broker answered the last scrape in time", value=0)
        return
    if depth is None:  # the embedded filesystem transport: nothing to scale on
        return
    yield GaugeMetricFamily("portico_broker_up", "1 if the broker answered the last scrape in time", value=1)
    messages = GaugeMetricFamily(
        "portico_broker_queue_messages", "Tasks waiting in the broker for a worker", labels=["queue"]
    )
    messages.add_metric([DEFAULT_QUEUE], depth)
    yield messages


def _allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    if token and given.startswith("Bearer ") and secrets.compare_digest(given.removeprefix("Bearer "), token):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net) for net in settings.METRICS_ALLOWED_NETWORKS)


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus text format; only for the bearer of METRICS_TOKEN or an allowed network (403 otherwise)."""
    if not _allowed(request):
        return HttpResponse("metrics are not public\n", status=403, content_type="text/plain")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PorticoCollector())
    return HttpResponse(on_replica(generate_latest)(registry), content_type=CONTENT_TYPE_LATEST)
