"""A disaster-recovery drill: `manage.py backup`, drop the database, `manage.py restore`, and nothing is missing.

Everything runs as the operator would run it: management commands in subprocesses, against a scratch database
of its own on the test server (never the pytest database), created, migrated and seeded here, dropped at the end.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from django.conf import settings
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
SERVER = settings.DATABASES["default"]


def _manage(*args: str, database_url: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings.test", "DATABASE_URL": database_url}
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    if check:
        assert result.returncode == 0, f"manage.py {' '.join(args)}:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result


def _connect(dbname: str) -> Any:
    connection = psycopg.connect(
        dbname=dbname,
        host=SERVER["HOST"] or "127.0.0.1",
        port=SERVER["PORT"] or 5432,
        user=SERVER["USER"] or None,
        password=SERVER["PASSWORD"] or None,
    )
    connection.autocommit = True  # CREATE/DROP DATABASE cannot run in a transaction
    return connection


def _server(statement: sql.Composable) -> None:
    connection = _connect("postgres")
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()


def _snapshot(dbname: str) -> dict[str, Any]:
    """Row count of every table, every sequence's position, and the latest audit event."""
    connection = _connect(dbname)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
            tables = [name for (name,) in cursor.fetchall()]
            counts = {}
            for table in tables:
                cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
                counts[table] = cursor.fetchone()[0]
            cursor.execute("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'")
            sequences = dict(cursor.fetchall())
            latest = None
            if "requests_app_requestevent" in tables:
                cursor.execute(
                    "SELECT id, kind, created_at FROM requests_app_requestevent ORDER BY created_at DESC, id DESC "
                    "LIMIT 1"
                )
                latest = cursor.fetchone()
    finally:
        connection.close()
    return {"counts": counts, "sequences": sequences, "latest_event": latest}


@pytest.fixture
def scratch() -> Iterator[tuple[str, str]]:
    """A new, empty database (name, URL) on the test server; dropped afterwards whatever happens."""
    if SERVER["ENGINE"] not in {"django.db.backends.postgresql", "portal.postgres"}:
        pytest.skip("the drill runs against PostgreSQL")
    name = f"portico_drill_{uuid.uuid4().hex[:10]}"
    credentials = quote(SERVER["USER"] or "") + (f":{quote(SERVER['PASSWORD'])}" if SERVER["PASSWORD"] else "")
    url = f"postgres://{credentials}@{SERVER['HOST'] or '127.0.0.1'}:{SERVER['PORT'] or 5432}/{name}"
    _server(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield name, url
    finally:
        _server(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.mark.postgres
def test_backup_drop_restore_gives_back_every_row_and_the_latest_audit_event(scratch, tmp_path):
    name, url = scratch
    _manage("migrate", "--no-input", "-v", "0", database_url=url)
    _manage("seed_demo", "--requests", "50", database_url=url)
    before = _snapshot(name)
    assert before["counts"]["requests_app_servicerequest"] == 50
    assert before["counts"]["requests_app_requestevent"] > 50
    assert before["latest_event"] is not None
    dump = tmp_path / "portico.dump"

    backed_up = _manage("backup", "--output", str(dump), database_url=url)
    assert "Backed up PostgreSQL database" in backed_up.stdout
    assert dump.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
    assert not list(tmp_path.glob(".*.partial"))

    # The disaster: the database is gone; the replacement is empty.
    _server(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
    _server(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    assert _snapshot(name) == {"counts": {}, "sequences": {}, "latest_event": None}

    refused = _manage("restore", "--input", str(dump), database_url=url, check=False)
    assert refused.returncode != 0
    assert "--yes" in refused.stderr
    assert _snapshot(name)["counts"] == {}  # refusing touched nothing

    restored = _manage("restore", "--input", str(dump), "--yes", database_url=url)
    assert "Restored PostgreSQL database" in restored.stdout

    after = _snapshot(name)
    assert after["counts"] == before["counts"]
    assert after["sequences"] == before["sequences"]  # new rows will not collide with restored ones
    assert after["latest_event"] == before["latest_event"]
    # The portal itself sees a database that is up to date with its migrations.
    assert "No planned migration operations" in _manage("migrate", "--plan", database_url=url).stdout


def test_sqlite_backup_and_restore_use_the_online_backup_api(tmp_path):
    database = tmp_path / "portico.sqlite3"
    writer = sqlite3.connect(database)
    writer.execute("PRAGMA journal_mode=WAL")  # as the embedded default runs: rows may sit in the WAL file
    writer.execute("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT)")
    writer.executemany("INSERT INTO note (body) VALUES (?)", [("one",), ("two",), ("three",)])
    writer.commit()
    url = f"sqlite:///{database}"
    dump = tmp_path / "backup.sqlite3"

    _manage("backup", "--output", str(dump), database_url=url)
    writer.execute("DELETE FROM note WHERE body = 'two'")
    writer.commit()
    writer.close()
    refused = _manage("restore", "--input", str(dump), database_url=url, check=False)
    assert (refused.returncode, "--yes" in refused.stderr) == (1, True)
    _manage("restore", "--input", str(dump), "--yes", database_url=url)

    reader = sqlite3.connect(database)
    try:
        assert [body for (body,) in reader.execute("SELECT body FROM note ORDER BY id")] == ["one", "two", "three"]
    finally:
        reader.close()
