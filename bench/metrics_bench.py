"""Benchmark: the delivery metrics endpoint's work (`delivery_metrics` + its serializer) over N requests.

Seeds a dedicated database exactly as bench/report_bench.py does (three years of requests with clocks and events,
COPY), then times the metrics for a 28-day and a 366-day window, for the organisation and for one vendor lead,
best of 5 after a warm-up run. It prints the timings; with --write it also replaces the "Delivery metrics"
section of bench/RESULTS.md.

    .venv/bin/python bench/metrics_bench.py                          # 1,000,000 requests
    .venv/bin/python bench/metrics_bench.py --requests 20000 --write
    .venv/bin/python bench/metrics_bench.py --database portico_bench --reuse   # one kept by report_bench --keep
    .venv/bin/python bench/metrics_bench.py --database portico_bench_load --reuse --json after.json \
        --before before.json --write                                           # the shared seed_demo data set

On a database seeded by `seed_demo` (no bench-pm) it times the demo's program manager `pm` and OptIT's lead `lead`
over windows ending yesterday (real time); on report_bench's data, `bench-pm` and `optit-lead` at its fixed NOW.
`--json` keeps the figures, `--before` puts an earlier run's (e.g. the previous commit's) beside them.

Not a test: speed targets live here, not in the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import psycopg
import report_bench as seed  # the weekly report's benchmark: same data, same database helpers
from _common import REDIS_URL, django_env, machine, results_section_write


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
    parser.add_argument("--to", type=date.fromisoformat, help="The windows' last day (default: yesterday / NOW's).")
    parser.add_argument("--json", type=Path, help="Also write the figures to this JSON file.")
    parser.add_argument("--before", type=Path, help="An earlier run's --json, shown beside these figures.")
    args = parser.parse_args()

    backfill = None
    # A production-like process (DEBUG off: no query log in memory), whichever way the database was seeded.
    os.environ.update(django_env(args.database, REDIS_URL=os.environ.get("REDIS_URL", REDIS_URL)))
    if args.reuse:
        seed.setup_django(args.database)
        ref, now = users_and_now()
    else:
        print(f"Creating and migrating {args.database} …", flush=True)
        seed.recreate_database(args.database)
        seed.migrate(args.database)
        seed.setup_django(args.database)
        ref = seed.seed_reference_data()
        print(f"Seeding {args.requests:,} requests with COPY …", flush=True)
        seed.copy_all(args.database, args.requests, ref, args.seed)
        seed_runs()
        backfill = spans_backfill()
        now = seed.NOW
    counts = seed.table_counts(args.database)

    from zoneinfo import ZoneInfo

    from django.conf import settings
    from django.db import connection

    from reports.api.serializers import DeliveryMetricsSerializer
    from reports.metrics import delivery_metrics

    def endpoint(user, first: str, last: str) -> dict:
        metrics = delivery_metrics(user=user, date_from=first, date_to=last, now=now)
        return DeliveryMetricsSerializer(metrics).data

    pm, lead = ref["pm"], ref["lead"]
    if args.to:  # a data set still being seeded: windows ending on a day it has fully (now: the next midnight)
        now = datetime.combine(
            args.to + timedelta(days=1), datetime.min.time(), ZoneInfo(settings.PORTICO_REPORT_TIMEZONE)
        )
    last = now.astimezone(ZoneInfo(settings.PORTICO_REPORT_TIMEZONE)).date() - timedelta(days=1)
    month, year = (str(last - timedelta(days=27)), str(last)), (str(last - timedelta(days=365)), str(last))
    cases = {
        "organisation, 28 days": lambda: endpoint(pm, *month),
        "organisation, 366 days": lambda: endpoint(pm, *year),
        "one vendor (vendor lead), 366 days": lambda: endpoint(lead, *year),
    }
    results = {label: seed.best_of(case) for label, case in cases.items()}
    for label, (best, timings) in results.items():
        print(f"{label}: best {best * 1000:.0f} ms of {[round(t * 1000) for t in timings]}")

    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        version = cursor.fetchone()[0].split(" on ")[0]
    figures = {
        "machine": machine(),
        "database": args.database,
        "window_to": str(last),
        "backfill": backfill,
        "runs": {label: [round(t * 1000) for t in timings] for label, (_, timings) in results.items()},
    }
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    if args.write:
        before = json.loads(args.before.read_text()) if args.before else None
        results_section_write("Delivery metrics", section(figures, before, counts, version))
    connection.close()
    if not args.keep and not args.reuse:  # never a database this run did not create
        drop = psycopg.connect(dbname="postgres", **seed.SERVER)
        drop.autocommit = True
        with drop.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        drop.close()


def users_and_now():
    """The program manager and vendor lead to time, and the instant the windows end at: report_bench's seed
    (`bench-pm`, `optit-lead`, its fixed NOW) or seed_demo's (`pm`, `lead`, now)."""
    from django.utils import timezone

    from portal.models import User

    if User.objects.filter(username="bench-pm").exists():
        return seed.reference_data(), seed.NOW
    return {"pm": User.objects.get(username="pm"), "lead": User.objects.get(username="lead")}, timezone.now()


def spans_backfill() -> dict:
    """Derive the state spans of the COPY-seeded requests (COPY passes nothing to the timeline's handlers)."""
    from reports.spans import state_spans_backfill

    result = state_spans_backfill()
    print(f"Derived {result['spans']:,} state spans in {result['seconds']:.0f} s.", flush=True)
    return result


def section(figures: dict, before: dict | None, counts: dict, version: str) -> str:
    """The RESULTS.md section: these figures, and an earlier run's beside them when given."""
    m = figures["machine"]
    lines = [
        f"`bench/metrics_bench.py --database {figures['database']}` — `delivery_metrics` and its serializer (the "
        f"work of `/api/v1/reports/metrics/`), best of 5 after a warm-up run, windows ending {figures['window_to']}; "
        f"{counts['requests']:,} requests, {counts['clocks']:,} clocks, {counts['events']:,} events. "
        f"{m['date']}, commit {m['commit']}, {m['cores']} CPUs, {version}, Python {m['python']}, load average "
        f"{' / '.join(str(x) for x in m['load_average'])}.",
    ]
    if before:
        b = before["machine"]
        lines.append(
            f"Before: commit {b['commit']}, {b['date']}, load average {' / '.join(str(x) for x in b['load_average'])}."
        )
    if figures.get("backfill"):
        lines.append(
            f"Deriving the {figures['backfill']['spans']:,} state spans took {figures['backfill']['seconds']:.0f} s."
        )
    lines += ["", "| metrics | before (best) | after (best) | after, all runs (ms) |", "| --- | ---: | ---: | --- |"]
    for label, runs in figures["runs"].items():
        earlier = f"{min(before['runs'][label])} ms" if before and label in before["runs"] else "—"
        lines.append(f"| {label} | {earlier} | {min(runs)} ms | {', '.join(str(t) for t in runs)} |")
    return "\n".join([*lines, ""])


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"Done in {time.perf_counter() - started:.0f} s")
