"""CPU and SQL of the load test's two writes: filing (`POST /api/v1/requests/`) and pick-up (`POST
…/transitions/pick_up/`), through the Django test client with an API token, in the load test's environment
(portal.settings.base, DEBUG off; bench/_common.py `django_env`).

    .venv/bin/python bench/writes_bench.py --database portico_writes --iterations 40
    .venv/bin/python bench/writes_bench.py --database portico_writes --profile file   # cProfile by CPU time
    WRITES_CALLERS=get_converters .venv/bin/python bench/writes_bench.py --database portico_writes --profile pick_up
        # ... and who calls the functions matching a pattern

Per write: the process CPU time (`time.process_time`) of each call, median and p90, and the SQL statements of one
warm call with their time. The requests it picks up are filed and triaged first (as the load test tops up its
queue). Writes rows: use a database of your own. Not a test.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import django_env

FILE_BODY = {
    "title": "Load test: pod restarts in the payments service",
    "description": "Filed by bench/writes_bench.py to measure filing.",
    "request_type": "Troubleshooting",
    "priority": "P3",
    "environment": "punjab",
}


def _tree(stats: pstats.Stats, calls: int, threshold_ms: float = 0.3, depth: int = 9) -> None:
    """The profile as a call tree from the view down: each function's CPU per write (ms), children above
    `threshold_ms` only, the project's own functions opened (a library call is a leaf)."""
    children: dict[tuple, list[tuple[tuple, float]]] = {}
    for func, (_cc, _nc, _tt, _ct, callers) in stats.stats.items():  # type: ignore[attr-defined]
        for caller, edge in callers.items():
            children.setdefault(caller, []).append((func, edge[3]))
    roots = [f for f in stats.stats if f[2] in ("create", "transition") and "api/views.py" in f[0]]  # type: ignore[attr-defined]

    def label(func: tuple) -> str:
        path = func[0].split("site-packages/")[-1].replace(str(Path(__file__).resolve().parent.parent) + "/", "")
        return f"{path}:{func[1]}({func[2]})"

    def walk(func: tuple, total: float, level: int, seen: frozenset) -> None:
        print(f"{'  ' * level}{total / calls * 1000:7.2f}  {label(func)}")
        # Library functions are shared by every caller: their children's figures would be every caller's sum.
        if level >= depth or "site-packages" in func[0] or func[0].startswith(("~", "<")) or func[2] == "__exit__":
            return
        for child, ct in sorted(children.get(func, []), key=lambda c: -c[1]):
            if ct / calls * 1000 >= threshold_ms and child not in seen:
                walk(child, ct, level + 1, seen | {child})

    for root in roots:
        walk(root, stats.stats[root][3], 0, frozenset({root}))  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", required=True)
    parser.add_argument("--iterations", type=int, default=40)
    parser.add_argument("--profile", choices=["file", "pick_up"], help="print a cProfile of this write instead")
    parser.add_argument("--queries", action="store_true", help="print the SQL of one warm call of each write")
    args = parser.parse_args()

    os.environ.update(django_env(args.database, REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/4")))
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from portal.models import User
    from portal.tokens import api_token_create
    from requests_app import services
    from requests_app.models import Environment

    engineer = User.objects.get(username="engineer")
    requester = User.objects.get(username="requester")
    pm = User.objects.get(username="pm")
    team = requester.teams.order_by("pk").first()
    body = {**FILE_BODY, "team": team.slug}
    keys = {
        u.username: api_token_create(user=u, name="writes_bench", expires_in_days=1)[1] for u in (engineer, requester)
    }
    filer = Client(HTTP_AUTHORIZATION=f"Bearer {keys['requester']}")
    picker = Client(HTTP_AUTHORIZATION=f"Bearer {keys['engineer']}")

    environment = Environment.objects.get(code=body["environment"])
    needed = args.iterations + 3
    refs = []
    for _ in range(needed):
        filed = services.request_file(
            actor=requester, **{**body, "environment": environment, "team": team, "title": "Queued for pick-up"}
        )
        services.request_triage(filed, actor=pm, vendor=engineer.vendor)
        refs.append(filed.reference)

    def file_once() -> None:
        response = filer.post("/api/v1/requests/", data=json.dumps(body), content_type="application/json")
        if response.status_code != 201:
            raise SystemExit(f"filing answered {response.status_code}: {response.content!r}")

    def pick_once() -> None:
        ref = refs.pop()
        response = picker.post(
            f"/api/v1/requests/{ref}/transitions/pick_up/", data="{}", content_type="application/json"
        )
        if response.status_code != 200:
            raise SystemExit(f"pick-up answered {response.status_code}: {response.content!r}")

    writes = {"file": file_once, "pick_up": pick_once}
    for call in writes.values():  # warm-up: per-process caches
        call()

    if args.profile:
        profile = cProfile.Profile(time.process_time)  # CPU only: not the wait on PostgreSQL
        profile.enable()
        for _ in range(args.iterations):
            writes[args.profile]()
        profile.disable()
        stats = pstats.Stats(profile)
        stats.sort_stats("tottime").print_stats(25)
        _tree(stats, args.iterations)
        if os.environ.get("WRITES_CALLERS"):
            stats.print_callers(os.environ["WRITES_CALLERS"])
        return

    results = {}
    for name, call in writes.items():
        with CaptureQueriesContext(connection) as queries:
            call()
        captured = list(queries.captured_queries)  # the next call's request_started clears the log
        if args.queries:
            print(f"### {name}: {len(captured)} queries")
            for q in captured:
                print(f"{q['time']}s  {q['sql'][:400]}")
        cpu = []
        for _ in range(args.iterations):
            started = time.process_time()
            call()
            cpu.append((time.process_time() - started) * 1000)
        cpu.sort()
        results[name] = {
            "queries": len(captured),
            "sql_ms": round(sum(float(q["time"]) for q in captured) * 1000, 1),
            "cpu_median_ms": round(statistics.median(cpu), 1),
            "cpu_p90_ms": round(cpu[int(len(cpu) * 0.9)], 1),
        }
    print(f"load average {os.getloadavg()[0]:.2f}")
    print("| write | queries | SQL ms (one call) | CPU median ms | CPU p90 ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, r in results.items():
        print(f"| {name} | {r['queries']} | {r['sql_ms']} | {r['cpu_median_ms']} | {r['cpu_p90_ms']} |")


if __name__ == "__main__":
    main()
