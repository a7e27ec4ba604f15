"""Shared plumbing of the benchmark scripts: databases, the Django environment, the machine, RESULTS.md sections."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
OUT = ROOT / "bench" / "out"
RESULTS = ROOT / "bench" / "RESULTS.md"
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
REDIS_URL = "redis://127.0.0.1:6379/10"


def database_url(name: str) -> str:
    return f"postgres://{PG['user']}@{PG['host']}:{PG['port']}/{name}"


def connect(name: str = "postgres") -> psycopg.Connection:
    conn = psycopg.connect(dbname=name, **PG)
    conn.autocommit = True
    return conn


def database_ensure(name: str) -> bool:
    """Create the database unless it exists; True if it was created."""
    with closing(connect()) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cur.fetchone():
            return False
        cur.execute(f'CREATE DATABASE "{name}"')
    return True


def database_drop(name: str) -> None:
    with closing(connect()) as conn, conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_copy(source: str, copy: str) -> None:
    """`copy` made afresh as a file copy of `source` (no one may be connected to `source`)."""
    database_drop(copy)
    with closing(connect()) as conn, conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{source}" STRATEGY FILE_COPY')


def scalar(name: str, sql: str, params: list | None = None) -> object:
    with closing(connect(name)) as conn, conn.cursor() as cur:
        cur.execute(sql, params or [])
        row = cur.fetchone()
    return row[0] if row else None


def statement(name: str, sql: str) -> None:
    """Run one statement that returns nothing on database `name` (autocommit: VACUUM, CLUSTER, CHECKPOINT)."""
    with closing(connect(name)) as conn, conn.cursor() as cur:
        cur.execute(sql)


def request_count(name: str) -> int:
    """Requests in the database (0 before the first migrate)."""
    if not scalar(name, "SELECT to_regclass('requests_app_servicerequest') IS NOT NULL"):
        return 0
    return int(scalar(name, "SELECT count(*) FROM requests_app_servicerequest"))


def django_env(database: str, **extra: str) -> dict[str, str]:
    """The environment of a production-like Django process on `database`: base settings, DEBUG off, quiet logs."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings.base",
        DATABASE_URL=database_url(database),
        REDIS_URL=REDIS_URL,
        DEBUG="false",
        ALLOWED_HOSTS="127.0.0.1,testserver",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def manage(database: str, *args: str) -> None:
    """`manage.py <args>` on `database`, its output passed through."""
    subprocess.run([str(PYTHON), "manage.py", *args], cwd=ROOT, env=django_env(database), check=True)


def prepare(database: str, requests: int, *, log: callable = print) -> dict[str, object]:
    """Create, migrate and seed `database` to `requests` requests (reused when already there), then VACUUM ANALYZE."""
    created = database_ensure(database)
    started = datetime.now(UTC)
    manage(database, "migrate", "-v", "0")
    before = request_count(database)
    if before < requests:
        log(f"Seeding {database}: {before:,} → {requests:,} requests (COPY; minutes for a million)")
        manage(database, "seed_demo", "--requests", str(requests))
        documents_in_id_order(database, log=log)
    never_analyzed = not scalar(
        database,
        "SELECT coalesce(last_analyze, last_autoanalyze) IS NOT NULL FROM pg_stat_user_tables "
        "WHERE relname = 'requests_app_servicerequest'",
    )
    if created or before < requests or never_analyzed:
        vacuum_analyze(database, log=log)
    else:
        housekeeping_without_autovacuum(database, log=log)
    return {
        "database": database,
        "created": created,
        "seeded": max(0, requests - before),
        "prepare_seconds": round((datetime.now(UTC) - started).total_seconds(), 1),
        **dataset_summary(database),
    }


def documents_in_id_order(database: str, *, log: callable = print) -> None:
    """Lay the search documents out in id order, as a live desk keeps them (migration 0025's fillfactor: a rewritten
    document stays on its page; bench/layout_bench.py). The seed writes each batch's whole lives in one transaction,
    where no old version can be pruned before the next is written, and so scatters the documents as no desk writing
    one event at a time would (bench/RESULTS.md, session 21). About 30 s for 1,000,000."""
    log(f"CLUSTER the search documents of {database} in id order")
    statement(database, "CLUSTER requests_app_requestsearchdocument USING requests_app_requestsearchdocument_pkey")


def vacuum_analyze(database: str, *, log: callable = print) -> None:
    log(f"VACUUM ANALYZE {database}")
    statement(database, "VACUUM ANALYZE")


def housekeeping_without_autovacuum(database: str, *, log: callable = print) -> None:
    """VACUUM ANALYZE `database` if the server runs no autovacuum (this machine's CI configuration turns it off):
    what autovacuum would have done by then in production. Without it every run's writes stayed unvacuumed and
    unanalysed for the next: after four load tests the planner still thought `conversations_delivery` empty and
    read all 198,796 pending deliveries' index entries for each event's three (3 ms a filing, 0.2 after ANALYZE)."""
    if scalar(database, "SELECT current_setting('autovacuum')") == "off":
        vacuum_analyze(database, log=log)


def writes_settled(database: str, *, log: callable = print) -> None:
    """Write everything pending to disk before a timed run: a checkpoint (PostgreSQL's dirty buffers) and then the
    kernel's dirty pages (`sync`). Without it the run's copy of the database (a file copy of several GB) and the
    queue's top-up could still be on their way to disk while the first endpoints were measured. Not proven the cause,
    but the first full run on a new machine measured the queue page at p99 70 ms and the next at 31 ms, with nothing
    else running (bench/RESULTS.md, session 22)."""
    log(f"CHECKPOINT {database} and sync")
    statement(database, "CHECKPOINT")
    os.sync()


def dataset_summary(database: str) -> dict[str, object]:
    """Row counts and the open share of a seeded database (estimates are not good enough here: exact counts)."""
    with closing(connect(database)) as conn, conn.cursor() as cur:
        counts = {}
        for key, table in (
            ("requests", "requests_app_servicerequest"),
            ("events", "requests_app_requestevent"),
            ("clocks", "sla_requestclock"),
            ("ledger_entries", "sla_clockledgerentry"),
        ):
            cur.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 — fixed table names
            counts[key] = cur.fetchone()[0]
        cur.execute("SELECT state, count(*) FROM requests_app_servicerequest GROUP BY state ORDER BY state")
        counts["by_state"] = dict(cur.fetchall())
    return counts


def machine() -> dict[str, object]:
    """What the figures were measured on."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    dirty = bool(
        subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    )
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    pg = scalar("postgres", "SHOW server_version")
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit + (" (+ uncommitted changes)" if dirty else ""),
        "cores": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "postgresql": pg,
        # Other work on the machine shows here; it inflates p99 more than anything else.
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def results_section_write(title: str, body: str) -> None:
    """Replace (or append) the `## title` section of bench/RESULTS.md, leaving every other section as it is."""
    # Re-read right before writing: other benchmark scripts own other sections of the same file.
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmarks\n"
    heading = f"## {title}"
    section = f"{heading}\n\n{body.strip()}\n"
    start = text.find(heading + "\n")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + ("\n" + text[end + 1 :] if end != -1 else "")
    RESULTS.write_text(text.rstrip("\n") + "\n")


def django_setup(database: str | None = None) -> None:
    """Import Django in this process (the internal steps run in a child with `django_env` already set)."""
    if database:
        os.environ.update(django_env(database))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
