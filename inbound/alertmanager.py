"""Prometheus Alertmanager in: a firing alert group becomes a production issue, later notices go on its timeline.

Alertmanager posts its webhook payload (`alertmanager_payload`) with a credential's token, as a bearer token or as
basic auth (username: the credential's name). The credential says which implementation team files and which
environment is the default. The request is filed by the "Alertmanager" service user, a member of that team, through
the ordinary filing service, so routing, SLA clocks and notifications apply as for any request.

One group key, one open request: a later notification for the same group adds a note to it; a payload already
received adds nothing (Alertmanager retries deliveries, and its repeat_interval reminders are identical); a resolved
notification notes the recovery and, when the credential says so, resolves the request through the workflow.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django_fsm import can_proceed

from portal.exceptions import PortalError, ValidationFailed
from portal.timefmt import format_time
from requests_app import services as request_services
from requests_app.choices import Priority, RequestType
from requests_app.models import Environment, ServiceRequest, Stack, Team

from .alertmanager_models import AlertmanagerCredential, AlertNotification, AlertStatus
from .alertmanager_payload import Alert, Notification, notification_parse

if TYPE_CHECKING:
    from portal.models import User

SERVICE_USERNAME = "alertmanager"
TOKEN_PREFIX = "pam"  # noqa: S105 (the tokens' marker, not a secret)
KEY_BYTES, SECRET_BYTES = 6, 32
DEFAULT_PRIORITY = Priority.P2
# The `severity` or `priority` label's value (lower-cased) -> the request's priority. P4 needs a needed-by date,
# which an alert has not, so nothing maps there.
PRIORITY_BY_LABEL: dict[str, str] = {
    "critical": Priority.P0,
    "page": Priority.P0,
    "p0": Priority.P0,
    "high": Priority.P1,
    "error": Priority.P1,
    "major": Priority.P1,
    "p1": Priority.P1,
    "warning": Priority.P2,
    "medium": Priority.P2,
    "p2": Priority.P2,
    "low": Priority.P3,
    "info": Priority.P3,
    "minor": Priority.P3,
    "p3": Priority.P3,
    "p4": Priority.P3,
}
TITLE_MAX = 200
# Recording every delivery would write the credential's row each time; every few minutes shows it is in use.
LAST_USED_RESOLUTION = timedelta(minutes=5)
# Hashed when no credential matches, so an unknown name takes as long to refuse as a wrong token.
_NO_MATCH = hashlib.sha256(b"no credential").hexdigest()


class AlertmanagerUnauthorised(PortalError):
    status_code = 401
    code = "unauthorised"


class PayloadTooLarge(PortalError):
    status_code = 413
    code = "too_large"


@dataclass(frozen=True)
class AlertOutcome:
    status: str  # filed, noted, resolved, duplicate, ignored
    service_request: ServiceRequest | None


# --- credentials ---------------------------------------------------------------------------------------------
def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def alertmanager_service_user() -> User:
    """The user alerts are filed as: cannot log in, belongs to the teams of the credentials that use it."""
    user, created = get_user_model().objects.get_or_create(
        username=SERVICE_USERNAME, defaults={"first_name": "Alertmanager", "is_active": True}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


@transaction.atomic
def alertmanager_credential_issue(
    *, name: str, environment: Environment, team: Team, resolve_on_recovery: bool = False
) -> tuple[AlertmanagerCredential, str]:
    """Create the credential `name`, or give the existing one a new token; returns the token, shown only once."""
    key = secrets.token_hex(KEY_BYTES)
    token = f"{TOKEN_PREFIX}.{key}.{secrets.token_urlsafe(SECRET_BYTES)}"
    credential = AlertmanagerCredential.objects.select_for_update().filter(name=name).first()
    if credential is None:
        credential = AlertmanagerCredential(name=name, resolve_on_recovery=resolve_on_recovery)
    else:
        credential.resolve_on_recovery = credential.resolve_on_recovery or resolve_on_recovery
    credential.environment, credential.team = environment, team
    credential.key, credential.token_hash = key, _hash(token)
    credential.full_clean()
    credential.save()
    team.members.add(alertmanager_service_user())
    return credential, token


def alertmanager_authenticate(authorization: str) -> AlertmanagerCredential:
    """The active credential an Authorization header (Bearer token, or Basic with the credential's name) proves."""
    scheme, _, value = authorization.strip().partition(" ")
    candidate: AlertmanagerCredential | None = None
    token = ""
    if scheme.lower() == "bearer":
        token = value.strip()
        parts = token.split(".")
        if len(parts) == 3 and parts[0] == TOKEN_PREFIX:
            candidate = AlertmanagerCredential.objects.filter(key=parts[1], active=True).first()
    elif scheme.lower() == "basic":
        try:
            name, _, token = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            name = ""
        if name:
            candidate = AlertmanagerCredential.objects.filter(name=name, active=True).first()
    expected = candidate.token_hash if candidate else _NO_MATCH
    if not (hmac.compare_digest(_hash(token).encode(), expected.encode()) and candidate is not None):
        raise AlertmanagerUnauthorised(
            "Send a valid Alertmanager credential: Authorization: Bearer <token>, or basic auth with the "
            "credential's name and token."
        )
    return candidate


# --- receiving -------------------------------------------------------------------------------------------
def alertmanager_receive(*, authorization: str, raw: bytes) -> AlertOutcome:
    """Authenticate, check and act on one webhook delivery. Raises PortalError (401, 413, 400) for the caller."""
    credential = alertmanager_authenticate(authorization)
    limit = settings.PORTICO_ALERTMANAGER_MAX_BYTES
    if len(raw) > limit:
        raise PayloadTooLarge(f"The body is {len(raw)} bytes; Portico takes at most {limit}.")
    notification = notification_parse(raw)
    return _act(credential.pk, notification)


@transaction.atomic
def _act(credential_id: int, notification: Notification) -> AlertOutcome:
    # The credential's row lock serialises its deliveries: two at once for one group must not file twice.
    credential = (
        AlertmanagerCredential.objects.select_for_update().select_related("environment", "team").get(pk=credential_id)
    )
    now = timezone.now()
    if credential.last_used_at is None or now - credential.last_used_at > LAST_USED_RESOLUTION:
        AlertmanagerCredential.objects.filter(pk=credential.pk).update(last_used_at=now)
    payload_digest = hashlib.sha256(notification.canonical.encode()).hexdigest()
    group_digest = hashlib.sha256(notification.group_key.encode()).hexdigest()
    seen = AlertNotification.objects.filter(credential=credential, payload_digest=payload_digest).first()
    if seen is not None:
        return AlertOutcome("duplicate", seen.service_request)

    open_request = _open_request(credential, group_digest)
    user = alertmanager_service_user()
    if open_request is None:
        if notification.status == AlertStatus.RESOLVED:
            outcome = AlertOutcome("ignored", None)
        else:
            outcome = AlertOutcome("filed", _file(credential, notification, user=user))
    elif notification.status == AlertStatus.RESOLVED:
        outcome = AlertOutcome(_recover(credential, notification, open_request, user=user), open_request)
    else:
        request_services.request_comment(open_request, actor=user, body=_note(notification))
        outcome = AlertOutcome("noted", open_request)
    AlertNotification.objects.create(
        credential=credential,
        group_key=notification.group_key,
        group_digest=group_digest,
        payload_digest=payload_digest,
        status=notification.status,
        outcome=outcome.status,
        service_request=outcome.service_request,
        received_at=now,
    )
    return outcome


def _open_request(credential: AlertmanagerCredential, group_digest: str) -> ServiceRequest | None:
    latest = (
        AlertNotification.objects.filter(
            credential=credential, group_digest=group_digest, service_request__isnull=False
        )
        .select_related("service_request")
        .first()
    )
    if latest is None or latest.service_request is None or not latest.service_request.is_open:
        return None
    return latest.service_request


def _label(notification: Notification, name: str) -> str:
    if value := notification.common_labels.get(name):
        return value
    for alert in notification.firing or notification.alerts:
        if value := alert.labels.get(name):
            return value
    return ""


def _priority(notification: Notification) -> str:
    """The most urgent priority any firing alert's `severity` or `priority` label maps to."""
    found = [
        PRIORITY_BY_LABEL[value.strip().lower()]
        for alert in notification.firing or notification.alerts
        for value in (alert.labels.get("priority", ""), alert.labels.get("severity", ""))
        if value.strip().lower() in PRIORITY_BY_LABEL
    ]
    return min(found) if found else DEFAULT_PRIORITY  # "P0" < "P1" < …


def _title(notification: Notification) -> str:
    name = _label(notification, "alertname") or "Alert"
    summary = notification.common_annotations.get("summary") or next(
        (a.annotations["summary"] for a in notification.alerts if a.annotations.get("summary")), ""
    )
    title = f"{name}: {summary}" if summary else name
    return title if len(title) <= TITLE_MAX else title[: TITLE_MAX - 1] + "…"


def _alert_text(alert: Alert) -> str:
    lines = [f"- {alert.labels.get('alertname', 'Alert')} ({alert.status}), since {_when(alert.starts_at)}"]
    if alert.ends_at and alert.status == AlertStatus.RESOLVED:
        lines.append(f"  ended {_when(alert.ends_at)}")
    lines += [f"  {name}: {value}" for name, value in sorted(alert.annotations.items())]
    lines.append("  labels: " + ", ".join(f"{name}={value}" for name, value in sorted(alert.labels.items())))
    if alert.generator_url:
        lines.append(f"  source: {alert.generator_url}")
    return "\n".join(lines)


def _when(value: datetime | None) -> str:
    return format_time(value, "long") if value else "an unknown time"


def _alerts_text(notification: Notification) -> str:
    parts = [_alert_text(alert) for alert in notification.alerts]
    if notification.truncated_alerts:
        parts.append(f"(and {notification.truncated_alerts} more alerts Alertmanager left out)")
    return "\n\n".join(parts)


def _fit(text: str) -> str:
    limit = settings.PORTICO_MAX_TEXT_LENGTH
    return text if len(text) <= limit else text[: limit - 40] + "\n\n… (cut: too long to keep in full)"


def _description(notification: Notification, *, unknown: list[str]) -> str:
    firing = len(notification.firing)
    alerts = f"{firing} firing alert{'s' if firing != 1 else ''}"
    head = [f"Alertmanager reported {alerts} (receiver {notification.receiver})."]
    if notification.external_url:
        head.append(f"Alertmanager: {notification.external_url}")
    head.append(f"Group: {notification.group_key}")
    head += unknown
    return _fit("\n".join(head) + "\n\n" + _alerts_text(notification))


def _file(credential: AlertmanagerCredential, notification: Notification, *, user: User) -> ServiceRequest:
    unknown: list[str] = []
    environment = credential.environment
    if code := _label(notification, "environment"):
        found = Environment.objects.filter(code__iexact=code).first()
        if found is None:
            unknown.append(f'Portico knows no environment "{code}": filed for {environment}.')
        environment = found or environment
    stack = None
    if code := _label(notification, "stack"):
        stack = Stack.objects.filter(code__iexact=code).first()
        if stack is None:
            unknown.append(f'Portico knows no stack "{code}".')
    starts = [alert.starts_at for alert in notification.alerts if alert.starts_at is not None]
    try:
        return request_services.request_file(
            actor=user,
            title=_title(notification),
            description=_description(notification, unknown=unknown),
            request_type=RequestType.PRODUCTION_ISSUE,
            priority=_priority(notification),
            environment=environment,
            stack=stack,
            team=credential.team,
            detected_at=min(starts) if starts else None,
            origin={"channel": "alertmanager", "credential": credential.name, "group_key": notification.group_key},
        )
    except ValidationFailed as exc:
        raise ValidationFailed(f"The alert could not be filed: {exc.message}", fields=exc.fields) from exc


def _note(notification: Notification) -> str:
    firing = len(notification.firing)
    return _fit(
        f"Alertmanager: still firing, {firing} alert{'s' if firing != 1 else ''} now.\n\n" + _alerts_text(notification)
    )


def _recover(
    credential: AlertmanagerCredential, notification: Notification, service_request: ServiceRequest, *, user: User
) -> str:
    ended = [alert.ends_at for alert in notification.alerts if alert.ends_at is not None]
    recovered = f"Alertmanager reports the alerts resolved{f' at {_when(max(ended))}' if ended else ''}."
    if credential.resolve_on_recovery:
        service_request.refresh_from_db()
        if can_proceed(service_request.resolve):
            # Portico itself resolves (no person did the work); the requester can still reopen it.
            request_services.request_transition(
                service_request, "resolve", actor=None, message=recovered, note=recovered
            )
            return "resolved"
        recovered += (
            f" The request is {service_request.get_state_display().lower()}, so it was left as it is: "
            "only a request in progress can be resolved."
        )
    request_services.request_comment(
        service_request, actor=user, body=_fit(recovered + "\n\n" + _alerts_text(notification))
    )
    return "noted"
