"""Benchmark: the weekly SLA report over N requests (default 1,000,000) in PostgreSQL.

Creates a dedicated database (dropped first if it exists), migrates it with `manage.py migrate`, seeds three years
of requests with their four SLA/OLA clocks and their timeline events straight into the tables with COPY, then
times `report_weekly` (best of 5, after one warm-up run) for the whole organisation, one vendor (its lead) and one
environment and priority: the current week computed with the previous week's stored copy current and without it
(counted in full), and the previous week read from its stored copy (reports/stored.py); then writes the figures to
bench/RESULTS.md under "Weekly report".

    .venv/bin/python bench/report_bench.py                    # 1,000,000 requests
    .venv/bin/python bench/report_bench.py --requests 50000 --keep
    .venv/bin/python bench/report_bench.py --database portico_bench --reuse   # time a kept database again
    .venv/bin/python bench/report_bench.py --database portico_bench_load --reuse --now now --no-results
        # the load test's data set (seed_demo): its users pm and lead, the week of the wall clock
    .venv/bin/python bench/report_bench.py --database COPY --reuse --now now --no-results --burst 500
        # … after 500 pick-ups of old queued requests (writes: a copy made with `createdb -T portico_bench_load`)

Not a test: speed targets live here, not in the test suite.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
SERVER = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
NOW = datetime(2026, 11, 25, 6, 30, tzinfo=UTC)  # Wed 25 Nov 2026 12:00 in Kolkata
SPAN = timedelta(days=3 * 365)
CHUNK = 100_000
PRIORITIES = [
    ("P0", 2, 4, 8, True),
    ("P1", 8, 12, 24, True),
    ("P2", 50, 24, 72, False),
    ("P3", 30, 72, 240, False),
    ("P4", 10, 120, 504, False),
]
TYPES = [
    "InfraProvision",
    "Troubleshooting",
    "NewFeature",
    "AccessOps",
    "GitOps",
    "DeploymentSupport",
    "Release",
    "CIPipeline",
    "ProductionIssue",
]
H = 3600.0


def database_url(name: str) -> str:
    return f"postgres://{SERVER['user']}@{SERVER['host']}:{SERVER['port']}/{name}"


def recreate_database(name: str) -> None:
    connection = psycopg.connect(dbname="postgres", **SERVER)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()


def migrate(name: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url(name), "DJANGO_SETTINGS_MODULE": "portal.settings.base"}
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)


def setup_django(name: str) -> None:
    os.environ["DATABASE_URL"] = database_url(name)
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings.base"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def seed_reference_data() -> dict:
    """Environments, vendors, a team, users: the small tables, through the ORM."""
    from requests_app.roles import ensure_role_groups
    from requests_app.tests import factories as f

    ensure_role_groups()
    environments = [f.EnvironmentFactory(code=code) for code in ("internal", "punjab", "ap", "bihar")]
    vendors = [
        f.VendorFactory(slug=slug, name=name)
        for slug, name in (("optit", "OptIT"), ("gwl", "GWL"), ("macroskies", "MacroSkies"))
    ]
    engineers = {
        v.pk: [f.VendorEngineerFactory(username=f"{v.slug}-eng-{i}", vendor=v).pk for i in range(10)] for v in vendors
    }
    lead = f.VendorLeadFactory(username="optit-lead", vendor=vendors[0])
    requester = f.UserFactory(username="bench-requester")
    team = f.TeamFactory(slug="bench-team", members=[requester])
    pm = f.ProgramManagerFactory(username="bench-pm")
    return {
        "environments": [e.pk for e in environments],
        "vendors": [v.pk for v in vendors],
        "engineers": engineers,
        "requester": requester.pk,
        "team": team.pk,
        "pm": pm,
        "lead": lead,
    }


def reference_data() -> dict:
    """The users a kept database was seeded with: this script's, or `seed_demo`'s (the load test's data set)."""
    from portal.models import User

    def first(*usernames: str):
        return User.objects.filter(username__in=usernames).order_by("-username").first()

    return {"pm": first("bench-pm", "pm"), "lead": first("optit-lead", "lead")}


def table_counts(name: str) -> dict[str, int]:
    connection = psycopg.connect(dbname=name, **SERVER)
    with connection.cursor() as cursor:
        counts = {}
        for key, table in (
            ("requests", "requests_app_servicerequest"),
            ("clocks", "sla_requestclock"),
            ("events", "requests_app_requestevent"),
        ):
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608  a constant table name
            counts[key] = cursor.fetchone()[0]
    connection.close()
    return counts


def ts(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")


def iv(seconds: float) -> str:
    return f"{seconds:.0f} seconds"


def generate(n: int, ref: dict, rng: random.Random):
    """Yield (request line, [clock lines], [event lines]) for n requests; timestamps as epoch seconds."""
    now = NOW.timestamp()
    weights = [p[1] for p in PRIORITIES]
    clock_id = event_id = 0
    for pk in range(1, n + 1):
        priority, _, response_goal, resolution_goal, round_the_clock = rng.choices(PRIORITIES, weights)[0]
        # Ids grow with time, as they do in production, so a week's rows sit together on disk.
        created = now - SPAN.total_seconds() * (1 - (pk - rng.random()) / n)
        environment = rng.choice(ref["environments"])
        kind = rng.choice(TYPES)
        fate = rng.random()
        triaged = responded = resolved = closed = None
        vendor = assignee = None
        reopened = False
        working = 1.0 if round_the_clock else 0.35  # rough share of wall time that is working time
        if fate < 0.04:
            closed = created + rng.uniform(0.2, 24) * H
            state = "rejected"
        else:
            triaged = created + rng.uniform(0.1, 4) * H
            vendor = rng.choice(ref["vendors"])
            responded = triaged + rng.expovariate(1 / (response_goal * 0.7)) * H
            assignee = rng.choice(ref["engineers"][vendor])
            resolved = responded + rng.expovariate(1 / (resolution_goal * 0.8)) * H
            closed = resolved + rng.uniform(1, 5) * 24 * H
            reopened = rng.random() < 0.01
            if fate < 0.06:
                closed = triaged + rng.uniform(1, 48) * H
                if responded > closed:
                    responded, assignee = None, None
                resolved = None
                state = "cancelled"
            else:
                state = "closed"
        # Cut the story at NOW: whatever had not happened yet has not happened, and the state follows.
        triaged, responded, resolved, closed = (
            t if t is not None and t <= now else None for t in (triaged, responded, resolved, closed)
        )
        if closed is None:
            state = "resolved" if resolved else "in_progress" if responded else "queued" if triaged else "submitted"
        if responded is None:
            assignee = None
        if triaged is None:
            vendor = None
        if state == "in_progress" and rng.random() < 0.3:
            state = rng.choice(["waiting_on_requester", "blocked"])
        row = [
            pk, f"REQ-{pk:07d}", f"Bench request {pk}", "Seeded for the report benchmark.", kind, priority, environment,
            r"\N", ref["requester"], ref["team"], vendor or r"\N", assignee or r"\N", "f", r"\N", state, "", "",
            ts(created + response_goal * H), ts(created + resolution_goal * H),
            ts(responded) if responded else r"\N", ts(resolved) if resolved else r"\N", ts(created), ts(now),
            ts(triaged) if triaged else r"\N", ts(closed) if closed else r"\N", int(reopened),
        ]  # fmt: skip
        clocks = []
        if triaged is not None:
            for measure, goal, met in (
                ("response", response_goal, responded),
                ("resolution", resolution_goal, resolved),
            ):
                due = created + goal * H / working if not round_the_clock else created + goal * H
                ended = closed if met is None and state in ("cancelled",) else None
                breached = (met is not None and met > due) or (ended is not None and ended > due)
                running = met is None and ended is None
                paused = running and state == "waiting_on_requester"
                elapsed = (met - created) * working if met else (0 if running else (ended - created) * working)
                for clock in ("sla", "ola"):
                    clock_id += 1
                    clocks.append(
                        "\t".join(
                            str(x)
                            for x in (
                                clock_id, pk, clock, measure, vendor if clock == "ola" else r"\N", r"\N", iv(goal * H),
                                "t" if round_the_clock else "f", ts(created), ts(created) if running else r"\N",
                                iv(elapsed), ts(now - H) if paused else r"\N", iv(0),
                                ts(created + 0.75 * (due - created)), ts(due), ts(met) if met else r"\N",
                                ts(ended) if ended else r"\N", "t" if breached else "f", r"\N", r"\N", ts(now),
                            )
                        )
                    )  # fmt: skip
        events = []
        story = [("filed", created, "", "submitted", "")]
        if state == "rejected":
            story.append(("reject", closed, "submitted", "rejected", "Duplicate of an earlier request"))
        if triaged:
            story.append(("triage", triaged, "submitted", "queued", ""))
        if responded:
            story.append(("pick_up", responded, "queued", "in_progress", ""))
            if rng.random() < 0.15:
                story.append(("comment", responded + 600, "", "", "Working on it; waiting for cluster quota"))
        if resolved:
            story.append(("resolve", resolved, "in_progress", "resolved", "Done"))
            if reopened:
                story.append(("reopen", resolved + 3600, "resolved", "in_progress", "Still failing"))
        if state == "cancelled":
            story.append(("cancel", closed, "queued", "cancelled", "No longer needed"))
        elif closed and state == "closed":
            story.append(("confirm", closed, "resolved", "closed", ""))
        for kind_, at, before, after, message in story:
            event_id += 1
            events.append(f"{event_id}\t{pk}\t\\N\t{kind_}\t{before}\t{after}\t{message}\tf\t{{}}\t{ts(at)}")
        yield "\t".join(str(x) for x in row), clocks, events


REQUEST_COLUMNS = (
    "id, reference, title, description, request_type, priority, environment_id, stack_id, requester_id, team_id, "
    "vendor_id, assignee_id, affects_production, needed_by, state, resolution_note, jira_key, response_due_at, "
    "resolution_due_at, responded_at, resolved_at, created_at, updated_at, triaged_at, closed_at, reopen_count"
)
CLOCK_COLUMNS = (
    "id, service_request_id, clock, measure, vendor_id, policy_id, goal, round_the_clock, started_at, running_since, "
    "elapsed, paused_since, paused, at_risk_at, due_at, met_at, ended_at, breached, at_risk_flagged_at, "
    "breached_flagged_at, updated_at"
)
EVENT_COLUMNS = "id, service_request_id, actor_id, kind, from_state, to_state, message, internal, payload, created_at"


EMPTY_BY_TYPE = {"jsonb": "{}", "json": "{}", "boolean": "f", "interval": "0", "text": "", "character varying": ""}


def other_required_columns(cursor, table: str, supplied: str) -> list[tuple[str, str]]:
    """NOT NULL columns without a database default that the seed does not fill (fields other apps add later),
    each with an empty value of its type, so the benchmark keeps working as the models grow."""
    cursor.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = %s AND is_nullable = 'NO' AND column_default IS NULL",
        [table],
    )
    known = {column.strip() for column in supplied.split(",")}
    return [(column, EMPTY_BY_TYPE.get(kind, "0")) for column, kind in cursor.fetchall() if column not in known]


def copy_all(name: str, n: int, ref: dict, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    connection = psycopg.connect(dbname=name, **SERVER)
    counts = {"requests": 0, "clocks": 0, "events": 0}
    buffers = {key: io.StringIO() for key in counts}
    supplied = {
        "requests": ("requests_app_servicerequest", REQUEST_COLUMNS),
        "clocks": ("sla_requestclock", CLOCK_COLUMNS),
        "events": ("requests_app_requestevent", EVENT_COLUMNS),
    }
    tables, suffixes = {}, {}
    with connection.cursor() as cursor:
        for key, (table, columns) in supplied.items():
            extra = other_required_columns(cursor, table, columns)
            tables[key] = f"{table} ({', '.join([columns, *(c for c, _ in extra)])})"
            suffixes[key] = "".join(f"\t{value}" for _, value in extra)
            if extra:
                print(f"  {table}: also filling {[c for c, _ in extra]}", flush=True)

    def flush() -> None:
        with connection.cursor() as cursor:
            for key, buffer in buffers.items():  # requests first: the others point at them
                with cursor.copy(f"COPY {tables[key]} FROM STDIN") as copy:
                    copy.write(buffer.getvalue())
                buffers[key] = io.StringIO()
        connection.commit()

    for index, (request_line, clock_lines, event_lines) in enumerate(generate(n, ref, rng), start=1):
        buffers["requests"].write(request_line + suffixes["requests"] + "\n")
        for line in clock_lines:
            buffers["clocks"].write(line + suffixes["clocks"] + "\n")
        for line in event_lines:
            buffers["events"].write(line + suffixes["events"] + "\n")
        counts["requests"] += 1
        counts["clocks"] += len(clock_lines)
        counts["events"] += len(event_lines)
        if index % CHUNK == 0:
            flush()
            print(f"  {index:,} requests", flush=True)
    flush()
    with connection.cursor() as cursor:
        for table in ("requests_app_servicerequest", "sla_requestclock", "requests_app_requestevent"):
            # Table names are the constants just above, never input.
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")  # noqa: S608
    connection.commit()
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    connection.close()
    return counts


def best_of(function, runs: int = 5) -> tuple[float, list[float]]:
    function()  # warm-up: connection, permission cache, first plans
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        timings.append(time.perf_counter() - started)
    return min(timings), timings


SCOPES = {
    "organisation": lambda ref: {"user": ref["pm"]},
    "one vendor (vendor lead)": lambda ref: {"user": ref["lead"]},
    "one environment and priority": lambda ref: {"user": ref["pm"], "environment": "punjab", "priority": "P2"},
}


def pick_up_burst(count: int, before: datetime) -> dict[str, float]:
    """Pick up (or, in progress, resolve) `count` of the oldest queued or in-progress requests filed before `before`
    (the stored week's end) through the services, as the load test's engineers do: work done now that used to
    restale every stored week since each request was filed. Returns how many, and the seconds taken."""
    from portal.models import User
    from requests_app import services
    from requests_app.choices import RequestState, VendorRole
    from requests_app.models import ServiceRequest

    engineers = {}
    for user in User.objects.filter(vendor__isnull=False, vendor_role=VendorRole.ENGINEER, is_active=True):
        engineers.setdefault(user.vendor_id, user)
    working = ServiceRequest.objects.filter(
        state__in=(RequestState.QUEUED, RequestState.IN_PROGRESS), created_at__lt=before, vendor_id__in=list(engineers)
    ).order_by("created_at")[:count]
    started = time.perf_counter()
    done = 0
    for service_request in working:
        if service_request.state == RequestState.QUEUED:
            services.request_pick_up(service_request, actor=engineers[service_request.vendor_id])
        else:  # no queued one is that old in seed_demo's data: its engineer resolves it instead
            engineer = service_request.assignee or engineers[service_request.vendor_id]
            services.request_resolve(service_request, actor=engineer, reason="Done (benchmark)")
        done += 1
    return {"picked up": done, "seconds": time.perf_counter() - started}


def timings(ref: dict, now: datetime, burst: int = 0) -> dict[str, tuple[float, list[float]]]:
    """The current week (the week of `now`) computed as the page computes it, with the previous week's stored copy
    current (the usual state: the beat task stores it), without stored weeks (everything is counted) and with the
    previous week's copy stale but the week before's current (a late change restaled the one and the task has not
    run yet: the previous week is counted); then the previous week read from its stored copy. The clock is held at
    `now` for the stored copies (stored by a first read, outside the timing). `burst`: that many old queued requests
    are picked up after the copies are stored (the database is written: time a copy), and how many copies that
    restaled is printed."""
    import time_machine
    from django.test import override_settings

    from reports.models import StoredWeek
    from reports.periods import week_containing
    from reports.selectors import report_weekly

    current = week_containing(now, tz="Asia/Kolkata")
    past = current.shifted(-1).label
    results: dict[str, tuple[float, list[float]]] = {}
    before = current.shifted(-2).label
    with time_machine.travel(now, tick=True):
        for scope in SCOPES.values():
            report_weekly(week=before, **scope(ref))  # the week before it too, as the beat task stores every week
            report_weekly(week=past, **scope(ref))  # computes and stores the copy
        if burst:
            done = pick_up_burst(burst, current.shifted(-1).end)
            stale = StoredWeek.objects.filter(week=past, stale=True).count()
            stored = StoredWeek.objects.filter(week=past).count()
            print(
                f"{done['picked up']} old open requests picked up or resolved in {done['seconds']:.1f} s; "
                f"{stale} of {stored} stored copies of {past} stale after it",
                flush=True,
            )
        for label, scope in SCOPES.items():
            results[f"current week {current.label}, previous week stored: {label}"] = best_of(
                lambda scope=scope: report_weekly(week=current.label, now=now, **scope(ref))
            )
        with override_settings(PORTICO_REPORT_STORED_WEEKS=False):
            for label, scope in SCOPES.items():
                results[f"current week {current.label}, counted in full: {label}"] = best_of(
                    lambda scope=scope: report_weekly(week=current.label, now=now, **scope(ref))
                )
        # A late change restaled the previous week's copies (and no earlier week's): the trends' weeks up to the
        # week before come from its copy, the previous week is counted.
        StoredWeek.objects.filter(week=past).update(stale=True)
        for label, scope in SCOPES.items():
            results[f"current week {current.label}, previous week's copy stale, {before}'s current: {label}"] = best_of(
                lambda scope=scope: report_weekly(week=current.label, now=now, **scope(ref))
            )
        for scope in SCOPES.values():
            report_weekly(week=past, **scope(ref))  # stored again
        for label, scope in SCOPES.items():
            results[f"past week {past}, stored copy: {label}"] = best_of(
                lambda scope=scope: report_weekly(week=past, **scope(ref))
            )
    return results


def write_results(section: str) -> None:
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmarks\n"
    start = text.find("## Weekly report")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1 :] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text.rstrip("\n") + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--database", default="portico_bench")
    parser.add_argument("--seed", type=int, default=47)
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards (default: drop it).")
    parser.add_argument("--no-results", action="store_true", help="Do not write bench/RESULTS.md.")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="Time a database kept by an earlier --keep run, or the load test's (seed_demo's) data set; never dropped.",
    )
    parser.add_argument(
        "--now",
        default=NOW.isoformat(),
        help="The instant the current week is read at (ISO 8601, or 'now' for the wall clock, as for seed_demo's "
        "data); default: where this script's seed ends.",
    )
    parser.add_argument(
        "--burst",
        type=int,
        default=0,
        help="Pick up this many old queued requests (filed before the previous week ended) after storing its copies, "
        "before timing: writes to the database, so run it on a copy.",
    )
    args = parser.parse_args()
    now = datetime.now(UTC) if args.now == "now" else datetime.fromisoformat(args.now)

    started = time.perf_counter()
    if args.reuse:
        setup_django(args.database)
        ref = reference_data()
        counts = table_counts(args.database)
        seeded = None
    else:
        print(f"Creating and migrating {args.database} …", flush=True)
        recreate_database(args.database)
        migrate(args.database)
        setup_django(args.database)
        ref = seed_reference_data()
        print(f"Seeding {args.requests:,} requests with COPY …", flush=True)
        counts = copy_all(args.database, args.requests, ref, args.seed)
        seeded = time.perf_counter() - started
        print(f"Seeded {counts} in {seeded:.0f} s", flush=True)

    from django.db import connection

    from reports.periods import week_containing
    from reports.selectors import report_weekly

    week = week_containing(now, tz="Asia/Kolkata").label
    whole = report_weekly(user=ref["pm"], week=week, now=now)
    results = timings(ref, now, args.burst)
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        version = cursor.fetchone()[0].split(" on ")[0]
    for label, (best, runs) in results.items():
        print(f"{label}: best {best * 1000:.0f} ms of {[round(t * 1000) for t in runs]}")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    command = f"--database {args.database} --reuse --now {args.now}" if args.reuse else f"--requests {args.requests}"
    command += f" --burst {args.burst}" if args.burst else ""
    lines = [
        f"`bench/report_bench.py {command}` — `report_weekly` for {week} as of {now:%Y-%m-%d %H:%M} UTC "
        f"(Asia/Kolkata), best of 5 after a warm-up run, on {os.cpu_count()} CPUs, {version}, "
        f"Python {platform.python_version()}; commit {commit}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        f"Data `{args.database}`: {counts['requests']:,} requests, {counts['clocks']:,} SLA/OLA clocks, "
        f"{counts['events']:,} timeline events"
        + (f", seeded with COPY in {seeded:.0f} s." if seeded else " (kept from an earlier run).")
        + f" The week so far: {whole.summary.created:,} created, {whole.summary.resolved:,} resolved, backlog "
        f"{whole.summary.backlog:,}, {whole.breaches_total:,} SLA breaches.",
        "",
        "| report | best | all runs (ms) |",
        "| --- | ---: | --- |",
    ]
    for label, (best, runs) in results.items():
        lines.append(f"| {label} | {best * 1000:.0f} ms | {', '.join(str(round(t * 1000)) for t in runs)} |")
    lines += ["", f"Load average when the timings ended: {load} (1/5/15 min); other work on the machine slows runs."]
    print("\n".join(lines))
    if not args.no_results:
        write_results("\n".join(["## Weekly report", "", *lines, ""]))
        print(f"Wrote {RESULTS.relative_to(ROOT)}")
    connection.close()
    if not args.keep and not args.reuse:
        drop = psycopg.connect(dbname="postgres", **SERVER)
        drop.autocommit = True
        with drop.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        drop.close()


if __name__ == "__main__":
    main()
