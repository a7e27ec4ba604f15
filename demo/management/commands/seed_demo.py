"""`manage.py seed_demo`: the demo world and ~200 requests in every state, or millions for benchmarks."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from demo import seed, world
from portal.models import User
from requests_app.models import ServiceRequest


class Command(BaseCommand):
    help = (
        "Create the demo environments, stacks, vendors, teams and users (one login per role, password "
        f"'{world.DEMO_PASSWORD}'), routing rules, and requests with their history. Idempotent: reference data is "
        "updated in place and requests are only topped up to --requests."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--requests", type=int, default=200, help="Make sure at least this many requests exist (default 200)."
        )
        parser.add_argument(
            "--reset", action="store_true", help="Delete every request, event and notification first (demo only!)."
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing if the database already has users (for `make run`)."
        )
        parser.add_argument("--logins", action="store_true", help="Only print the demo logins and exit.")
        parser.add_argument("--seed", type=int, default=2026, help="Random seed, for repeatable data sets.")
        parser.add_argument("--batch-size", type=int, default=20_000, help="Requests written per transaction.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["logins"]:
            self._logins()
            return
        if options["if_empty"] and User.objects.exists():
            self.stdout.write("The database already has users; not seeding (drop --if-empty to top it up).")
            return
        started = time.monotonic()
        if options["reset"]:
            seed.demo_requests_wipe()
            self.stdout.write("Removed every request, event and notification.")
        demo_world = world.demo_world_ensure()
        missing = max(0, int(options["requests"]) - ServiceRequest.objects.count())
        if missing:
            batch = int(options["batch_size"])
            every = batch * max(1, missing // (batch * 20))  # about twenty progress lines, whatever the size

            def progress(done: int) -> None:
                if missing > 10_000 and (done % every == 0 or done == missing):
                    self.stdout.write(f"  {done:,}/{missing:,} requests ({time.monotonic() - started:.0f} s)")
                    self.stdout.flush()

            seed.demo_requests_generate(
                demo_world,
                count=missing,
                seed=int(options["seed"]),
                batch_size=int(options["batch_size"]),
                progress=progress,
            )
        self._summary(generated=missing, seconds=time.monotonic() - started)

    def _summary(self, *, generated: int, seconds: float) -> None:
        summary = seed.demo_summary()
        self.stdout.write(self.style.SUCCESS(f"Seeded in {seconds:.1f} s: {generated:,} new requests."))
        self.stdout.write(
            f"  {summary['environments']} environments, {summary['vendors']} vendors, {summary['teams']} teams, "
            f"{summary['users']} users, {summary['requests']:,} requests, {summary['events']:,} events"
        )
        states = ", ".join(f"{state} {count:,}" for state, count in sorted(summary["by_state"].items()))
        self.stdout.write(f"  by state: {states}")
        self._logins()
        self.stdout.write(f"  Portal: {settings.PORTAL_BASE_URL}")

    def _logins(self) -> None:
        self.stdout.write(f"  Demo logins (password '{world.DEMO_PASSWORD}'):")
        for role, username in world.DEMO_LOGINS.items():
            self.stdout.write(f"    {role:<16} {username}")
        self.stdout.write(f"    {'Django admin':<16} admin")
