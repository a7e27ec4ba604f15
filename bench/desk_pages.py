"""Service time of the desk's pages and the API's request reads in one process: the queue, the triage inbox, the
list, a request, and the API's list of 50, cursor list and detail.

Each call is served N times through Django's full handler (every middleware), as the load test sends it: the pages
with a signed-in session, the API with a token, as the vendor engineer and as the program manager where the call
is theirs, in the load test's environment (portal.settings.base, DEBUG off, LOG_LEVEL WARNING; bench/_common.py
`django_env`). No server, no port: this is the time one request takes in the process (the "service time" that
wrk's latency multiplies when connections outnumber workers).

    .venv/bin/python bench/desk_pages.py --database portico_bench_load --iterations 50 --json before.json
    .venv/bin/python bench/desk_pages.py --compare before.json after.json      # side by side, markdown
    .venv/bin/python bench/desk_pages.py --database portico_bench_load --profile queue_engineer   # cProfile top
    .venv/bin/python bench/desk_pages.py --only request_engineer,api_list_pm --iterations 20   # some calls only

The request page rotates over the ten newest open requests of the engineer's vendor (the load test's choice), the
same ten for both people. Wall time includes waiting for PostgreSQL (on the same cores); CPU time is this
process's own (the profile counts CPU time too). Not a test; nothing is written to the database but two sessions and
two API tokens.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import OUT, django_env, machine

REFERENCES = 10
LIST_PATH = "/api/v1/requests/?page_size=50&state=queued&vendor={vendor}&ordering=response_due_at"
CURSOR_PATH = "/api/v1/requests/?pagination=cursor&page_size=50"
CURSOR_DEPTH = 20


def _clients() -> dict[str, Any]:
    """A signed-in browser and an API client with a token, for the engineer and the program manager."""
    from django.test import Client

    from portal.models import User
    from portal.tokens import api_token_create

    clients = {}
    for username in ("engineer", "pm"):
        user = User.objects.get(username=username)
        browser = Client()
        browser.force_login(user)
        clients[username] = browser
        key = api_token_create(user=user, name="desk_pages", expires_in_days=1)[1]
        clients[f"{username}_api"] = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    return clients


def _calls(clients: dict[str, Any]) -> dict[str, tuple[Any, str, list[str]]]:
    """name -> (client, username, paths it rotates over)."""
    from portal.models import User
    from requests_app.choices import OPEN_STATES
    from requests_app.models import ServiceRequest

    engineer = User.objects.get(username="engineer")
    if engineer.vendor is None:
        sys.exit("The demo's engineer has no vendor: seed the database with seed_demo first")
    references = list(
        ServiceRequest.objects.filter(vendor=engineer.vendor_id, state__in=OPEN_STATES)
        .order_by("-pk")
        .values_list("reference", flat=True)[:REFERENCES]
    )
    cursor = CURSOR_PATH
    for _ in range(CURSOR_DEPTH):
        following = clients["engineer_api"].get(cursor).json()["next"]
        if not following:
            break
        parts = urlsplit(following)
        cursor = f"{parts.path}?{parts.query}"
    detail = [f"/requests/{reference}/" for reference in references]
    listed = LIST_PATH.format(vendor=engineer.vendor.slug)
    return {
        "queue_engineer": (clients["engineer"], "engineer", ["/queue/"]),
        "home_engineer": (clients["engineer"], "engineer", ["/"]),
        "home_pm": (clients["pm"], "pm", ["/"]),
        "triage_pm": (clients["pm"], "pm", ["/triage/"]),
        "request_engineer": (clients["engineer"], "engineer", detail),
        "request_pm": (clients["pm"], "pm", detail),
        "api_list_engineer": (clients["engineer_api"], "engineer", [listed]),
        "api_list_pm": (clients["pm_api"], "pm", [listed]),
        "api_cursor_engineer": (clients["engineer_api"], "engineer", [cursor]),
        "api_detail_engineer": (
            clients["engineer_api"],
            "engineer",
            [f"/api/v1/requests/{reference}/" for reference in references],
        ),
    }


def measure(iterations: int, only: set[str] | None) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    results: dict[str, Any] = {}
    for name, (client, username, paths) in _calls(_clients()).items():
        if only and name not in only:
            continue
        for path in paths:  # warm-up: per-process caches, templates, the connection
            client.get(path)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(paths[0])
        if response.status_code != 200:
            sys.exit(f"{paths[0]} answered {response.status_code} to {username}; the bench needs a 200")
        queries = list(captured.captured_queries)  # read now: the next request's `request_started` empties the log
        wall, cpu = [], []
        for index in range(iterations):
            path = paths[index % len(paths)]
            started, started_cpu = time.perf_counter_ns(), time.process_time_ns()
            client.get(path)
            wall.append((time.perf_counter_ns() - started) / 1e6)
            cpu.append((time.process_time_ns() - started_cpu) / 1e6)
        results[name] = {
            "user": username,
            "path": paths[0],
            "queries": [query["sql"] for query in queries],
            "query_ms": [float(query["time"]) * 1000 for query in queries],
            "bytes": len(response.content),
            "wall_ms": wall,
            "cpu_ms": cpu,
        }
    return results


def _p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1] if len(values) > 1 else values[0]


def markdown(results: dict[str, Any], meta: dict[str, Any]) -> str:
    lines = [
        f"Measured {meta['date']} at {meta['commit']}; {meta['iterations']} requests per page; load average "
        f"{meta['load_average']} on {meta['cores']} cores.",
        "",
        "| page | user | SQL queries | wall median ms | wall p90 ms | CPU median ms | HTML bytes |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} `{r['path']}` | {r['user']} | {len(r['queries'])} | {statistics.median(r['wall_ms']):.1f} | "
            f"{_p90(r['wall_ms']):.1f} | {statistics.median(r['cpu_ms']):.1f} | {r['bytes']:,} |"
        )
    return "\n".join(lines)


def comparison(before: dict[str, Any], after: dict[str, Any]) -> str:
    lines = [
        f"Before: {before['meta']['commit']}, {before['meta']['date']}, load average {before['meta']['load_average']}. "
        f"After: {after['meta']['commit']}, {after['meta']['date']}, load average {after['meta']['load_average']}. "
        f"{after['meta']['iterations']} requests per page, one process.",
        "",
        "| page (user) | SQL queries | wall median ms | wall p90 ms | CPU median ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, a in after["results"].items():
        b = before["results"].get(name)
        if b is None:
            continue
        lines.append(
            f"| {name.rsplit('_', 1)[0]} ({a['user']}) | {len(b['queries'])} → {len(a['queries'])} | "
            f"{statistics.median(b['wall_ms']):.1f} → {statistics.median(a['wall_ms']):.1f} | "
            f"{_p90(b['wall_ms']):.1f} → {_p90(a['wall_ms']):.1f} | "
            f"{statistics.median(b['cpu_ms']):.1f} → {statistics.median(a['cpu_ms']):.1f} |"
        )
    return "\n".join(lines)


def profile(name: str, iterations: int, top: int, out: Path | None) -> None:
    client, _username, paths = _calls(_clients())[name]
    for path in paths:
        client.get(path)
    # CPU time, not wall time: waiting for PostgreSQL on a shared machine would otherwise fill the profile.
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for index in range(iterations):
        client.get(paths[index % len(paths)])
    profiler.disable()
    if out:
        profiler.dump_stats(out)
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="portico_bench_load")
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--only", default="", help="Comma-separated call names (queue_engineer, api_list_pm, …).")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--sql", action="store_true", help="Also print each page's SQL with its time.")
    parser.add_argument("--profile", default="", help="cProfile one call instead of timing them.")
    parser.add_argument("--profile-out", type=Path, default=None, help="Also dump the profile's stats here.")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--redis-url", default=None, help="Redis for the cache (default: the load test's).")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args()
    if args.compare:
        before, after = (json.loads(path.read_text()) for path in args.compare)
        print(comparison(before, after))
        return
    os.environ.update(django_env(args.database, **({"REDIS_URL": args.redis_url} if args.redis_url else {})))
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import django

    django.setup()
    if args.profile:
        profile(args.profile, args.iterations, args.top, args.profile_out)
        return
    results = measure(args.iterations, set(filter(None, args.only.split(","))) or None)
    meta = {**machine(), "iterations": args.iterations, "database": args.database}
    print(markdown(results, meta))
    if args.sql:
        for name, r in results.items():
            print(f"\n{name} `{r['path']}`:")
            for index, (sql, ms) in enumerate(zip(r["queries"], r["query_ms"], strict=True), 1):
                print(f"{index}. {ms:.1f} ms `{sql[:300]}`")
    out = args.json or OUT / f"desk-pages-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "results": results}, indent=1, default=str))
    print(f"\nRaw figures: {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
