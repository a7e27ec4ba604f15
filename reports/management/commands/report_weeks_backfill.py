"""Store the finished weeks' reports for the usual scopes (after an upgrade, or after loading data by hand)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db.models import F

from reports.models import StoredWeek
from reports.stored import report_weeks_refresh


class Command(BaseCommand):
    help = "Store the last N finished weeks' reports for the usual scopes; --restale first recomputes every copy."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--weeks", type=int, default=12, help="how many finished weeks back (default 12)")
        parser.add_argument(
            "--restale", action="store_true", help="recompute copies already stored too (data loaded without events)"
        )

    def handle(self, *args, weeks: int, restale: bool, **options) -> None:
        if weeks < 1:
            raise CommandError("--weeks must be at least 1.")
        if restale:
            StoredWeek.objects.update(stale=True, generation=F("generation") + 1)
        # No time budget: a backfill runs until every stale copy is stored.
        counts = report_weeks_refresh(weeks=weeks, budget_seconds=float("inf"))
        self.stdout.write(
            f"{counts['added']} added, {counts['computed']} computed, {counts['dropped']} dropped (vendor or "
            "environment gone)."
        )
