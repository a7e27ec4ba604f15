"""Issue or rotate an Alertmanager credential and print its token (shown only here, once).

    manage.py alertmanager_credential prometheus-punjab --environment punjab --team mgramseva [--resolve-on-recovery]

Running it again for the same name rotates the token (the old one stops working) and updates the team and
environment. The program manager can change the team, environment, auto-resolve and active flags in the admin.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from inbound.alertmanager import alertmanager_credential_issue
from requests_app.models import Environment, Team


class Command(BaseCommand):
    help = "Create an Alertmanager credential, or rotate its token, and print the token once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="The credential's name; also the username for basic auth.")
        parser.add_argument("--environment", required=True, help="Code of the default environment.")
        parser.add_argument("--team", required=True, help="Slug of the implementation team that files the alerts.")
        parser.add_argument(
            "--resolve-on-recovery",
            action="store_true",
            help="Resolve the request (when in progress) once Alertmanager reports the alerts resolved.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        environment = Environment.objects.filter(code__iexact=options["environment"]).first()
        if environment is None:
            raise CommandError(f"No environment {options['environment']!r}.")
        team = Team.objects.filter(slug=options["team"]).first()
        if team is None:
            raise CommandError(f"No team {options['team']!r}.")
        try:
            credential, token = alertmanager_credential_issue(
                name=options["name"],
                environment=environment,
                team=team,
                resolve_on_recovery=options["resolve_on_recovery"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stderr.write(f"Credential {credential.name}: files for {team} in {environment}. The token (shown once):")
        self.stdout.write(token)
