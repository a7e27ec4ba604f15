"""CPU per call of the request page and the API's request list and detail, in one process (issue 17).

Each call goes through the Django test client as the load test sends it: the request page with a signed-in session
(vendor engineer and program manager), the API with a token (the load test's list of 50 queued by response due,
the cursor list 20 pages in, the detail). Settings are the load test's (`django_env`: base settings, DEBUG off).
CPU is `time.process_time()` per call, the median of N warm calls after a warm-up; queries are counted with
`CaptureQueriesContext` on a warm call.

    .venv/bin/python bench/page_cpu.py --database portico_pages --iterations 20 --json before.json
    .venv/bin/python bench/page_cpu.py --compare before.json after.json
    .venv/bin/python bench/page_cpu.py --database portico_pages --profile request_engineer --top 40

The request page rotates over the ten newest open requests of the engineer's vendor (the load test's choice).
Not a test; nothing is written but two sessions and three API tokens.
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
    from django.test import Client

    from portal.models import User
    from portal.tokens import api_token_create

    clients = {}
    for username in ("engineer", "pm"):
        user = User.objects.get(username=username)
        browser = Client()
        browser.force_login(user)
        clients[username] = browser
        key = api_token_create(user=user, name="page_cpu", expires_in_days=1)[1]
        clients[f"{username}_api"] = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    return clients


def _calls(clients: dict[str, Any]) -> dict[str, tuple[Any, str, list[str]]]:
    """name -> (client, user, paths it rotates over)."""
    from portal.models import User
    from requests_app.choices import OPEN_STATES
    from requests_app.models import ServiceRequest

    engineer = User.objects.get(username="engineer")
    references = list(
        ServiceRequest.objects.filter(vendor=engineer.vendor_id, state__in=OPEN_STATES)
        .order_by("-pk")
        .values_list("reference", flat=True)[:REFERENCES]
    )
    path = CURSOR_PATH
    for _ in range(CURSOR_DEPTH):
        following = clients["engineer_api"].get(path).json()["next"]
        if not following:
            break
        parts = urlsplit(following)
        path = f"{parts.path}?{parts.query}"
    detail = [f"/requests/{reference}/" for reference in references]
    if engineer.vendor is None:
        sys.exit("The demo's engineer has no vendor: seed the database with seed_demo first")
    listed = LIST_PATH.format(vendor=engineer.vendor.slug)
    return {
        "request_engineer": (clients["engineer"], "engineer", detail),
        "request_pm": (clients["pm"], "pm", detail),
        "api_list_engineer": (clients["engineer_api"], "engineer", [listed]),
        "api_list_pm": (clients["pm_api"], "pm", [listed]),
        "api_cursor_engineer": (clients["engineer_api"], "engineer", [path]),
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
        for path in paths:  # warm-up: per-process caches, templates, compiled queries
            client.get(path)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(paths[0])
        if response.status_code != 200:
            sys.exit(f"{paths[0]} answered {response.status_code} to {username}; the bench needs a 200")
        queries = list(captured.captured_queries)
        cpu = []
        for index in range(iterations):
            path = paths[index % len(paths)]
            started = time.process_time()
            client.get(path)
            cpu.append((time.process_time() - started) * 1000)
        results[name] = {
            "user": username,
            "path": paths[0],
            "queries": [query["sql"] for query in queries],
            "query_ms": [float(query["time"]) * 1000 for query in queries],
            "bytes": len(response.content),
            "cpu_ms": cpu,
        }
    return results


def markdown(results: dict[str, Any], meta: dict[str, Any]) -> str:
    lines = [
        f"Measured {meta['date']} at {meta['commit']}; {meta['iterations']} warm calls each; load average "
        f"{meta['load_average']} on {meta['cores']} cores.",
        "",
        "| call | user | SQL queries | CPU median ms | CPU min ms | bytes |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['user']} | {len(r['queries'])} | {statistics.median(r['cpu_ms']):.1f} | "
            f"{min(r['cpu_ms']):.1f} | {r['bytes']:,} |"
        )
    return "\n".join(lines)


def comparison(before: dict[str, Any], after: dict[str, Any]) -> str:
    lines = [
        f"Before: {before['meta']['commit']}, {before['meta']['date']}, load average {before['meta']['load_average']}. "
        f"After: {after['meta']['commit']}, {after['meta']['date']}, load average {after['meta']['load_average']}. "
        f"{after['meta']['iterations']} warm calls each, one process.",
        "",
        "| call (user) | SQL queries | CPU median ms | CPU min ms |",
        "|---|---:|---:|---:|",
    ]
    for name, a in after["results"].items():
        b = before["results"].get(name)
        if b is None:
            continue
        lines.append(
            f"| {name} ({a['user']}) | {len(b['queries'])} → {len(a['queries'])} | "
            f"{statistics.median(b['cpu_ms']):.1f} → {statistics.median(a['cpu_ms']):.1f} | "
            f"{min(b['cpu_ms']):.1f} → {min(a['cpu_ms']):.1f} |"
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
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--only", default="", help="Comma-separated call names (request_engineer, api_list_pm, …).")
    parser.add_argument("--json", type=Path, default=None)
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
    out = args.json or OUT / f"page-cpu-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "results": results}, indent=1, default=str))
    print(f"\nRaw figures: {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
