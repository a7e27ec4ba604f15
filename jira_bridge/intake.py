"""Jira intake: an issue created in an environment's intake project is filed as a portal request linked to it.

Intake requester: the Jira reporter when their e-mail belongs to an active portal user in an implementation
team (their only team, else the first by name); anyone else files through the `jira-intake` service account
(inactive, so it cannot log in) in the "Jira intake" team, and the description says who reported it in Jira.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from integrations.models import Connection, System
from portal.exceptions import PortalError, ValidationFailed
from requests_app.choices import Priority
from requests_app.models import ServiceRequest, Team
from requests_app.services import request_file, request_needed_by_check

from .choices import DeliveryOutcome, JiraLinkOrigin
from .mapping import PRIORITY_FROM_JIRA, type_for_jira_issue
from .models import JiraDelivery, JiraLink
from .payload import as_dict, person, text, user_by_email

if TYPE_CHECKING:
    from portal.models import User
    from requests_app.models import Environment

INTAKE_USERNAME = "jira-intake"
INTAKE_TEAM_SLUG = "jira-intake"


@dataclass(frozen=True)
class IntakeResult:
    """What an intake issue came to: a note for the delivery, its outcome (None: nothing changed), the request."""

    note: str
    outcome: str | None = None
    service_request: ServiceRequest | None = None


def jira_intake_file(*, delivery: JiraDelivery, payload: dict[str, Any], issue: dict[str, Any]) -> IntakeResult | None:
    """File a request for an issue created in the intake project; None when the issue is not an intake one."""
    environment = delivery.environment
    fields = as_dict(issue.get("fields"))
    project = str((fields.get("project") or {}).get("key") or issue["key"].rpartition("-")[0])
    connection = Connection.objects.filter(environment=environment, system=System.JIRA, enabled=True).first()
    if connection is None or not connection.intake_project_key or project != connection.intake_project_key:
        return None
    key = str(issue["key"])
    existing = JiraLink.objects.filter(environment=environment, jira_key=key).select_related("service_request").first()
    if existing is not None:
        return IntakeResult(f"{key} is already {existing.service_request.reference}", None, existing.service_request)
    reporter_name, reporter_email = person(fields.get("reporter") or payload.get("user"))
    actor, team = _intake_requester(reporter_email)
    priority, needed_by, priority_note = _intake_priority(fields, environment)
    issue_type = str((fields.get("issuetype") or {}).get("name") or "")
    summary = str(fields.get("summary") or key).strip()[:200]
    description = "\n\n".join(
        part
        for part in (
            text(fields.get("description")),
            f"Filed from Jira issue {key} by {reporter_name}"
            + (f" <{reporter_email}>" if reporter_email else "")
            + ".",
            priority_note,
        )
        if part
    )
    try:
        with transaction.atomic():
            service_request = request_file(
                actor=actor,
                team=team,
                title=summary,
                description=description[: settings.PORTICO_MAX_TEXT_LENGTH],
                request_type=type_for_jira_issue(issue_type),
                priority=priority,
                environment=environment,
                needed_by=needed_by,
                origin={"source": "jira", "jira_key": key, "reporter": reporter_name},
            )
    except PortalError as exc:
        return IntakeResult(
            f"{key} could not be filed: {exc.message} {exc.fields or ''}".strip(), DeliveryOutcome.CONFLICT
        )
    status = str((fields.get("status") or {}).get("name") or "")
    JiraLink.objects.create(
        service_request=service_request,
        environment=environment,
        origin=JiraLinkOrigin.INTAKE,
        jira_key=key,
        jira_id=str(issue.get("id") or ""),
        project_key=project,
        url=f"{connection.url.rstrip('/')}/browse/{key}",
        pushed_status=status,
        pushed_priority=str((fields.get("priority") or {}).get("name") or ""),
        last_event_at=delivery.event_at,
    )
    ServiceRequest.objects.filter(pk=service_request.pk).update(jira_key=key)
    return IntakeResult(
        f"{key} filed as {service_request.reference} for {actor}", DeliveryOutcome.APPLIED, service_request
    )


def _intake_requester(email: str) -> tuple[User, Team]:
    """The reporter when they are a known team member; otherwise the intake account and its team."""
    user = user_by_email(email)
    if user is not None and not user.vendor_id:
        team = user.teams.order_by("name").first()
        if team is not None:
            return user, team
    User = get_user_model()
    intake, created = User.objects.get_or_create(
        username=INTAKE_USERNAME, defaults={"first_name": "Jira", "last_name": "intake", "is_active": False}
    )
    if created:
        intake.set_unusable_password()
        intake.save(update_fields=["password"])
    team, _ = Team.objects.get_or_create(slug=INTAKE_TEAM_SLUG, defaults={"name": "Jira intake"})
    team.members.add(intake)
    return intake, team


def _intake_priority(fields: dict[str, Any], environment: Environment) -> tuple[str, date | None, str]:
    """Jira's priority as P0–P4 and its due date as needed-by; P4 without enough notice is filed as P3."""
    name = str((fields.get("priority") or {}).get("name") or "")
    priority = PRIORITY_FROM_JIRA.get(name.lower(), Priority.P2)
    try:
        needed_by = date.fromisoformat(str(fields.get("duedate") or ""))
    except ValueError:
        needed_by = None
    try:
        request_needed_by_check(priority=priority, needed_by=needed_by, environment=environment)
    except ValidationFailed:
        if priority != Priority.P4:
            return priority, None, ""  # a due date in the past is dropped rather than refusing the issue
        try:
            request_needed_by_check(priority=Priority.P3, needed_by=needed_by, environment=environment)
        except ValidationFailed:
            needed_by = None
        days = settings.PORTICO_P4_MIN_NOTICE_DAYS
        note = f"Jira priority “{name}” is P4, which needs {days} days' notice and a due date; filed as P3."
        return Priority.P3, needed_by, note
    return priority, needed_by, ""
