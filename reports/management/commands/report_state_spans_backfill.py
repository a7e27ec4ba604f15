"""Derive every request's state spans from its timeline (after an upgrade, or after loading events by hand)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from reports.spans import BACKFILL_BATCH, state_spans_backfill


class Command(BaseCommand):
    help = "Re-derive the state spans (time in each state) of every request from its timeline; safe to repeat."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--batch", type=int, default=BACKFILL_BATCH, help=f"request ids per transaction (default {BACKFILL_BATCH})"
        )

    def handle(self, *args, batch: int, **options) -> None:
        if batch < 1:
            raise CommandError("--batch must be at least 1.")

        def progress(last_id: int, spans: int) -> None:
            if options["verbosity"] > 1:
                self.stdout.write(f"  up to request id {last_id}: {spans:,} spans")

        result = state_spans_backfill(batch=batch, progress=progress)
        self.stdout.write(
            f"{result['spans']:,} spans for requests {result['first']}–{result['last']} in {result['seconds']:.1f} s."
        )
