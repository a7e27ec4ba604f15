"""`manage.py backup --output FILE`: a consistent dump of the configured database."""

from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.management.database import database_of, describe, pg_run, pg_tool, sqlite_copy


class Command(BaseCommand):
    help = (
        "Dump the configured database to FILE: PostgreSQL with pg_dump --format=custom (restore it with "
        "`manage.py restore`), SQLite with the online backup API. Safe while the portal is running."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", required=True, type=Path, help="The dump file to write.")
        parser.add_argument("--database", default="default", help="Which DATABASES entry (default: default).")

    def handle(self, *args: object, **options: object) -> None:
        vendor, db = database_of(str(options["database"]))
        output = Path(str(options["output"])).resolve()
        if not output.parent.is_dir():
            raise CommandError(f"No directory {output.parent}.")
        # Written beside the target and renamed at the end: a failed dump never leaves a file that looks complete.
        partial = output.with_name(f".{output.name}.partial")
        started = time.monotonic()
        try:
            if vendor == "postgresql":
                pg_run([pg_tool("pg_dump"), "--format=custom", f"--file={partial}"], db)
            else:
                partial.unlink(missing_ok=True)
                sqlite_copy(db["NAME"], partial)
            partial.replace(output)
        finally:
            partial.unlink(missing_ok=True)
        self.stdout.write(
            self.style.SUCCESS(
                f"Backed up {describe(vendor, db)} to {output} "
                f"({output.stat().st_size:,} bytes, {time.monotonic() - started:.1f} s)."
            )
        )
