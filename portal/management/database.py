"""What `backup` and `restore` share: the configured database's connection, and the PostgreSQL client tools."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from django.db import connections


def database_of(alias: str) -> tuple[str, dict[str, Any]]:
    """The vendor ("postgresql", "sqlite") and settings of database `alias`."""
    if alias not in connections:
        raise CommandError(f"No database {alias!r} in DATABASES.")
    connection = connections[alias]
    if connection.vendor not in ("postgresql", "sqlite"):
        raise CommandError(f"Backups of {connection.vendor} databases are not supported.")
    return connection.vendor, connection.settings_dict


def describe(vendor: str, db: dict[str, Any]) -> str:
    """Which database, for messages; never the password."""
    if vendor == "sqlite":
        return f"SQLite database {db['NAME']}"
    return f"PostgreSQL database {db['NAME']!r} on {db['HOST'] or 'localhost'}:{db['PORT'] or 5432}"


def pg_environment(db: dict[str, Any]) -> dict[str, str]:
    """libpq variables for the client tools: the password stays out of the command line (and `ps`)."""
    env = {**os.environ}
    variables = {"PGHOST": db.get("HOST"), "PGPORT": db.get("PORT"), "PGUSER": db.get("USER"),
                 "PGPASSWORD": db.get("PASSWORD"), "PGDATABASE": db.get("NAME")}  # fmt: skip
    options = db.get("OPTIONS") or {}
    for option, variable in (("sslmode", "PGSSLMODE"), ("sslrootcert", "PGSSLROOTCERT"), ("passfile", "PGPASSFILE")):
        variables[variable] = options.get(option)
    env.update({name: str(value) for name, value in variables.items() if value})
    return env


def pg_tool(name: str) -> str:
    """`pg_dump`/`pg_restore` from PG_BIN_DIR (e.g. /usr/lib/postgresql/15/bin) when set, else from PATH.

    The tools must be at least as new as the server; Debian's /usr/bin wrappers pick the newest installed."""
    folder = os.environ.get("PG_BIN_DIR")
    path = str(Path(folder) / name) if folder else shutil.which(name)
    if not path or not Path(path).exists():
        raise CommandError(f"{name} not found; install the PostgreSQL client or set PG_BIN_DIR.")
    return path


def pg_run(command: list[str], db: dict[str, Any]) -> None:
    """Run a client tool against the configured server; its error output becomes the CommandError."""
    result = subprocess.run(command, env=pg_environment(db), capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise CommandError(f"{Path(command[0]).name} failed ({result.returncode}):\n{result.stderr.strip()}")


def sqlite_copy(source: str | Path, target: str | Path) -> None:
    """Copy SQLite database `source` over `target` with the online backup API: consistent even while the
    portal, the worker and beat are writing (a plain file copy of a WAL database is not)."""
    if not Path(source).is_file():
        raise CommandError(f"No SQLite database {source}.")
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
