"""Replay the clock ledger of requests under their own, the current, or a candidate policy (a what-if)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from requests_app.models import ServiceRequest
from sla.services import POLICY_FIELDS, sla_replay, sla_replay_apply


def _parse_override(text: str) -> tuple[str, str, object]:
    """`P2.response_goal=2` → ("P2", "response_goal", Decimal("2"))."""
    try:
        target, value = text.split("=", 1)
        priority, field = target.split(".", 1)
    except ValueError as exc:
        raise CommandError(f"--set {text!r}: write it as P2.response_goal=2") from exc
    if field not in POLICY_FIELDS:
        raise CommandError(f"--set {text!r}: {field} is not one of {', '.join(POLICY_FIELDS)}")
    if field.endswith(("_goal", "_ratio")):
        try:
            return priority.upper(), field, None if value.lower() in ("", "none") else Decimal(value)
        except InvalidOperation as exc:
            raise CommandError(f"--set {text!r}: {value!r} is not a number") from exc
    return priority.upper(), field, value


class Command(BaseCommand):
    help = "What-if: recompute SLA due times from each request's clock ledger; --apply writes them (audited)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("references", nargs="*", help="REQ-000123 …; none with --all")
        parser.add_argument("--all", action="store_true", help="every open request")
        parser.add_argument(
            "--under",
            choices=["own", "current"],
            default="own",
            help="the policy version each request started under (own) or today's (current)",
        )
        parser.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="P2.response_goal=2",
            help="candidate policy change for the what-if (never applied)",
        )
        parser.add_argument("--apply", action="store_true", help="rewrite the stored figures (audited)")

    def handle(self, *args, **options) -> None:
        if options["apply"] and options["set"]:
            raise CommandError("A candidate (--set) is a what-if only; save it as a new policy version, then --apply.")
        overrides: dict[str, dict] = {}
        for text in options["set"]:
            priority, field, value = _parse_override(text)
            overrides.setdefault(priority, {})[field] = value
        if options["all"]:
            requests = ServiceRequest.objects.open()
        elif options["references"]:
            requests = ServiceRequest.objects.filter(reference__in=options["references"])
            missing = set(options["references"]) - set(requests.values_list("reference", flat=True))
            if missing:
                raise CommandError(f"No such request: {', '.join(sorted(missing))}")
        else:
            raise CommandError("Name requests (REQ-000123 …) or pass --all.")
        changed = 0
        for service_request in requests.select_related("environment").order_by("pk").iterator(chunk_size=500):
            try:
                if options["apply"]:
                    rows = sla_replay_apply(service_request, under=options["under"])
                else:
                    rows = sla_replay(service_request, under=options["under"], overrides=overrides)
            except ValidationError as exc:
                raise CommandError(f"Candidate policy is invalid: {exc.messages}") from exc
            for row in rows:
                if row["changed"]:
                    changed += 1
                    self.stdout.write(
                        f"{service_request.reference} {row['clock']}/{row['measure']} [{row['policy']}]: "
                        f"{_fmt(row['due_before'])} → {_fmt(row['due_after'])}"
                        f"{'  BREACHED' if row['breached_after'] else ''}"
                    )
        verb = "rewritten" if options["apply"] else "would change"
        self.stdout.write(self.style.SUCCESS(f"{changed} clock figure(s) {verb}."))


def _fmt(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M %Z") if value else "—"
