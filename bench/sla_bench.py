"""SLA benchmark: the at-risk/breach scan over 1,000,000 requests of which 50,000 are open, and the due-time rate.

1. Makes sure the load-test database holds the requests (`seed_demo`, reused when already seeded), then copies it
   (`CREATE DATABASE … TEMPLATE …`) so nothing here changes the load test's data.
2. In the copy only, shapes the data set with direct SQL on `sla_requestclock`: the clocks of all but the
   `--open` most recently filed open requests are ended (as if those requests had been closed), and every
   at-risk or breach instant older than `--lookback` minutes is marked as already flagged, as it would be on a
   system whose scan runs every minute. Then VACUUM ANALYZE.
3. Times `sla.services.sla_scan()` twice at the same instant: the first run flags what crossed a threshold in
   the look-back window (one audit event each), the second must find nothing. A third run one hour later shows
   the cost per flag when a backlog built up (an hour of outage).
4. Times `sla.services.sla_compute` over in-memory ledgers (entries and policies loaded first; the timed loop
   must run no SQL) and reports requests per second.
5. Writes bench/out/sla-<time>.json and the "SLA scan" section of bench/RESULTS.md; drops the copy.

    .venv/bin/python bench/sla_bench.py
    .venv/bin/python bench/sla_bench.py --source portico_bench_load_small --requests 2000 --open 500
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    OUT,
    PYTHON,
    ROOT,
    connect,
    database_copy,
    database_drop,
    django_env,
    django_setup,
    machine,
    prepare,
    results_section_write,
)

OPEN_STATES_SQL = "('submitted', 'pending_approval', 'queued', 'in_progress', 'waiting_on_requester', 'blocked')"
RUNNING = "c.met_at IS NULL AND c.ended_at IS NULL AND c.paused_since IS NULL AND c.started_at IS NOT NULL"


def shape(database: str, *, open_count: int, lookback_minutes: int) -> dict[str, object]:
    """Leave `open_count` open requests with live clocks and mark crossings older than the look-back as flagged."""
    with closing(connect(database)) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM requests_app_servicerequest WHERE state IN {OPEN_STATES_SQL}")  # noqa: S608
        seeded_open = cur.fetchone()[0]
        cur.execute(
            f"""
            CREATE TEMP TABLE kept AS
              SELECT id FROM requests_app_servicerequest WHERE state IN {OPEN_STATES_SQL}
              ORDER BY created_at DESC LIMIT %s;
            CREATE UNIQUE INDEX ON kept (id);
            UPDATE sla_requestclock c SET ended_at = now()
             WHERE c.met_at IS NULL AND c.ended_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM kept k WHERE k.id = c.service_request_id);
            """,  # noqa: S608 — constants only
            [open_count],
        )
        ended = cur.rowcount
        cur.execute(
            f"""
            UPDATE sla_requestclock c SET breached_flagged_at = c.due_at,
                   at_risk_flagged_at = coalesce(c.at_risk_flagged_at, least(c.at_risk_at, c.due_at))
             WHERE {RUNNING} AND c.breached_flagged_at IS NULL
               AND c.due_at <= now() - make_interval(mins => %s)
            """,  # noqa: S608
            [lookback_minutes],
        )
        pre_breached = cur.rowcount
        cur.execute(
            f"""
            UPDATE sla_requestclock c SET at_risk_flagged_at = c.at_risk_at
             WHERE {RUNNING} AND c.at_risk_flagged_at IS NULL AND c.breached_flagged_at IS NULL
               AND c.at_risk_at <= now() - make_interval(mins => %s)
            """,  # noqa: S608
            [lookback_minutes],
        )
        pre_at_risk = cur.rowcount
        cur.execute("VACUUM ANALYZE sla_requestclock")
        cur.execute(f"SELECT count(*), count(DISTINCT service_request_id) FROM sla_requestclock c WHERE {RUNNING}")  # noqa: S608
        running_clocks, running_requests = cur.fetchone()
        cur.execute("SELECT count(*) FROM requests_app_servicerequest")
        requests = cur.fetchone()[0]
    return {
        "requests": requests,
        "seeded_open_requests": seeded_open,
        "open_requests_kept": min(open_count, seeded_open),
        "clocks_ended_by_shaping": ended,
        "pre_flagged_breached": pre_breached,
        "pre_flagged_at_risk": pre_at_risk,
        "running_clocks": running_clocks,
        "requests_with_running_clocks": running_requests,
    }


# --- the child step: Django on the copy ----------------------------------------------------------------
def step_measure(database: str, compute_requests: int) -> dict[str, object]:
    django_setup(database)
    from datetime import timedelta

    from django.db import connection
    from django.db.models import Prefetch
    from django.utils import timezone

    from requests_app.models import ServiceRequest
    from sla.models import ClockLedgerEntry, RequestClock
    from sla.policies import stored_calendar_for
    from sla.services import sla_compute, sla_scan

    class QueryCounter:
        """Counts SQL statements (CaptureQueriesContext keeps only the last 9,000, too few for a long loop)."""

        def __enter__(self) -> QueryCounter:
            self.count = 0
            self._hook = connection.execute_wrapper(self)
            self._hook.__enter__()
            return self

        def __call__(self, execute, sql, params, many, context):
            self.count += 1
            return execute(sql, params, many, context)

        def __exit__(self, *exc: object) -> None:
            self._hook.__exit__(*exc)

        def __len__(self) -> int:
            return self.count

    def explain(queryset: object) -> dict[str, object]:
        sql, params = queryset.query.sql_with_params()
        with connection.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
            plan = cur.fetchone()[0][0]
        node, indexes = plan["Plan"], []
        stack = [node]
        while stack:
            item = stack.pop()
            if "Index Name" in item:
                indexes.append(item["Index Name"])
            stack.extend(item.get("Plans", []))
        return {"ms": round(plan["Execution Time"], 2), "indexes": indexes, "top": node["Node Type"]}

    now = timezone.now()
    candidates = {
        "breached_query": explain(RequestClock.objects.newly_breached(now).order_by("pk")[:500]),
        "at_risk_query": explain(RequestClock.objects.newly_at_risk(now).order_by("pk")[:500]),
    }
    runs = []
    for label, at in (
        ("first run (crossings in the look-back window)", now),
        ("second run, same instant", now),
        ("an hour later (backlog of an hour)", now + timedelta(hours=1)),
        ("an hour later, again", now + timedelta(hours=1)),
    ):
        started = time.perf_counter()
        with QueryCounter() as queries:
            counts = sla_scan(now=at)
        seconds = time.perf_counter() - started
        runs.append({"label": label, "seconds": round(seconds, 3), "queries": len(queries), **counts})

    # Due-time computation: ledgers of many requests in memory, then sla_compute over each with no SQL.
    requests = list(
        ServiceRequest.objects.select_related("environment__calendar")
        .order_by("-pk")
        .prefetch_related(
            Prefetch(
                "clock_ledger",
                queryset=ClockLedgerEntry.objects.select_related("policy").order_by("at", "pk"),
                to_attr="ledger_rows",
            )
        )[:compute_requests]
    )
    entries = sum(len(sr.ledger_rows) for sr in requests)

    def rate(label: str) -> dict[str, object]:
        for sr in requests[:200]:  # warm the per-process calendar and policy caches
            sla_compute(sr, entries=sr.ledger_rows)
        started = time.perf_counter()
        with QueryCounter() as queries:
            for sr in requests:
                sla_compute(sr, entries=sr.ledger_rows)
        seconds = time.perf_counter() - started
        return {
            "label": label,
            "requests": len(requests),
            "ledger_entries": entries,
            "seconds": round(seconds, 3),
            "requests_per_second": round(len(requests) / seconds, 1),
            "queries": len(queries),
        }

    compute = [rate("as loaded (environments without a calendar look up the default one on each goal)")]
    # Resolve each environment's calendar once, in memory only (nothing saved), to time the arithmetic alone.
    default = stored_calendar_for(requests[0].environment)
    for sr in requests:
        if sr.environment.calendar_id is None:
            sr.environment.calendar = default
    compute.append(rate("calendars resolved beforehand (pure computation)"))
    return {"candidates": candidates, "runs": runs, "compute": compute}


def measure(database: str, compute_requests: int) -> dict[str, object]:
    result = subprocess.run(
        [str(PYTHON), __file__, "--step", "measure", "--database", database, "--compute", str(compute_requests)],
        cwd=ROOT,
        env=django_env(database),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        sys.exit(f"measure step failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def markdown(report: dict[str, object]) -> str:
    m, data, figures, args = report["machine"], report["data"], report["figures"], report["args"]
    lines = [
        "`bench/sla_bench.py` (run it after, or instead of, the load test: it reuses the seeded database and works "
        "on a copy). "
        f"Measured {m['date']} at commit {m['commit']} on {m['cores']} cores ({m['cpu']}), PostgreSQL "
        f"{m['postgresql']}" + (f"; load average at the end {m['load_average']}." if m.get("load_average") else "."),
        "",
        f"Data set: {data['requests']:,} requests; the seed leaves {data['seeded_open_requests']:,} open, so in the "
        f"copy the clocks of all but the {data['open_requests_kept']:,} most recent open requests were ended by SQL "
        f"({data['clocks_ended_by_shaping']:,} clock rows). {data['running_clocks']:,} clocks of "
        f"{data['requests_with_running_clocks']:,} requests are running. Crossings older than {args['lookback']} "
        f"minutes were marked as flagged ({data['pre_flagged_breached']:,} breach, {data['pre_flagged_at_risk']:,} "
        "at-risk), as a scan running every minute would have left them.",
        "",
        "### The scan (`sla.services.sla_scan`)",
        "",
        "| Run | seconds | breached flagged | at risk flagged | SQL queries |",
        "|---|---:|---:|---:|---:|",
    ]
    for run in figures["runs"]:
        lines.append(
            f"| {run['label']} | {run['seconds']:.3f} | {run['breached']:,} | {run['at_risk']:,} | {run['queries']:,} |"
        )
    c = figures["candidates"]
    lines += [
        "",
        f"Finding the candidates (EXPLAIN ANALYZE, 500-row batch): breached {c['breached_query']['ms']} ms via "
        f"{', '.join(c['breached_query']['indexes']) or 'no index'}; at risk {c['at_risk_query']['ms']} ms via "
        f"{', '.join(c['at_risk_query']['indexes']) or 'no index'}.",
        "",
        "### Due-time computation (`sla.services.sla_compute`, in memory)",
        "",
    ]
    for comp in figures["compute"]:
        lines.append(
            f"- {comp['label']}: {comp['requests']:,} requests ({comp['ledger_entries']:,} ledger entries, loaded "
            f"beforehand) in {comp['seconds']:.2f} s, **{comp['requests_per_second']:,.0f} requests/s** on one "
            f"core; {comp['queries']:,} SQL queries in the timed loop."
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", default="portico_bench_load", help="The seeded database (left unchanged).")
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--database", default="portico_bench_sla", help="The copy measured (dropped after).")
    parser.add_argument("--open", type=int, default=50_000, help="Open requests whose clocks keep running.")
    parser.add_argument("--lookback", type=int, default=10, help="Minutes of crossings left for the first scan.")
    parser.add_argument("--compute", type=int, default=20_000, help="Requests for the sla_compute rate.")
    parser.add_argument("--keep", action="store_true", help="Keep the copy.")
    parser.add_argument("--no-results", action="store_true", help="Do not write bench/RESULTS.md.")
    parser.add_argument("--step", choices=["measure"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step == "measure":
        print(json.dumps(step_measure(args.database, args.compute)))
        return

    OUT.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    print(f"1. {args.source}: {args.requests:,} requests")
    prepare(args.source, args.requests)
    print(f"2. Copying to {args.database}")
    started = time.monotonic()
    database_copy(args.source, args.database)
    print(f"   copied in {time.monotonic() - started:.0f} s; shaping to {args.open:,} open")
    try:
        data = shape(args.database, open_count=args.open, lookback_minutes=args.lookback)
        print("3. Scanning and computing")
        figures = measure(args.database, args.compute)
    finally:
        if not args.keep:
            database_drop(args.database)
    report = {"machine": machine(), "args": vars(args), "data": data, "figures": figures}
    raw = OUT / f"sla-{stamp}.json"
    raw.write_text(json.dumps(report, indent=2, default=str))
    text = markdown(report)
    print(text)
    print(f"Raw figures: {raw.relative_to(ROOT)}")
    if not args.no_results:
        results_section_write("SLA scan", text)
        print("Wrote bench/RESULTS.md (section “SLA scan”)")


if __name__ == "__main__":
    main()
