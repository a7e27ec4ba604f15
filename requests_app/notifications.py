"""Who hears about which event, and the e-mail they get."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from portal.mail import mail_header_text

from . import permissions as perms
from .choices import EventKind, VendorRole
from .models import Notification, RequestEvent

if TYPE_CHECKING:
    from portal.models import User

SUBJECTS = {
    EventKind.FILED: "{ref} filed: {title}",
    EventKind.TRIAGE: "{ref} triaged to {vendor}",
    EventKind.PICK_UP: "{ref} picked up by {assignee}",
    EventKind.REQUEST_INFO: "{ref}: the vendor needs information from you",
    EventKind.RESOLVE: "{ref} resolved — please confirm",
    EventKind.REJECT: "{ref} rejected",
    EventKind.DENY: "{ref} denied by eGov DevOps",
    EventKind.ESCALATE: "{ref} escalated: blocked",
    EventKind.SLA_AT_RISK: "{ref} at risk: {title}",
    EventKind.SLA_BREACHED: "{ref} breached its SLA: {title}",
    EventKind.JIRA_CONFLICT: "{ref}: Jira and the portal disagree",
    EventKind.JIRA_SYNC_FAILED: "{ref}: could not mirror to Jira",
}
# Events only staff and the vendor hear about, so an internal event may still be sent.
STAFF_ONLY = {
    EventKind.SLA_AT_RISK,
    EventKind.SLA_BREACHED,
    EventKind.ESCALATE,
    EventKind.JIRA_CONFLICT,
    EventKind.JIRA_SYNC_FAILED,
}


def recipients_for(event: RequestEvent) -> list:
    """The users an event concerns; empty when nobody needs telling."""
    service_request = event.service_request
    User = get_user_model()
    active = User.objects.filter(is_active=True)
    match event.kind:
        case EventKind.FILED | EventKind.JIRA_CONFLICT | EventKind.JIRA_SYNC_FAILED:
            return list(perms.program_managers())
        case EventKind.TRIAGE:
            vendor_people = active.filter(vendor_id=service_request.vendor_id) if service_request.vendor_id else []
            return [service_request.requester, *vendor_people]
        case EventKind.PICK_UP | EventKind.REQUEST_INFO | EventKind.RESOLVE | EventKind.REJECT | EventKind.DENY:
            return [service_request.requester]
        case EventKind.ESCALATE:
            return list(perms.egov_devops_members())
        case EventKind.SLA_AT_RISK:
            leads = active.filter(vendor_id=service_request.vendor_id, vendor_role=VendorRole.LEAD)
            assignee = [service_request.assignee] if service_request.assignee_id else []
            return [*assignee, *leads] if service_request.vendor_id else []
        case EventKind.SLA_BREACHED:
            return [*perms.program_managers(), *perms.egov_devops_members()]
    return []


def notify(event: RequestEvent) -> int:
    """Record and e-mail the notifications for one event; repeating it sends nothing twice."""
    if event.kind not in SUBJECTS or (event.internal and event.kind not in STAFF_ONLY):
        return 0
    users = {user.pk: user for user in recipients_for(event) if user.is_active and user.pk != event.actor_id}
    for user in users.values():
        Notification.objects.get_or_create(event=event, user=user)
    pending = list(Notification.objects.filter(event=event, emailed_at__isnull=True).select_related("user"))
    to = sorted({n.user.email for n in pending if n.user.email})
    if to:
        send_mail(_subject(event), _body(event), settings.DEFAULT_FROM_EMAIL, to)
    Notification.objects.filter(pk__in=[n.pk for n in pending]).update(emailed_at=timezone.now())
    return len(to)


def _subject(event: RequestEvent) -> str:
    service_request = event.service_request
    # Titles and names are user text: a line break in one would make Django refuse the whole e-mail.
    return mail_header_text(
        SUBJECTS[event.kind].format(
            ref=service_request.reference,
            title=service_request.title,
            vendor=service_request.vendor or "—",
            assignee=service_request.assignee or "—",
        )
    )


def _body(event: RequestEvent) -> str:
    service_request = event.service_request
    link = settings.PORTAL_BASE_URL.rstrip("/") + reverse("request-detail", args=[service_request.reference])
    parts = (
        f"{service_request.reference} · {service_request.title}",
        f"{event.get_kind_display()} by {event.actor_label}; now {service_request.get_state_display().lower()}.",
        event.message,
        f"Open it: {link}",
    )
    return "\n\n".join(part for part in parts if part)


# --- the in-portal list ----------------------------------------------------------------------------------
def notification_list(*, user: User) -> QuerySet[Notification]:
    """`user`'s notifications about events they may still see, newest first."""
    if not user.is_authenticated:
        return Notification.objects.none()
    # Through the events' gate, so a request that left the user's scope (or an internal note) drops out.
    visible_events = RequestEvent.objects.visible_to(user).values("pk")
    return Notification.objects.filter(user=user, event__in=visible_events)


def notification_unread_count(*, user: User) -> int:
    """How many of `user`'s visible notifications are unread: one COUNT over the (user, read_at) index."""
    return notification_list(user=user).filter(read_at__isnull=True).count()


def notifications_mark_read(*, user: User) -> int:
    """Mark every unread notification of `user` read; returns how many changed (repeating it changes none)."""
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())


def notification_subject(notification: Notification) -> str:
    """The one line a person sees about a notification: its e-mail subject."""
    return _subject(notification.event)
