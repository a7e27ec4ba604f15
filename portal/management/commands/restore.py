"""`manage.py restore --input FILE --yes`: replace the configured database's contents with a backup."""

from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from portal.management.database import database_of, describe, pg_run, pg_tool, sqlite_copy


class Command(BaseCommand):
    help = (
        "Restore a file written by `manage.py backup` into the configured database, replacing what is there "
        "(PostgreSQL: pg_restore --clean --if-exists in one transaction). Refuses to run without --yes. Stop the "
        "web, worker and beat processes first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--input", required=True, type=Path, help="A dump written by `manage.py backup`.")
        parser.add_argument("--yes", action="store_true", help="Yes, replace the database's contents.")
        parser.add_argument("--database", default="default", help="Which DATABASES entry (default: default).")

    def handle(self, *args: object, **options: object) -> None:
        alias = str(options["database"])
        vendor, db = database_of(alias)
        source = Path(str(options["input"])).resolve()
        if not source.is_file():
            raise CommandError(f"No backup file {source}.")
        if not options["yes"]:
            raise CommandError(
                f"This replaces every table of {describe(vendor, db)} with {source}. Run again with --yes."
            )
        connections[alias].close()  # our own connection must not hold locks the restore needs
        started = time.monotonic()
        if vendor == "postgresql":
            # One transaction: a restore that fails half-way leaves the database as it was. No owners or grants
            # from the dump: the objects belong to the configured user, as the portal expects.
            pg_run(
                [
                    pg_tool("pg_restore"), "--clean", "--if-exists", "--single-transaction", "--exit-on-error",
                    "--no-owner", "--no-privileges", f"--dbname={db['NAME']}", str(source),
                ],
                db,
            )  # fmt: skip
        else:
            sqlite_copy(source, db["NAME"])
        self.stdout.write(
            self.style.SUCCESS(f"Restored {describe(vendor, db)} from {source} ({time.monotonic() - started:.1f} s).")
        )
