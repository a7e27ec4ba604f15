"""Benchmark: the delivery metrics endpoint's work (`delivery_metrics` + its serializer) over N requests.

Seeds a dedicated database exactly as bench/report_bench.py does (three years of requests with clocks and events,
COPY), then times the metrics for a 28-day and a 366-day window, for the organisation and for one vendor lead,
best of 5 after a warm-up run. It prints the timings; with --write it also replaces the "Delivery metrics"
section of bench/RESULTS.md.

    .venv/bin/python bench/metrics_bench.py                          # 1,000,000 requests
    .venv/bin/python bench/metrics_bench.py --requests 20000 --write
    .venv/bin/python bench/metrics_bench.py --database portico_bench --reuse   # one kept by report_bench --keep

Not a test: speed targets live here, not in the test suite.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import psycopg2
import report_bench as seed  # the weekly report's benchmark: same data, same database helpers
from _common import results_section_write


def seed_runs() -> int:
    """Jenkins runs for the DORA keys: of the resolved Release and Deployment Support requests, four in five get a
    successful run an hour before their resolution, every other one of those after a failed run; the fifth is a
    manual deployment. One INSERT … SELECT per kind of run."""
    from django.db import connection

    from provisioning.choices import RunStatus
    from requests_app.choices import RequestType

    columns = (
        "service_request_id, action, parameters, status, attempts, retries, created_at, started_at, finished_at, "
        "error_message, external_ids, links, dry_run, break_glass, lease_owner, resumes"
    )
    changes = [RequestType.RELEASE.value, RequestType.DEPLOYMENT_SUPPORT.value]
    inserted = 0
    with connection.cursor() as cursor:
        for status, hours, which in (
            (RunStatus.FAILED, 3, "id %% 10 IN (2, 4, 6, 8)"),
            (RunStatus.SUCCEEDED, 1, "id %% 5 <> 0"),
        ):
            cursor.execute(
                f"INSERT INTO provisioning_provisioningrun ({columns}) "  # noqa: S608 — constant SQL; values are parameters
                "SELECT id, 'jenkins_job', '{}', %s, 1, 0, resolved_at - make_interval(hours => %s + 1), "
                "resolved_at - make_interval(hours => %s + 1), resolved_at - make_interval(hours => %s), '', '{}', "
                "'{}', false, false, '', 0 FROM requests_app_servicerequest "
                f"WHERE request_type = ANY(%s) AND resolved_at IS NOT NULL AND {which}",
                [status.value, hours, hours, hours, changes],
            )
            inserted += cursor.rowcount
    print(f"Seeded {inserted:,} Jenkins runs on the deployments.", flush=True)
    return inserted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--database", default="portico_bench_metrics")
    parser.add_argument("--seed", type=int, default=47)
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards (default: drop it).")
    parser.add_argument("--reuse", action="store_true", help="Time a database kept by an earlier --keep run.")
    parser.add_argument("--write", action="store_true", help="Write the figures to bench/RESULTS.md.")
    args = parser.parse_args()

    if args.reuse:
        seed.setup_django(args.database)
        ref = seed.reference_data()
    else:
        print(f"Creating and migrating {args.database} …", flush=True)
        seed.recreate_database(args.database)
        seed.migrate(args.database)
        seed.setup_django(args.database)
        ref = seed.seed_reference_data()
        print(f"Seeding {args.requests:,} requests with COPY …", flush=True)
        seed.copy_all(args.database, args.requests, ref, args.seed)
        seed_runs()
    counts = seed.table_counts(args.database)

    from django.db import connection

    from reports.api.serializers import DeliveryMetricsSerializer
    from reports.metrics import delivery_metrics

    def endpoint(user, first: str, last: str) -> dict:
        metrics = delivery_metrics(user=user, date_from=first, date_to=last, now=seed.NOW)
        return DeliveryMetricsSerializer(metrics).data

    pm, lead = ref["pm"], ref["lead"]
    cases = {
        "organisation, 28 days": lambda: endpoint(pm, "2026-10-28", "2026-11-24"),
        "organisation, 366 days": lambda: endpoint(pm, "2025-11-24", "2026-11-24"),
        "one vendor (vendor lead), 366 days": lambda: endpoint(lead, "2025-11-24", "2026-11-24"),
    }
    results = {label: seed.best_of(case) for label, case in cases.items()}
    for label, (best, timings) in results.items():
        print(f"{label}: best {best * 1000:.0f} ms of {[round(t * 1000) for t in timings]}")

    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        version = cursor.fetchone()[0].split(" on ")[0]
    lines = [
        f"`bench/metrics_bench.py --requests {counts['requests']}` — `delivery_metrics` and its serializer (the "
        f"work of `/api/v1/reports/metrics/`), best of 5 after a warm-up run, on {os.cpu_count()} CPUs, {version}, "
        f"Python {platform.python_version()}; {counts['requests']:,} requests, {counts['clocks']:,} clocks, "
        f"{counts['events']:,} events.",
        "",
        "| metrics | best | all runs (ms) |",
        "| --- | ---: | --- |",
        *[
            f"| {label} | {best * 1000:.0f} ms | {', '.join(str(round(t * 1000)) for t in timings)} |"
            for label, (best, timings) in results.items()
        ],
        "",
    ]
    if args.write:
        results_section_write("Delivery metrics", "\n".join(lines))
    connection.close()
    if not args.keep:
        drop = psycopg2.connect(dbname="postgres", **seed.SERVER)
        drop.autocommit = True
        with drop.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        drop.close()


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"Done in {time.perf_counter() - started:.0f} s")
