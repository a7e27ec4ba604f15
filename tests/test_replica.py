"""Reports and /metrics read a real PostgreSQL streaming replica, and the primary when the replica lags or is down.

The test builds its own primary (initdb) and a streaming replica of it (pg_basebackup -R) from the machine's
PostgreSQL binaries on free ports, migrates the primary and files requests there, then runs the portal's code in a
subprocess with DATABASE_URL on the primary and DATABASE_REPLICA_URL on the replica. Which copy answered shows in
the figures: with replay paused on the replica, a change on the primary is invisible there.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.support.waiting import free_port, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("replica")]

ROOT = Path(__file__).resolve().parent.parent
BINARIES = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
DATABASE = "portico"
REQUESTS = 3

# What the portal's reports and /metrics count as open, through the same code a page or a scrape runs.
FIGURES = (
    "import re; from django.test import Client; from reports.selectors import report_dashboard; "
    "body = Client().get('/metrics', REMOTE_ADDR='127.0.0.1').content.decode(); "
    "scraped = sum(float(v) for v in re.findall(r'^portico_requests_open\\{.*\\} (\\S+)$', body, re.M)); "
    "print(int(scraped), sum(report_dashboard(user=None).open_by_state.values()))"
)


def _as_postgres(command: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; CI runs as root, a developer as themselves.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@dataclass
class Server:
    data: Path
    port: int

    def ctl(self, *args: str) -> None:
        log = self.data.parent / f"{self.data.name}.log"
        command = _as_postgres([f"{BINARIES[-1]}/pg_ctl", "-D", str(self.data), "-l", str(log), "-w", *args])
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stdout + result.stderr + (log.read_text() if log.exists() else "")

    def query(self, sql: str, database: str = "postgres") -> tuple:
        connection = psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=database)
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql)
                return cursor.fetchone() if cursor.description else ()
        finally:
            connection.close()

    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{DATABASE}"


def _manage(script: str, primary: Server, replica: Server | None, **env: str) -> list[int]:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings.test", "DATABASE_URL": primary.url(), **env}
    if replica is not None:
        environment["DATABASE_REPLICA_URL"] = replica.url()
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    last = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    return [int(word) for word in last.split() if word.lstrip("-").isdigit()]


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[Server, Server]]:
    if not BINARIES:
        pytest.fail("PostgreSQL's server binaries are missing (Debian's postgresql package)")
    # Not under pytest's own temporary folder: that is private to this user, and the servers run as postgres.
    folder = Path(tempfile.mkdtemp(prefix="portico-replica-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    primary, replica = Server(folder / "primary", free_port()), Server(folder / "replica", free_port())
    bin_dir = BINARIES[-1]
    initdb = [f"{bin_dir}/initdb", "-D", str(primary.data), "-U", "postgres", "--auth=trust", "--no-sync"]
    subprocess.run(_as_postgres(initdb), capture_output=True, check=True, timeout=120)
    settings = {
        "listen_addresses": "'127.0.0.1'",
        "port": primary.port,
        "unix_socket_directories": f"'{folder}'",
        "wal_level": "replica",
        "max_wal_senders": 4,
        "fsync": "off",
    }
    with (primary.data / "postgresql.conf").open("a") as conf:
        conf.writelines(f"{name} = {value}\n" for name, value in settings.items())
    started: list[Server] = []
    try:
        primary.ctl("start")
        started.append(primary)
        primary.query(f"CREATE DATABASE {DATABASE}")
        basebackup = [f"{bin_dir}/pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"]
        # A fast checkpoint: the default spread one paces itself over checkpoint_completion_target (90 s here).
        basebackup += ["-D", str(replica.data), "-R", "-X", "stream", "--no-sync", "--checkpoint=fast"]
        subprocess.run(_as_postgres(basebackup), capture_output=True, check=True, timeout=120)
        with (replica.data / "postgresql.auto.conf").open("a") as conf:
            conf.write(f"port = {replica.port}\n")
        replica.ctl("start")
        started.append(replica)

        # The schema and a few open requests, written on the primary by the portal's own code.
        seed = (
            "from conftest import build_world; from requests_app.choices import RequestState; "
            "from requests_app.testing.workflow import walk_to; world = build_world(); "
            f"[walk_to(world, RequestState.QUEUED) for _ in range({REQUESTS})]; print(0)"
        )
        migrate = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings.test", "DATABASE_URL": primary.url()},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert migrate.returncode == 0, migrate.stderr[-3000:]
        _manage(seed, primary, None)
        yield primary, replica
    finally:
        for server in reversed(started):
            server.ctl("stop", "-m", "immediate")
        shutil.rmtree(folder, ignore_errors=True)


def _caught_up(primary: Server, replica: Server) -> bool:
    (target,) = primary.query("SELECT pg_current_wal_lsn()::text")
    (done,) = replica.query(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn")
    return bool(done)


def test_reports_and_metrics_follow_the_replica_then_the_primary_when_it_lags_or_dies(servers):
    primary, replica = servers
    assert wait_until(lambda: _caught_up(primary, replica), seconds=60)
    assert _manage(FIGURES, primary, replica) == [REQUESTS, REQUESTS]

    # Replay stops on the replica; on the primary every request is cancelled.
    replica.query("SELECT pg_wal_replay_pause()")
    primary.query("UPDATE requests_app_servicerequest SET state = 'cancelled'", database=DATABASE)
    (written,) = primary.query("SELECT pg_current_wal_lsn()::text")
    assert wait_until(lambda: replica.query(f"SELECT pg_last_wal_receive_lsn() >= '{written}'::pg_lsn")[0])

    # Within the allowed lag the figures come from the replica: still open there.
    assert _manage(FIGURES, primary, replica, PORTICO_REPLICA_MAX_LAG="3600") == [REQUESTS, REQUESTS]
    # Further behind than allowed: from the primary.
    lag = "SELECT extract(epoch FROM now() - pg_last_xact_replay_timestamp())"
    assert wait_until(lambda: float(replica.query(lag)[0]) > 1)
    assert _manage(FIGURES, primary, replica, PORTICO_REPLICA_MAX_LAG="1") == [0, 0]

    # The replica gone: from the primary, without an error.
    replica.ctl("stop", "-m", "immediate")
    try:
        assert _manage(FIGURES, primary, replica, PORTICO_REPLICA_MAX_LAG="3600") == [0, 0]
    finally:
        replica.ctl("start")
