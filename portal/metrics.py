"""Prometheus metrics read from the database at scrape time, so every web and worker process agrees."""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, Max, Min, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class PorticoCollector:
    """Requests, SLA clocks, provisioning, outbox, Celery task outcomes and worker liveness."""

    def collect(self) -> Iterator[Metric]:
        from portal.models import MetricCounter, OutboxMessage, TaskStat, WorkerHeartbeat
        from requests_app.models import ServiceRequest
        from sla.models import RequestClock

        now = timezone.now()
        open_requests = GaugeMetricFamily(
            "portico_requests_open", "Open requests", labels=["state", "priority", "vendor"]
        )
        rows = ServiceRequest.objects.open().values("state", "priority", "vendor__slug").annotate(n=Count("pk"))
        for row in rows:
            open_requests.add_metric([row["state"], row["priority"], row["vendor__slug"] or "unassigned"], row["n"])
        yield open_requests

        running = RequestClock.objects.running()
        clocks = GaugeMetricFamily(
            "portico_sla_clocks", "Running clocks at risk or breached now", labels=["clock", "status"]
        )
        counts = running.values("clock").annotate(
            breached=Count("pk", filter=Q(due_at__lte=now)),
            at_risk=Count("pk", filter=Q(at_risk_at__lte=now, due_at__gt=now)),
        )
        for row in counts:
            clocks.add_metric([row["clock"], "breached"], row["breached"])
            clocks.add_metric([row["clock"], "at_risk"], row["at_risk"])
        yield clocks

        counters = dict(MetricCounter.objects.values_list("name", "value"))
        yield CounterMetricFamily(
            "portico_sla_breach_events",
            "Clocks flagged as breached by the scan",
            value=counters.get("sla_breach_events", 0),
        )

        yield from _provisioning()

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

        last = WorkerHeartbeat.objects.aggregate(last=Max("seen_at"))["last"]
        if last is not None:
            yield GaugeMetricFamily(
                "portico_worker_heartbeat_age_seconds",
                "Seconds since a worker last ran the heartbeat",
                value=(now - last).total_seconds(),
            )


def _provisioning() -> Iterator[Metric]:
    from provisioning.models import ProvisioningRun

    runs = CounterMetricFamily("portico_provisioning_runs", "Provisioning runs by outcome", labels=["action", "status"])
    for row in ProvisioningRun.objects.values("action", "status").annotate(n=Count("pk")):
        runs.add_metric([row["action"], row["status"]], row["n"])
    yield runs
    duration = SummaryMetricFamily(
        "portico_provisioning_run_duration_seconds", "From start to finish of finished runs", labels=["action"]
    )
    took = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    finished = ProvisioningRun.objects.filter(started_at__isnull=False, finished_at__isnull=False)
    for row in finished.values("action").annotate(n=Count("pk"), total=Sum(took)):
        duration.add_metric([row["action"]], count_value=row["n"], sum_value=row["total"].total_seconds())
    yield duration


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
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
