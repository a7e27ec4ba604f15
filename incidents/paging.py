"""Paging: an urgent production issue (P0/P1 with a vendor) pages its vendor's primary on call at once; unanswered,
the page climbs to the secondary, the vendor's leads, then eGov DevOps. An acknowledgement stops the climb and, when
it can, picks the request up for the one who answered.

Pages are rows (`Page`); the SMS goes after commit through the outbox. The e-mail to each person paged and the
chat posts (the vendor's Slack/Teams channels, each paged person's own webhook) are owed as conversations'
deliveries in the paging transaction, so they go once, retry with backoff and their failures are shown like every
notice's. Escalation reads only the page rows: it never waits on a delivery.

The escalation scan is idempotent: a level is closed by a conditional update, so two scans at once page the next
level once, and the unique (request, level, person) constraint backs that up.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from integrations.sms import SmsLater, SmsNotConfigured, SmsRefused, sms_send
from portal.exceptions import Forbidden, NotFound, PortalError
from portal.mail import mail_header_text
from portal.outbox import outbox_enqueue
from requests_app import permissions as perms
from requests_app.choices import OPEN_STATES, EventKind, Priority, RequestState, RequestType, VendorRole
from requests_app.models import ServiceRequest
from requests_app.services import request_pick_up
from requests_app.timeline import timeline_append

from .models import PAGE_LEVEL_ORDER, OnCallMember, OnCallRota, Page, PageLevel, SmsStatus
from .selectors import on_call_at

if TYPE_CHECKING:
    from portal.models import User
    from requests_app.models import RequestEvent

logger = logging.getLogger(__name__)
DELIVER_TASK = "incidents.tasks.page_deliver"
PAGED_PRIORITIES = (Priority.P0, Priority.P1)
MAX_SMS_ATTEMPTS = 5
SMS_BACKOFF_SECONDS = 30
ACK_SALT = "incidents.page-acknowledge"


def pages_owed(service_request: ServiceRequest) -> bool:
    """An open P0/P1 production issue with a vendor is paged."""
    return (
        service_request.request_type == RequestType.PRODUCTION_ISSUE
        and service_request.priority in PAGED_PRIORITIES
        and service_request.vendor_id is not None
        and service_request.state in OPEN_STATES
    )


def on_request_event(event: RequestEvent) -> None:
    """The event handler: the first moment a request is owed pages (filed routed, triaged, reassigned, raised to
    P0/P1), its primary on call is paged; later events change nothing (the escalation scan does the rest)."""
    service_request = event.service_request
    if pages_owed(service_request) and not service_request.pages.exists():
        page_first(service_request, at=event.created_at)


def escalate_minutes(service_request: ServiceRequest) -> int:
    rota = OnCallRota.objects.filter(vendor=service_request.vendor, environment_id=service_request.environment_id)
    own = rota.values_list("escalate_minutes", flat=True).first()
    return own or settings.PORTICO_PAGE_ESCALATE_MINUTES


def _targets(service_request: ServiceRequest, level: str, when: datetime) -> list[User]:
    vendor = service_request.vendor
    if vendor is None:  # moved off every vendor since: only eGov DevOps is left to answer
        return list(perms.egov_devops_members().order_by("pk")) if level == PageLevel.EGOV_DEVOPS else []
    if level in (PageLevel.PRIMARY, PageLevel.SECONDARY):
        on_call = on_call_at(vendor, service_request.environment, when)
        person = (on_call.primary if level == PageLevel.PRIMARY else on_call.secondary) if on_call else None
        return [person] if person is not None else []
    if level == PageLevel.VENDOR_LEAD:
        people = get_user_model().objects.filter(vendor=vendor, vendor_role=VendorRole.LEAD, is_active=True)
        return list(people.order_by("pk"))
    return list(perms.egov_devops_members().order_by("pk"))


def _phone(service_request: ServiceRequest, user: User) -> str:
    member = OnCallMember.objects.filter(
        rota__vendor=service_request.vendor, rota__environment_id=service_request.environment_id, user=user
    ).first()
    return member.phone if member else ""


def _page_from(service_request: ServiceRequest, levels: list[str], *, at: datetime, after: str = "") -> list[Page]:
    """Page the first of `levels` that has anybody; record it on the timeline (or that nobody could be paged)."""
    minutes = escalate_minutes(service_request)
    for level in levels:
        pages = []
        for person in _targets(service_request, level, at):
            phone = _phone(service_request, person)
            page, created = Page.objects.get_or_create(
                service_request=service_request,
                level=level,
                target=person,
                defaults={
                    "sent_at": at,
                    "escalate_after": at + timedelta(minutes=minutes),
                    "phone": phone,
                    "sms_status": SmsStatus.PENDING if phone else SmsStatus.NONE,
                    "sms_next_at": at if phone else None,
                },
            )
            if created:
                pages.append(page)
        if not pages:
            continue
        names = ", ".join(str(page.target) for page in pages)
        label = PageLevel(level).label
        event = timeline_append(
            service_request,
            kind=EventKind.PAGE_ESCALATED if after else EventKind.PAGED,
            message=(f"Not acknowledged in time: escalated to {label.lower()}: {names}." if after
                     else f"{label} paged: {names}. Unacknowledged after {minutes} minutes, the page escalates."),
            payload={"level": level, "pages": [page.pk for page in pages], "users": [p.target_id for p in pages]},
        )  # fmt: skip
        for page in pages:
            outbox_enqueue(DELIVER_TASK, page_id=page.pk)
        _email_plan(event, pages)
        _chat_plan(service_request, event, pages)
        return pages
    timeline_append(
        service_request,
        kind=EventKind.PAGE_ESCALATED if after else EventKind.PAGED,
        message="Nobody left to page: no one on call, no vendor lead and no eGov DevOps member.",
        payload={"level": None, "pages": []},
    )
    return []


def page_first(service_request: ServiceRequest, *, at: datetime) -> list[Page]:
    return _page_from(service_request, list(PAGE_LEVEL_ORDER), at=at)


def _acknowledged(request_ref) -> Exists:
    return Exists(Page.objects.filter(service_request=request_ref, acknowledged_at__isnull=False))


def pages_escalate(*, now: datetime | None = None) -> int:
    """Escalate every level whose pages went unacknowledged past their time; returns how many levels climbed.
    Safe to run twice at once or again: a level is closed by a conditional update before the next is paged."""
    now = now or timezone.now()
    due = (
        Page.objects.filter(acknowledged_at__isnull=True, escalated_at__isnull=True, escalate_after__lte=now)
        .filter(service_request__state__in=OPEN_STATES)
        .exclude(_acknowledged(OuterRef("service_request")))
        .values_list("service_request_id", "level")
        .distinct()
    )
    climbed = 0
    for request_id, level in list(due):
        with transaction.atomic():
            closed = Page.objects.filter(
                service_request_id=request_id, level=level, escalated_at__isnull=True, acknowledged_at__isnull=True
            ).update(escalated_at=now)
            if not closed:  # another scan took this level
                continue
            service_request = ServiceRequest.objects.select_related("vendor", "environment").get(pk=request_id)
            if Page.objects.filter(service_request=service_request, acknowledged_at__isnull=False).exists():
                continue
            rest = PAGE_LEVEL_ORDER[PAGE_LEVEL_ORDER.index(PageLevel(level)) + 1 :]
            _page_from(service_request, list(rest), at=now, after=level)  # nothing left: says so on the timeline
            climbed += 1
    return climbed


# --- delivery ------------------------------------------------------------------------------------------------
def ack_token(page: Page) -> str:
    return signing.TimestampSigner(salt=ACK_SALT).sign(str(page.pk))


def page_for_token(token: str) -> Page:
    """The page a signed acknowledge link names; NotFound when the link is forged or older than its lifetime."""
    try:
        value = signing.TimestampSigner(salt=ACK_SALT).unsign(
            token, max_age=timedelta(hours=settings.PORTICO_PAGE_ACK_LINK_HOURS)
        )
    except signing.BadSignature:
        raise NotFound("This acknowledge link is not valid or has expired.") from None
    page = Page.objects.select_related("service_request", "target").filter(pk=int(value)).first()
    if page is None:
        raise NotFound("This page no longer exists.")
    return page


def ack_link(page: Page) -> str:
    return settings.PORTAL_BASE_URL.rstrip("/") + reverse("page-acknowledge-link", args=[ack_token(page)])


def page_text(page: Page, *, link: bool = True) -> str:
    sr = page.service_request
    text = (
        f"[{sr.priority}] {sr.reference} {sr.title} ({sr.environment}) — you are paged as "
        f"{page.get_level_display().lower()}."
    )
    return f"{text} Acknowledge: {ack_link(page)}" if link else text


def page_email(page: Page) -> dict[str, str]:
    """The page's e-mail, fixed when paged: a retry sends these words and this acknowledge link."""
    sr = page.service_request
    request_url = settings.PORTAL_BASE_URL.rstrip("/") + reverse("request-detail", args=[sr.reference])
    return {
        "subject": mail_header_text(f"PAGE [{sr.priority}] {sr.reference}: {sr.title}"),
        "body": f"{page_text(page)}\n\nThe request: {request_url}\n",
    }


def _email_plan(event: RequestEvent, pages: list[Page]) -> int:
    """Owe each paged person's e-mail in the paging transaction, as a conversations e-mail delivery: sent once per
    (event, person), a 4xx or a refused connection retried with backoff, a 5xx failed at once, failures listed for
    the program manager. Always owed (a page is not a notice one may turn off or hold for a digest)."""
    from conversations.delivery import email_message_plan

    return email_message_plan(event, people={page.target: page_email(page) for page in pages})


def _chat_plan(service_request: ServiceRequest, event: RequestEvent, pages: list[Page]) -> int:
    """Owe the page's chat posts in the paging transaction: one to each of the vendor's Slack/Teams channels naming
    everyone paged, and one to each paged person's own webhook with their acknowledge link. They go out through
    conversations' chat deliveries, so a 5xx, timeout or refused connection backs off and retries, a 4xx fails at
    once, each is posted once per (event, channel or person), and the program manager sees failures."""
    from conversations.chat import chat_message_plan
    from conversations.models import ChatWebhook

    sr = service_request
    level = pages[0].get_level_display().lower()
    names = ", ".join(str(page.target) for page in pages)
    request_url = settings.PORTAL_BASE_URL.rstrip("/") + reverse("request-detail", args=[sr.reference])
    hooks = ChatWebhook.objects.filter(vendor=sr.vendor, active=True).filter(
        Q(environment__isnull=True) | Q(environment_id=sr.environment_id)
    )
    return chat_message_plan(
        event,
        webhooks=hooks,
        channel_message={
            "text": f"PAGE [{sr.priority}] {sr.reference} {sr.title} ({sr.environment}): {level} paged: {names}.",
            "link": request_url,
            "action": "Open",
        },
        people={page.target: {"text": page_text(page, link=False), "link": ack_link(page), "action": "Acknowledge"}
                for page in pages},
    )  # fmt: skip


def page_sms(page: Page, *, now: datetime | None = None) -> bool:
    """Send the page's SMS once it is due; a gateway failure for now waits and is tried again, up to a limit."""
    now = now or timezone.now()
    claimed = Page.objects.filter(pk=page.pk, sms_status=SmsStatus.PENDING, sms_next_at__lte=now).update(
        sms_next_at=now + timedelta(minutes=5)  # a claim: the retry scan leaves it alone while this send runs
    )
    if not claimed:
        return False
    page.refresh_from_db()
    attempts = page.sms_attempts + 1
    try:
        sms_send(to=page.phone, body=page_text(page))
    except SmsLater as exc:
        done = attempts >= MAX_SMS_ATTEMPTS
        Page.objects.filter(pk=page.pk).update(
            sms_attempts=attempts,
            sms_error=str(exc)[:500],
            sms_status=SmsStatus.FAILED if done else SmsStatus.PENDING,
            sms_next_at=now + timedelta(seconds=SMS_BACKOFF_SECONDS * 2 ** (attempts - 1)),
        )
        return False
    except (SmsRefused, SmsNotConfigured) as exc:
        Page.objects.filter(pk=page.pk).update(
            sms_attempts=attempts, sms_error=str(exc)[:500], sms_status=SmsStatus.FAILED
        )
        return False
    Page.objects.filter(pk=page.pk).update(sms_attempts=attempts, sms_error="", sms_status=SmsStatus.SENT)
    return True


def page_deliver(page_id: int) -> str:
    """The page's SMS, once (a redelivered task finds the page claimed and does nothing); its e-mail and chat posts
    were owed as deliveries when it was paged (`_email_plan`, `_chat_plan`), so a mail outage cannot stop it."""
    if not Page.objects.filter(pk=page_id, channel="").update(channel="sending"):
        return ""
    page = Page.objects.select_related("service_request__environment", "target").get(pk=page_id)
    sent = page.sms_status == SmsStatus.PENDING and page_sms(page)
    summary = "SMS" if sent else "none"
    Page.objects.filter(pk=page_id).update(channel=summary)
    return summary


def pages_sms_retry(*, now: datetime | None = None) -> int:
    """SMS the gateway refused for now, whose wait is over."""
    now = now or timezone.now()
    pages = Page.objects.filter(sms_status=SmsStatus.PENDING, sms_attempts__gt=0, sms_next_at__lte=now)
    return sum(page_sms(page, now=now) for page in pages.select_related("service_request__environment", "target"))


# --- acknowledging -------------------------------------------------------------------------------------------
def page_acknowledge(page_id: int, *, actor: User) -> Page:
    """The paged person answers: escalation stops; a queued request is picked up by them when they may."""
    with transaction.atomic():
        page = Page.objects.select_for_update(of=("self",)).select_related("service_request").filter(pk=page_id).first()
        if page is None or not ServiceRequest.objects.visible_to(actor).filter(pk=page.service_request_id).exists():
            raise NotFound("No such page.")
        if page.target_id != actor.pk:
            raise Forbidden("Only the person paged can acknowledge this page.")
        if page.acknowledged_at is not None:
            return page
        page.acknowledged_at, page.acknowledged_by = timezone.now(), actor
        page.save(update_fields=["acknowledged_at", "acknowledged_by"])
        service_request = page.service_request
        timeline_append(
            service_request,
            actor=actor,
            kind=EventKind.PAGE_ACKNOWLEDGED,
            message=f"Page acknowledged by {actor} ({page.get_level_display().lower()}); escalation stopped.",
            payload={"page": page.pk, "level": page.level},
        )
    if service_request.state == RequestState.QUEUED:
        try:
            with transaction.atomic():
                request_pick_up(service_request, actor=actor, reason="Picked up on acknowledging the page.")
        except PortalError:
            pass  # not theirs to pick up (eGov DevOps, another vendor): the acknowledgement stands alone
    return page
