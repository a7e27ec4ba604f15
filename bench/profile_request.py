"""Profile of the signed-in request: where `/api/v1/me/`, the queue page and the request page spend their time.

In one process, with the environment of the load test's gunicorn (portal.settings.base, DEBUG off, LOG_LEVEL
WARNING; bench/_common.py `django_env`), on a small seeded database (prepared like the load test's, or --database):

1. signs in the demo's vendor engineer: an API token for `/api/v1/me/`, a session for the pages;
2. per endpoint, N requests through Django's handler with every middleware of settings.MIDDLEWARE wrapped in a
   timer: the middleware's own time (its `__call__` less the rest of the chain inside it, plus its process_view /
   process_template_response / process_exception hooks), and the time the view itself takes;
   the same requests again through Django's WSGI handler (as gunicorn calls it), which also runs the per-request
   connection housekeeping the test client leaves out: the health check of a reused connection (Django's backend
   sends `SELECT 1`; portal.postgres asks the socket first);
3. inside the view (DRF): request set-up, authentication (per class), permissions (per class), throttles,
   content negotiation, the handler, finalize and rendering; the two-factor checks (`otp_required`,
   `is_verified`), logging (every call into the `logging` module) and Prometheus (`prometheus_client`) from a
   cProfile of the same requests;
4. the SQL queries of one request (after a warm-up request that fills per-process caches), and a cProfile top
   list by own time.

    .venv/bin/python bench/profile_request.py                       # 2,000-request database, 300 requests each
    .venv/bin/python bench/profile_request.py --database portico_bench_50k --iterations 500 --json out.json
    .venv/bin/python bench/profile_request.py --compare before.json after.json   # side by side

Prints markdown. Times are per request, median of the wrapped runs (mean for the cProfile figures, which include
the profiler's own overhead, so compare them with each other, not with the wall times). Only 127.0.0.1's
PostgreSQL is used; nothing listens on a port. Not a test.
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
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common
from _common import OUT, django_env, machine, prepare

DEFAULT_DATABASE = "portico_bench_profile"
DEFAULT_REQUESTS = 2_000

# name -> per-request list of nanoseconds (one entry per request, summed over calls within it)
_samples: dict[str, list[int]] = defaultdict(list)
_current: dict[str, int] = defaultdict(int)


def _add(name: str, ns: int) -> None:
    _current[name] += ns


def _request_done() -> None:
    for name, ns in _current.items():
        _samples[name].append(ns)
    _current.clear()


def _timed(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter_ns()
        try:
            return func(*args, **kwargs)
        finally:
            _add(name, time.perf_counter_ns() - started)

    wrapper.__wrapped__ = func  # type: ignore[attr-defined]
    return wrapper


def _timed_middleware(path: str) -> type:
    """A middleware class that runs the one at `path` and records its own time (not the chain inside it)."""
    from django.utils.module_loading import import_string

    real_class = import_string(path)
    label = path.rsplit(".", 1)[-1]

    class Timed:
        def __init__(self, get_response: Callable) -> None:
            self._inner_ns = 0

            def inner(request: Any) -> Any:
                started = time.perf_counter_ns()
                try:
                    return get_response(request)
                finally:
                    self._inner_ns += time.perf_counter_ns() - started

            self.real = real_class(inner)
            for hook in ("process_view", "process_template_response", "process_exception"):
                if hasattr(self.real, hook):
                    setattr(self, hook, _timed(f"mw:{label}", getattr(self.real, hook)))
            self.async_mode = False

        def __call__(self, request: Any) -> Any:
            self._inner_ns = 0
            started = time.perf_counter_ns()
            try:
                return self.real(request)
            finally:
                _add(f"mw:{label}", time.perf_counter_ns() - started - self._inner_ns)

    Timed.sync_capable, Timed.async_capable = True, False
    Timed.__name__ = f"Timed{real_class.__name__}"
    return Timed


def _install_timers() -> list[str]:
    """Wrap every middleware of settings.MIDDLEWARE and the DRF/OTP steps; return the wrapped middleware paths."""
    from django.conf import settings
    from rest_framework.views import APIView

    from portal.otp import authentication as otp_authentication
    from portal.otp import middleware as otp_middleware

    module = sys.modules[__name__]
    wrapped = []
    for index, path in enumerate(settings.MIDDLEWARE):
        name = f"Timed{index}"
        setattr(module, name, _timed_middleware(path))
        wrapped.append(f"{__name__}.{name}")

    for method in (
        "initialize_request",
        "perform_authentication",
        "check_permissions",
        "check_throttles",
        "determine_version",
        "perform_content_negotiation",
        "finalize_response",
    ):
        setattr(APIView, method, _timed(f"drf:{method}", getattr(APIView, method)))
    for auth_path in settings.REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]:
        from django.utils.module_loading import import_string

        cls = import_string(auth_path)
        cls.authenticate = _timed(f"drf:auth {cls.__name__}", cls.authenticate)
    for perm_path in settings.REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"]:
        from django.utils.module_loading import import_string

        cls = import_string(perm_path)
        cls.has_permission = _timed(f"drf:perm {cls.__name__}", cls.has_permission)
    for module_, attr in (
        (otp_middleware, "otp_required"),
        (otp_middleware, "is_verified"),
        (otp_authentication, "otp_required"),
        (otp_authentication, "is_verified"),
    ):
        if hasattr(module_, attr):
            setattr(module_, attr, _timed(f"otp:{attr}", getattr(module_, attr)))
    return wrapped


def _fixtures() -> dict[str, Any]:
    """The signed-in engineer: an API token, a session cookie, and a request of their vendor to open."""
    from django.test import Client

    from portal.models import User
    from portal.tokens import api_token_create
    from requests_app.choices import OPEN_STATES
    from requests_app.models import ServiceRequest

    engineer = User.objects.get(username="engineer")
    _, key = api_token_create(user=engineer, name="profile_request", expires_in_days=1)
    browser = Client()
    browser.force_login(engineer)
    reference = (
        ServiceRequest.objects.filter(vendor=engineer.vendor, state__in=OPEN_STATES)
        .order_by("-pk")
        .values_list("reference", flat=True)
        .first()
    )
    return {
        "token": key,
        "browser": browser,
        "paths": {
            "healthz": ("anonymous", "/healthz"),
            "api_me": ("token", "/api/v1/me/"),
            "queue_page": ("session", "/queue/"),
            "request_page": ("session", f"/requests/{reference}/"),
        },
    }


def _client(kind: str, fixtures: dict[str, Any]) -> Any:
    from django.test import Client

    if kind == "token":
        return Client(HTTP_AUTHORIZATION=f"Bearer {fixtures['token']}")
    if kind == "session":
        client = Client()
        client.cookies = fixtures["browser"].cookies
        return client
    return Client()


def _queries(client: Any, path: str) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(path)  # warm-up: per-process caches
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    if response.status_code != 200:
        sys.exit(f"{path} answered {response.status_code}; the profile needs a 200")
    return [query["sql"] for query in captured.captured_queries]


def _wall(client: Any, path: str, iterations: int, cpu: list[float] | None = None) -> list[float]:
    """Wall milliseconds per request; `cpu` gets this process's CPU milliseconds per request, which (unlike wall
    time) leaves out waiting for PostgreSQL and for other work on a shared machine."""
    times = []
    for _ in range(iterations):
        started, started_cpu = time.perf_counter_ns(), time.process_time_ns()
        client.get(path)
        times.append((time.perf_counter_ns() - started) / 1e6)
        if cpu is not None:
            cpu.append((time.process_time_ns() - started_cpu) / 1e6)
    return times


def _wsgi(kind: str, fixtures: dict[str, Any], path: str, iterations: int) -> dict[str, Any]:
    """Wall and CPU milliseconds per request through Django's WSGI handler, as gunicorn calls it: unlike the test
    client it runs the per-request connection housekeeping (request_started), so the connection health check
    that precedes the first query of a request on a reused connection is in these figures; and how many
    health checks ran per request (Django's own backend sends `SELECT 1` for each)."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection
    from django.test import RequestFactory

    headers: dict[str, str] = {}
    if kind == "token":
        headers["HTTP_AUTHORIZATION"] = f"Bearer {fixtures['token']}"
    elif kind == "session":
        headers["HTTP_COOKIE"] = "; ".join(f"{k}={v.value}" for k, v in fixtures["browser"].cookies.items())
    handler, factory = WSGIHandler(), RequestFactory()
    checks = [0]
    real_is_usable = connection.is_usable

    def counted_is_usable() -> bool:
        checks[0] += 1
        return real_is_usable()

    def call() -> None:
        status: list[str] = []
        body = handler(factory.get(path, **headers).environ, lambda line, _headers, _exc=None: status.append(line))
        b"".join(body)
        body.close()  # request_finished
        if not status[0].startswith("200"):
            sys.exit(f"{path} answered {status[0]} through WSGI; the profile needs a 200")

    for _ in range(max(10, iterations // 10)):  # warm-up
        call()
    connection.is_usable = counted_is_usable  # type: ignore[method-assign]
    wall, cpu = [], []
    try:
        for _ in range(iterations):
            started, started_cpu = time.perf_counter_ns(), time.process_time_ns()
            call()
            wall.append((time.perf_counter_ns() - started) / 1e6)
            cpu.append((time.process_time_ns() - started_cpu) / 1e6)
    finally:
        del connection.is_usable
    return {
        "wsgi_wall_ms": wall,
        "wsgi_cpu_ms": cpu,
        "health_checks": checks[0] / iterations,
        "engine": connection.settings_dict["ENGINE"],
    }


def _profile(client: Any, path: str, iterations: int) -> pstats.Stats:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(iterations):
        client.get(path)
    profiler.disable()
    return pstats.Stats(profiler)


def _cumulative_where(stats: pstats.Stats, match: Callable[[str, str], bool]) -> tuple[float, int]:
    """Seconds spent in functions matching `match(file, name)`, counting only the outermost such calls."""
    own = 0.0
    calls = 0
    raw = stats.stats  # type: ignore[attr-defined]
    for (file, _line, name), (_cc, nc, tt, _ct, _callers) in raw.items():
        if match(file, name):
            own += tt
            calls += nc
    return own, calls


def _top(stats: pstats.Stats, iterations: int, limit: int) -> list[dict[str, Any]]:
    raw = stats.stats  # type: ignore[attr-defined]
    rows = []
    for (file, line, name), (_cc, nc, tt, ct, _callers) in raw.items():
        short = file
        for marker in ("site-packages/", "/lib/python3"):
            if marker in short:
                short = short.split(marker, 1)[1]
                break
        else:
            short = short.replace(str(Path(__file__).resolve().parent.parent) + "/", "")
        rows.append(
            {
                "function": f"{short}:{line}({name})",
                "calls": nc / iterations,
                "tottime_ms": tt * 1000 / iterations,
                "cumtime_ms": ct * 1000 / iterations,
            }
        )
    rows.sort(key=lambda row: row["tottime_ms"], reverse=True)
    return rows[:limit]


def measure(iterations: int, top: int) -> dict[str, Any]:
    from django.test.utils import override_settings

    fixtures = _fixtures()
    results: dict[str, Any] = {}
    plain: dict[str, Any] = {}
    for name, (kind, path) in fixtures["paths"].items():
        client = _client(kind, fixtures)
        queries = _queries(client, path)
        _wall(client, path, max(10, iterations // 10))  # warm-up
        cpu: list[float] = []
        plain[name] = {"path": path, "queries": queries, "wall_ms": _wall(client, path, iterations, cpu), "cpu_ms": cpu}
        plain[name].update(_wsgi(kind, fixtures, path, iterations))

    wrapped = _install_timers()
    with override_settings(MIDDLEWARE=wrapped):
        for name, (kind, path) in fixtures["paths"].items():
            client = _client(kind, fixtures)
            client.get(path)
            _samples.clear()
            _current.clear()
            totals = []
            for _ in range(iterations):
                started = time.perf_counter_ns()
                client.get(path)
                totals.append(time.perf_counter_ns() - started)
                _request_done()
            parts = {
                key: statistics.median(values + [0] * (iterations - len(values))) / 1e6
                for key, values in _samples.items()
            }
            stats = _profile(client, path, iterations)
            logging_s, logging_calls = _cumulative_where(
                stats, lambda file, _name: file.endswith("/logging/__init__.py")
            )
            prom_s, prom_calls = _cumulative_where(stats, lambda file, _name: "prometheus_client" in file)
            results[name] = {
                **plain[name],
                "wrapped_total_ms": statistics.median(totals) / 1e6,
                "parts_ms": parts,
                "logging": {"ms": logging_s * 1000 / iterations, "calls": logging_calls / iterations},
                "prometheus": {"ms": prom_s * 1000 / iterations, "calls": prom_calls / iterations},
                "top": _top(stats, iterations, top),
            }
    return results


def markdown(results: dict[str, Any], meta: dict[str, Any]) -> str:
    lines = [
        f"Measured {meta['date']} at {meta['commit']}; {meta['iterations']} requests per endpoint on "
        f"{meta['requests']:,} requests; load average {meta['load_average']} on {meta['cores']} cores "
        "(shared with other work)."
    ]
    names = list(results)
    lines += ["", "| | " + " | ".join(f"`{results[n]['path'].split('?')[0]}`" for n in names) + " |"]
    lines.append("|---|" + "---:|" * len(names))
    lines.append(
        "| wall time, median (ms) | "
        + " | ".join(f"{statistics.median(results[n]['wall_ms']):.2f}" for n in names)
        + " |"
    )
    lines.append(
        "| CPU time, median (ms) | "
        + " | ".join(f"{statistics.median(results[n]['cpu_ms']):.2f}" for n in names)
        + " |"
    )
    lines.append("| SQL queries | " + " | ".join(str(len(results[n]["queries"])) for n in names) + " |")
    wsgi_rows = (("WSGI: wall time, median (ms)", "wsgi_wall_ms"), ("WSGI: CPU time, median (ms)", "wsgi_cpu_ms"))
    for label, key in wsgi_rows:
        lines.append(f"| {label} | " + " | ".join(f"{statistics.median(results[n][key]):.2f}" for n in names) + " |")
    lines.append(
        "| connection health checks per request (WSGI) | "
        + " | ".join(f"{results[n]['health_checks']:.1f}" for n in names)
        + " |"
    )
    keys: list[str] = []
    for n in names:
        for key in results[n]["parts_ms"]:
            if key not in keys:
                keys.append(key)
    for key in keys:
        cells = [f"{results[n]['parts_ms'].get(key, 0.0):.3f}" for n in names]
        if all(cell == "0.000" for cell in cells):
            continue
        lines.append(f"| {key} (ms) | " + " | ".join(cells) + " |")
    lines.append(
        "| logging module, cProfile (ms / calls) | "
        + " | ".join(f"{results[n]['logging']['ms']:.3f} / {results[n]['logging']['calls']:.0f}" for n in names)
        + " |"
    )
    lines.append(
        "| prometheus_client, cProfile (ms / calls) | "
        + " | ".join(f"{results[n]['prometheus']['ms']:.3f} / {results[n]['prometheus']['calls']:.0f}" for n in names)
        + " |"
    )
    for n in names:
        lines += ["", f"SQL of one `{results[n]['path']}`:", ""]
        lines += [f"{i}. `{sql[:160]}`" for i, sql in enumerate(results[n]["queries"], 1)] or ["(none)"]
        lines += ["", f"cProfile top of `{results[n]['path']}` by own time, per request:", ""]
        lines += ["| function | calls | own ms | cumulative ms |", "|---|---:|---:|---:|"]
        lines += [
            f"| `{row['function']}` | {row['calls']:.1f} | {row['tottime_ms']:.3f} | {row['cumtime_ms']:.3f} |"
            for row in results[n]["top"]
        ]
    return "\n".join(lines)


def comparison(before: dict[str, Any], after: dict[str, Any]) -> str:
    """Before and after side by side: wall time, SQL queries and every timed part, per endpoint."""
    names = [name for name in after["results"] if name in before["results"]]
    lines = [
        f"Before: {before['meta']['commit'] or 'main'}, {before['meta']['date']}, load average "
        f"{before['meta']['load_average']}. After: {after['meta']['commit']}, {after['meta']['date']}, load average "
        f"{after['meta']['load_average']}. {after['meta']['iterations']} requests per endpoint, "
        f"{after['meta']['requests']:,} seeded requests, {after['meta']['cores']} cores shared with other work.",
        "",
        "| per request | " + " | ".join(f"`{after['results'][n]['path']}` before → after" for n in names) + " |",
        "|---|" + "---:|" * len(names),
    ]

    def row(label: str, value: Callable[[dict[str, Any]], float], fmt: str) -> None:
        cells = [
            f"{format(value(before['results'][n]), fmt)} → {format(value(after['results'][n]), fmt)}" for n in names
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    row("SQL queries", lambda r: len(r["queries"]), "d")
    row("connection health checks (WSGI)", lambda r: r.get("health_checks", 0.0), ".1f")
    row("wall time, median (ms)", lambda r: statistics.median(r["wall_ms"]), ".2f")
    row("CPU time, median (ms)", lambda r: statistics.median(r.get("cpu_ms") or [0.0]), ".2f")
    row("WSGI: wall time, median (ms)", lambda r: statistics.median(r.get("wsgi_wall_ms") or [0.0]), ".2f")
    row("WSGI: CPU time, median (ms)", lambda r: statistics.median(r.get("wsgi_cpu_ms") or [0.0]), ".2f")
    row("WSGI: CPU time, best (ms)", lambda r: min(r.get("wsgi_cpu_ms") or [0.0]), ".2f")
    keys: list[str] = []
    for n in names:
        for result in (before["results"][n], after["results"][n]):
            keys += [key for key in result["parts_ms"] if key not in keys]
    for key in keys:
        if all(max(r["results"][n]["parts_ms"].get(key, 0) for r in (before, after)) < 0.0005 for n in names):
            continue
        row(f"{key} (ms)", lambda r, key=key: r["parts_ms"].get(key, 0.0), ".3f")
    row("logging module, cProfile (ms)", lambda r: r["logging"]["ms"], ".3f")
    row("prometheus_client, cProfile (ms)", lambda r: r["prometheus"]["ms"], ".3f")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--requests", type=int, default=DEFAULT_REQUESTS, help="Seed the database to this many.")
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--redis-url", default=None, help="Redis for the cache (default: the load test's).")
    parser.add_argument("--json", type=Path, default=None, help="Also write the raw figures here.")
    parser.add_argument(
        "--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"), help="Print two runs' JSON side by side."
    )
    args = parser.parse_args()
    if args.compare:
        before, after = (json.loads(path.read_text()) for path in args.compare)
        print(comparison(before, after))
        return

    extra = {"REDIS_URL": args.redis_url} if args.redis_url else {}
    if args.redis_url:
        _common.REDIS_URL = args.redis_url  # the migrate and seed children too
    prepared = prepare(args.database, args.requests, log=lambda line: print(line, file=sys.stderr))
    os.environ.update(django_env(args.database, **extra))
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import django

    django.setup()
    results = measure(args.iterations, args.top)
    meta = {**machine(), "iterations": args.iterations, "requests": prepared["requests"]}
    print(markdown(results, meta))
    out = args.json or OUT / f"profile-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "results": results}, indent=1, default=str))
    print(f"\nRaw figures: {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
