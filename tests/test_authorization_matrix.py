"""The authorisation matrix: every URL of the UI and the API × every role, with the exact status of each cell.

The table below is the reviewed truth. Each row names a route (its URL name, or its pattern when it has none), a
method and, rarely, a variant; each column is a role. A cell is the status code, with two marks:
  L302  a redirect to the login page (a plain `302` redirects anywhere else);
  …w    the call wrote something (a request, an event, a run, a token, a notification read). Every cell without `w`
        must write nothing, which is how a POST refused with a friendly redirect is told apart from one that ran.
A new row may start as "?": every cell then fails with what it got, ready to be reviewed and copied in.

A route that exists in the URLconf but not in the table fails `test_every_route_is_in_the_matrix`: add it to the
authorisation matrix (and to CALLS, which says how to call it). The world is built once per module, inside a
transaction that is rolled back at the end; each cell runs in its own savepoint, so POSTs never leak into the next.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.contrib.admin.sites import site as admin_site
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Count, Subquery, Value
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from announcements.models import Acknowledgement, Announcement, Audience
from announcements.services import announcement_post
from attachments.models import Attachment
from attachments.services import attachment_add
from backoffice.models import ChangeRecord, OnboardingStep, OnboardingTick
from canned.models import CannedResponse
from conftest import World, build_world
from conversations.models import ChannelSetting, ChatKind, ChatWebhook, Watcher
from inbound.models import InboundMessage
from inbound.services import mail_receive
from incidents.models import (
    ActionItem,
    HypercareWindow,
    IncidentReview,
    OnCallMember,
    OnCallOverride,
    OnCallRota,
    Page,
    PageLevel,
)
from incidents.paging import ack_token
from incidents.reviews import review_update
from portal.models import ApiToken, User
from portal.tokens import api_token_create
from provisioning import services as run_services
from provisioning.choices import RunStatus
from provisioning.models import AccessGrant, ProvisioningRun
from provisioning.tests.helpers import in_progress
from requests_app import services
from requests_app.choices import EventKind, Priority, RequestState, RequestType
from requests_app.models import (
    Notification,
    RequestEvent,
    RequestLink,
    RoutingRule,
    ServiceRequest,
    VendorOnboarding,
)  # fmt: skip
from requests_app.testing.workflow import file_request, walk_to
from sla.defaults import ensure_defaults
from sla.models import BusinessCalendar, CalendarClosure, SlaPolicy

ROLES = ("anon", "req_a", "req_b", "eng_a", "lead_a", "eng_b", "lead_b", "pm", "egov")
ROLE_USERS = {
    "req_a": "requester",
    "req_b": "other_requester",
    "eng_a": "vendor_engineer",
    "lead_a": "vendor_lead",
    "eng_b": "other_vendor_engineer",
    "lead_b": "other_vendor_lead",
    "pm": "pm",
    "egov": "approver",
}
WEEK = "2026-W47"
WEEK_LONG = timedelta(days=7)
OUTSIDE = "203.0.113.7"  # TEST-NET-3: outside METRICS_ALLOWED_NETWORKS
# Routes with no place in the matrix: the admin has its own tests below; static files are served by WhiteNoise.
SKIPPED_PREFIXES = ("admin/", "static/", "media/", "__debug__/")


# --- the objects the URLs point at ---------------------------------------------------------------------------
@dataclass
class Objects:
    """Team A's in-progress request routed to vendor A, with a failed run, and everything else a URL names (another
    of team A's requests has a stuck run: running, but its worker stopped reporting)."""

    world: World
    service_request: ServiceRequest
    run: ProvisioningRun
    stuck_run: ProvisioningRun
    token: ApiToken
    chat_webhook: ChatWebhook
    attachment: Attachment
    canned: CannedResponse  # vendor A's
    inbound: InboundMessage
    closure: CalendarClosure  # on the Bihar calendar
    nda_step: int  # vendor A's step into NDA signed in the world's environment, with the signed NDA stored
    routing_rule: RoutingRule
    announcement: Announcement  # for vendor A's people
    rota: OnCallRota  # vendor A's, with one override
    override: OnCallOverride
    link: RequestLink  # the request relates to the stuck run's request (both team A's, vendor A's)
    page: Page  # vendor A's engineer paged about the request
    grant: AccessGrant  # a break-glass grant on the request, not yet reviewed
    incident: ServiceRequest  # a resolved P1 production issue of team A with vendor A, its review a draft
    release: ServiceRequest  # a resolved release of team A with vendor A, no hypercare window yet
    users: dict[str, User] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)


def _build() -> Objects:
    world = build_world()
    service_request = in_progress(world)  # InfraProvision with parameters, so its automation can run
    run = run_services.run_start(service_request, actor=world.vendor_engineer)
    run = run_services.run_fail(run_id=run.pk, message="Kubernetes said no")
    token, _ = api_token_create(user=world.requester, name="matrix")
    stuck_run = run_services.run_start(in_progress(world), actor=world.vendor_engineer)
    long_ago = timezone.now() - timedelta(hours=1)
    ProvisioningRun.objects.filter(pk=stuck_run.pk).update(
        status=RunStatus.RUNNING, lease_owner="a-dead-worker", lease_expires_at=long_ago, heartbeat_at=long_ago
    )
    # Team B's own request with vendor B, and pages with rows in them: the triage inbox and the approvals.
    other = walk_to(world, RequestState.IN_PROGRESS, actor=world.other_requester, title="Team B's")
    other = services.request_reassign(other, actor=world.pm, vendor=world.vendor_b, reason="B's work")
    walk_to(world, RequestState.SUBMITTED, title="Awaiting triage")
    walk_to(world, RequestState.PENDING_APPROVAL, title="Awaiting approval")
    # One unread notification each, about a request they see, so "mark all read" has something to do.
    for role, name in ROLE_USERS.items():
        seen = other if role in ("req_b", "eng_b", "lead_b") else service_request
        # (The program manager already has one: the filing told them.)
        Notification.objects.get_or_create(event=seen.events.get(kind=EventKind.FILED), user=getattr(world, name))
    attachment = attachment_add(service_request, actor=world.requester, filename="logs.txt", content=b"OOMKilled\n")
    canned = CannedResponse.objects.create(vendor=world.vendor_a, title="Need logs", body="Please attach the logs.")
    CannedResponse.objects.create(vendor=None, title="Triage note", body="Routed.")
    mail_receive(b"From: someone@elsewhere.test\r\nSubject: hi\r\n\r\nhello\r\n", recipients=["portico@localhost"])
    ensure_defaults()  # the calendars (a transactional test's flush may have removed the data migration's rows)
    bihar = BusinessCalendar.objects.get(slug="bihar")
    closure = CalendarClosure.objects.create(
        calendar=bihar, starts_at=timezone.now() - timedelta(days=400), ends_at=timezone.now() - timedelta(days=399),
        reason="Matrix closure",
    )  # fmt: skip
    rota = OnCallRota.objects.create(vendor=world.vendor_a, environment=world.environment, calendar_token="matrix")
    OnCallMember.objects.create(rota=rota, user=world.vendor_engineer, position=1)
    override = OnCallOverride.objects.create(
        rota=rota, member=world.vendor_lead, reason="Swap", starts_at=timezone.now(), ends_at=timezone.now() + WEEK_LONG
    )
    link = services.link_add(
        actor=world.pm,
        service_request=service_request,
        relation="relates_to",
        other_reference=stuck_run.service_request.reference,
    )
    incident = walk_to(world, RequestState.RESOLVED, request_type=RequestType.PRODUCTION_ISSUE, priority=Priority.P1)
    review_update(incident.incident_review, actor=world.pm, changes={"root_cause": "A full disk"})
    release = walk_to(world, RequestState.RESOLVED, request_type=RequestType.RELEASE, title="Release 3.1")
    users = {role: getattr(world, name) for role, name in ROLE_USERS.items()}
    sessions = {}
    for role, user in users.items():  # one session per role, made once: logging in per cell would double the time
        client = Client()
        client.force_login(user)
        sessions[role] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return Objects(
        world=world,
        service_request=service_request,
        run=run,
        stuck_run=stuck_run,
        token=token,
        chat_webhook=ChatWebhook.objects.create(name="ops", kind=ChatKind.SLACK, url=CHAT_WEBHOOK["url"]),
        attachment=attachment,
        canned=canned,
        inbound=InboundMessage.objects.get(),
        closure=closure,
        nda_step=_nda_step(world),
        routing_rule=RoutingRule.objects.create(environment=world.environment, vendor=world.vendor_a),
        announcement=announcement_post(
            actor=world.pm, title="Freeze", body="No deploys.", audience=Audience.CHOSEN, vendors=[world.vendor_a]
        ),
        rota=rota,
        override=override,
        link=link,
        page=Page.objects.create(
            service_request=service_request,
            target=world.vendor_engineer,
            level=PageLevel.PRIMARY,
            escalate_after=timezone.now() + timedelta(minutes=15),
        ),
        grant=AccessGrant.objects.create(
            service_request=service_request,
            run=run,
            system="kubernetes",
            subject="matrix",
            target="payments",
            level="edit",
            expires_at=timezone.now() + timedelta(hours=1),
            break_glass=True,
        ),
        incident=incident,
        release=release,
        users=users,
        sessions=sessions,
    )


def _nda_step(world: World) -> int:
    onboarding = VendorOnboarding.objects.get(vendor=world.vendor_a, environment=world.environment)
    stored = default_storage.save("onboarding/optit/punjab/matrix/nda.pdf", ContentFile(b"%PDF-1.4\n%%EOF\n"))
    step = OnboardingStep.objects.create(
        onboarding=onboarding, from_stage="training", to_stage="nda_signed", reason="Signed", document=stored,
        document_name="nda.pdf", document_type="application/pdf", document_size=14,
    )  # fmt: skip
    return step.pk


@pytest.fixture(scope="module")
def objects(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Objects]:
    media = override_settings(MEDIA_ROOT=str(tmp_path_factory.mktemp("media")))  # uploads stay out of var/
    with media, django_db_blocker.unblock(), transaction.atomic():
        yield _build()
        transaction.set_rollback(True)


# --- how to call each route ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Call:
    """One way to call a route: its URL from the objects, a body, and extra request options."""

    url: Callable[[Objects], str]
    data: dict[str, Any] | Callable[[Objects], dict[str, Any]] | None = None
    json: bool = False
    extra: dict[str, str] = field(default_factory=dict)


def ref(name: str, *extra: str, **query: str) -> Callable[[Objects], str]:
    """URL `name` for the request (and `extra` path arguments), with a query string."""

    def build(o: Objects) -> str:
        url = reverse(name, args=[o.service_request.reference, *extra])
        return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")

    return build


def url(name: str, *args: Any, query: str = "") -> Callable[[Objects], str]:
    return lambda o: reverse(name, args=args) + (f"?{query}" if query else "")


def run_url(name: str) -> Callable[[Objects], str]:
    return lambda o: reverse(name, args=[o.service_request.reference, o.run.pk])


def stuck_run_url(name: str) -> Callable[[Objects], str]:
    return lambda o: reverse(name, args=[o.stuck_run.service_request.reference, o.stuck_run.pk])


def token_url(name: str) -> Callable[[Objects], str]:
    return lambda o: reverse(name, args=[o.token.pk])


def attachment_url(name: str) -> Callable[[Objects], str]:
    return lambda o: reverse(name, args=[o.service_request.reference, o.attachment.pk])


def link_url(name: str) -> Callable[[Objects], str]:
    return lambda o: reverse(name, args=[o.service_request.reference, o.link.pk])


def canned_url(name: str) -> Callable[[Objects], str]:
    return lambda o: reverse(name, args=[o.canned.pk])


def _p2() -> SlaPolicy:
    return SlaPolicy.objects.get(priority="P2", is_current=True)


def rota_url(name: str, *extra: str) -> Callable[[Objects], str]:
    return lambda o: reverse(name, args=[o.rota.pk, *(getattr(o, attribute).pk for attribute in extra)])


def incident_url(name: str) -> Callable[[Objects], str]:
    return lambda o: reverse(name, args=[o.incident.reference])


def release_url(name: str) -> Callable[[Objects], str]:
    return lambda o: reverse(name, args=[o.release.reference])


REVIEW_FORM = {"root_cause": "matrix cause", "impact": "", "went_well": "", "went_badly": ""}
ACTION_ITEM = {"title": "matrix action", "due_on": "2027-01-31"}
HYPERCARE_FORM = {"days": "5", "raise_priority": "on"}


def rota_form(o: Objects) -> dict[str, Any]:
    return {
        "shift_days": 14, "starts_on": "2026-01-05", "handover_time": "09:00", "timezone": "Asia/Kolkata",
        "member_1": o.world.vendor_engineer.pk,
    }  # fmt: skip


def new_rota_form(o: Objects) -> dict[str, Any]:
    return {
        "vendor": o.world.vendor_b.pk, "environment": o.world.environment.pk, "shift_days": 7,
        "starts_on": "2026-01-05", "handover_time": "09:00", "timezone": "Asia/Kolkata",
    }  # fmt: skip


def override_form(o: Objects) -> dict[str, Any]:
    return {
        "member": o.world.vendor_lead.pk, "slot": "secondary", "starts_at": "2026-01-14T09:00",
        "ends_at": "2026-01-14T18:00", "reason": "From the matrix",
    }  # fmt: skip


BREAK_GLASS = {"system": "kubernetes", "kubernetes_namespace": "payments", "duration_hours": 1, "reason": "Matrix"}
REVIEW = {"note": "Reviewed by the matrix"}


def upload(o: Objects) -> dict[str, Any]:
    return {"file": SimpleUploadedFile("matrix.txt", b"uploaded by the matrix\n")}


def filing_form(o: Objects) -> dict[str, Any]:
    return {
        "title": "Matrix namespace",
        "description": "Four CPUs, please.",
        "request_type": RequestType.INFRA_PROVISION,
        "priority": Priority.P2,
        "environment": o.world.environment.pk,
        "stack": o.world.stack.pk,
    }


def rule_url(name: str) -> Callable[[Objects], str]:
    return lambda o: reverse(name, args=[o.routing_rule.pk])


def announcement_url(name: str) -> Callable[[Objects], str]:
    return lambda o: reverse(name, args=[o.announcement.pk])


def routing_form(o: Objects) -> dict[str, Any]:
    return {"request_type": RequestType.GIT_OPS, "environment": o.world.environment.pk, "vendor": o.world.vendor_b.pk,
            "is_active": "on", "note": "matrix", "reason": "From the matrix"}  # fmt: skip


def announcement_form(o: Objects) -> dict[str, Any]:
    return {"title": "From the matrix", "body": "Hello.", "audience": "chosen", "vendors": [o.world.vendor_b.pk],
            "reason": "From the matrix"}  # fmt: skip


def filing_json(o: Objects) -> dict[str, Any]:
    return {**filing_form(o), "environment": o.world.environment.code, "stack": o.world.stack.code}


def link_form(o: Objects) -> dict[str, Any]:
    return {"environment": o.world.environment.pk, "calendar": "bihar", "reason": "Matrix"}


def closure_url(o: Objects) -> str:
    return reverse("backoffice-calendar-closure-remove", args=["bihar", o.closure.pk])


HOLIDAY_CSV = "date,name\n2026-10-09,Matrix Day\n"


def holiday_upload(o: Objects) -> dict[str, Any]:
    return {"file": SimpleUploadedFile("matrix.csv", HOLIDAY_CSV.encode()), "reason": "Matrix"}


IMPORT_CONFIRM = {"content": HOLIDAY_CSV, "filename": "matrix.csv", "format": "csv", "reason": "Matrix"}
IMPORT_PREVIEW = {"content": HOLIDAY_CSV, "filename": "matrix.csv"}
DAY_ADD = {"date": "2026-10-09", "name": "Matrix Day", "reason": "Matrix"}
DAY_REMOVE = {"date": "2026-11-24", "reason": "Matrix"}  # Guru Nanak's Birthday, a Bihar holiday in the package
CLOSURE = {"starts_on": "2026-10-06", "ends_on": "2026-10-07", "reason": "Matrix"}
CALENDAR_SETTINGS = {
    "timezone": "Asia/Kolkata", "subdivision": "BR", "categories": ["public", "government"], "reason": "Matrix",
    **{f"hours_{day}": "09:30-18:00" for day in range(6)},
}  # fmt: skip
COMMENT = {"body": "Checking in from the matrix."}
EXTEND = {"measure": "resolution", "days": "2", "reason": "Waiting on vendor hardware (matrix)"}
EXTEND_JSON = {"measure": "resolution", "by": "P2D", "reason": "Waiting on vendor hardware (matrix)"}
CHAT_WEBHOOK = {"name": "matrix", "kind": "slack", "url": "http://127.0.0.1:9/services/T0/B0/x"}
RESOLVE = {"reason": "Done"}
RESOLVE_FORM = {"resolve-reason": "Done"}  # the page's form fields carry the action's name as prefix
TOKEN = {"name": "matrix", "expires_in_days": "30", "scopes": ["read", "write"]}
PASSWORD_CHANGE = {
    "old_password": "not-the-password",
    "new_password1": "Matrix-pass-4821",
    "new_password2": "Matrix-pass-4821",
}
CANCEL_FORM = {"confirm": "yes", "reason": "Stuck"}
POLICY_JSON = {"priority": "P2", "response_goal": "4", "response_unit": "hours", "reason": "From the matrix"}
POLICY_FORM = {
    **POLICY_JSON, "response_clock": "working", "resolution_goal": "3", "resolution_unit": "working_days",
    "resolution_clock": "working", "at_risk_ratio": "0.75", "apply_to": "new", "step": "confirm",
}  # fmt: skip
# The page's details form; the program manager's version also carries priority and type (unchanged: no reason).
EDIT_FORM = {"form": "details", "title": "Edited in the matrix", "description": "Four CPUs.", "priority": "P2",
             "request_type": RequestType.INFRA_PROVISION}  # fmt: skip
DETAIL = ref("request-detail")
PAUSE_FORM = {"to": "paused", "paused-reason": "From the matrix"}
TICK = {"item": "announced", "done": "yes"}


def onboarding_url(name: str) -> Callable[[Objects], str]:
    return lambda o: reverse(name, args=["optit", "punjab"])


REASON = {"reason": "From the matrix"}
REASONED_NOTE = {"note": "matrix", "reason": "From the matrix"}
REASONED_TITLE = {"title": "From the matrix", "reason": "From the matrix"}
ROUTING_JSON = {"request_type": "GitOps", "vendor": "gwl", "reason": "From the matrix"}
ROUTING_TEST = {"request_type": "GitOps", "environment": "punjab"}
ANNOUNCEMENT_JSON = {"title": "From the matrix", "body": "Hello."}


def LINK(o: Objects) -> dict[str, str]:
    return {"relation": "causes", "other": o.stuck_run.service_request.reference}


CALLS: dict[tuple[str, ...], Call] = {
    ("healthz", "GET"): Call(url("healthz")),
    ("favicon", "GET"): Call(url("favicon")),
    ("readyz", "GET"): Call(url("readyz")),
    ("metrics", "GET"): Call(url("metrics"), extra={"REMOTE_ADDR": OUTSIDE}),
    ("metrics", "GET", "allowed network"): Call(url("metrics")),
    ("login", "GET"): Call(url("login")),
    ("login", "POST"): Call(url("login"), {"username": "asha", "password": "not-the-password"}),
    ("logout", "GET"): Call(url("logout")),
    ("logout", "POST"): Call(url("logout")),
    ("otp-verify", "GET"): Call(url("otp-verify")),
    ("otp-verify", "POST"): Call(url("otp-verify"), {"token": "000000"}),
    ("otp-setup", "GET"): Call(url("otp-setup")),
    ("otp-setup", "POST"): Call(url("otp-setup"), {"token": "000000"}),
    ("sso-login", "GET"): Call(url("sso-login")),
    ("sso-callback", "GET"): Call(url("sso-callback", query="code=forged&state=forged")),
    ("password_reset", "GET"): Call(url("password_reset")),
    ("password_reset", "POST"): Call(url("password_reset"), {"email": "nobody@example.org"}),
    ("password_reset_done", "GET"): Call(url("password_reset_done")),
    ("password_reset_confirm", "GET"): Call(url("password_reset_confirm", "MQ", "not-a-token")),
    ("password_reset_complete", "GET"): Call(url("password_reset_complete")),
    ("password_change", "GET"): Call(url("password_change")),
    ("password_change", "POST"): Call(url("password_change"), PASSWORD_CHANGE),
    ("password_change_done", "GET"): Call(url("password_change_done")),
    ("account-timezone", "GET"): Call(url("account-timezone")),
    ("account-timezone", "POST"): Call(url("account-timezone"), {"timezone": "Europe/Berlin"}),
    ("account-tokens", "GET"): Call(url("account-tokens")),
    ("account-tokens", "POST"): Call(url("account-tokens"), TOKEN),
    ("account-token-revoke", "GET"): Call(token_url("account-token-revoke")),
    ("account-token-revoke", "POST"): Call(token_url("account-token-revoke"), {"confirmed": "yes"}),
    # API
    ("api:me", "GET"): Call(url("api:me")),
    # The desk: saved views (none exists with id 999999) and bulk actions (triaging an in-progress request is refused
    # row by row, so every signed-in caller gets 200 and nothing is written).
    ("api:saved-view-list", "GET"): Call(url("api:saved-view-list")),
    ("api:saved-view-list", "POST"): Call(url("api:saved-view-list"), {"name": "matrix"}, json=True),
    ("api:saved-view-detail", "GET"): Call(url("api:saved-view-detail", 999999)),
    ("api:requests-bulk", "POST"): Call(
        url("api:requests-bulk"),
        lambda o: {"action": "triage", "references": [o.service_request.reference]},
        json=True,
    ),
    ("desk-bulk", "POST"): Call(
        url("desk-bulk"), lambda o: {"action": "triage", "references": [o.service_request.reference]}
    ),
    ("saved-view-save", "POST"): Call(
        url("saved-view-save"), {"name": "matrix", "list_name": "requests", "sharing": "private", "query": ""}
    ),
    ("saved-view-default", "POST"): Call(url("saved-view-default", 999999)),
    ("saved-view-delete", "POST"): Call(url("saved-view-delete", 999999)),
    ("api:me-tokens", "GET"): Call(url("api:me-tokens")),
    ("api:me-tokens", "POST"): Call(url("api:me-tokens"), {"name": "matrix"}, json=True),
    ("api:me-token", "GET"): Call(token_url("api:me-token")),
    ("api:me-token", "DELETE"): Call(token_url("api:me-token")),
    ("api:request-list", "GET"): Call(url("api:request-list")),
    ("api:request-list", "POST"): Call(url("api:request-list"), filing_json, json=True),
    ("api:request-detail", "GET"): Call(ref("api:request-detail")),
    ("api:request-detail", "PATCH"): Call(ref("api:request-detail"), {"title": "Renamed by the matrix"}, json=True),
    ("api:request-detail", "DELETE"): Call(ref("api:request-detail")),
    ("api:request-comments", "GET"): Call(ref("api:request-comments")),
    ("api:request-comments", "POST"): Call(ref("api:request-comments"), COMMENT, json=True),
    ("api:request-events", "GET"): Call(ref("api:request-events")),
    ("api:request-links", "GET"): Call(ref("api:request-links")),
    ("api:request-links", "POST"): Call(ref("api:request-links"), LINK, json=True),
    ("api:request-link", "DELETE"): Call(link_url("api:request-link")),
    ("api:request-transitions", "GET"): Call(ref("api:request-transitions")),
    ("api:request-transition", "POST"): Call(ref("api:request-transition", "resolve"), RESOLVE, json=True),
    ("api:request-transition", "GET"): Call(ref("api:request-transition", "resolve")),
    ("api:request-extensions", "POST"): Call(ref("api:request-extensions"), EXTEND_JSON, json=True),
    ("api:request-extensions", "GET"): Call(ref("api:request-extensions")),
    ("api:vendor-list", "GET"): Call(url("api:vendor-list")),
    ("api:environment-list", "GET"): Call(url("api:environment-list")),
    ("api:stack-list", "GET"): Call(url("api:stack-list")),
    ("api:team-list", "GET"): Call(url("api:team-list")),
    ("api:reports-sla", "GET"): Call(url("api:reports-sla", query=f"week={WEEK}")),
    ("api:reports-metrics", "GET"): Call(url("api:reports-metrics")),
    ("api:schema", "GET"): Call(url("api:schema")),
    ("api:docs", "GET"): Call(url("api:docs")),
    ("api:redoc", "GET"): Call(url("api:redoc")),
    ("api:jira-webhook", "POST"): Call(url("api:jira-webhook", query="environment=punjab"), {}, json=True),
    ("api:jira-webhook", "GET"): Call(url("api:jira-webhook")),
    ("api:alertmanager-webhook", "POST"): Call(url("api:alertmanager-webhook"), {}, json=True),
    ("api:alertmanager-webhook", "GET"): Call(url("api:alertmanager-webhook")),
    ("api:request-runs", "GET"): Call(ref("api:request-runs")),
    ("api:request-runs", "POST"): Call(ref("api:request-runs"), {}, json=True),
    ("api:request-plan", "GET"): Call(ref("api:request-plan")),
    ("api:request-run-retry", "POST"): Call(run_url("api:request-run-retry"), {}, json=True),
    ("api:request-run-cancel", "POST"): Call(run_url("api:request-run-cancel"), {}, json=True),
    ("api:request-run-cancel", "POST", "stuck run"): Call(stuck_run_url("api:request-run-cancel"), {}, json=True),
    ("api:request-run-resume", "POST"): Call(run_url("api:request-run-resume"), {}, json=True),
    ("api:request-run-resume", "POST", "stuck run"): Call(stuck_run_url("api:request-run-resume"), {}, json=True),
    ("api:request-attachments", "GET"): Call(ref("api:request-attachments")),
    ("api:request-attachments", "POST"): Call(ref("api:request-attachments"), upload),
    ("api:request-attachment-download", "GET"): Call(attachment_url("api:request-attachment-download")),
    ("api:canned-response-list", "GET"): Call(url("api:canned-response-list")),
    ("api:management-change-list", "GET"): Call(url("api:management-change-list")),
    ("api:routing-rule-list", "GET"): Call(url("api:routing-rule-list")),
    ("api:routing-rule-list", "POST"): Call(url("api:routing-rule-list"), ROUTING_JSON, json=True),
    ("api:routing-rule-detail", "GET"): Call(rule_url("api:routing-rule-detail")),
    ("api:routing-rule-detail", "PATCH"): Call(rule_url("api:routing-rule-detail"), REASONED_NOTE, json=True),
    ("api:routing-rule-detail", "DELETE"): Call(rule_url("api:routing-rule-detail"), REASON, json=True),
    ("api:routing-rule-test", "POST"): Call(url("api:routing-rule-test"), ROUTING_TEST, json=True),
    ("api:announcement-list", "GET"): Call(url("api:announcement-list")),
    ("api:announcement-list", "POST"): Call(url("api:announcement-list"), ANNOUNCEMENT_JSON, json=True),
    ("api:announcement-detail", "GET"): Call(announcement_url("api:announcement-detail")),
    ("api:announcement-detail", "PATCH"): Call(announcement_url("api:announcement-detail"), REASONED_TITLE, json=True),
    ("api:announcement-detail", "DELETE"): Call(announcement_url("api:announcement-detail"), REASON, json=True),
    ("api:announcement-acknowledgements", "GET"): Call(announcement_url("api:announcement-acknowledgements")),
    ("api:announcement-acknowledge", "POST"): Call(announcement_url("api:announcement-acknowledge"), {}, json=True),
    ("api/^(?P<path>.*)$", "GET"): Call(lambda o: "/api/v1/no-such-thing/"),
    # attachments, canned responses, inbound mail
    ("attachment-upload", "POST"): Call(ref("attachment-upload"), upload),
    ("attachment-upload", "GET"): Call(ref("attachment-upload")),
    ("attachment-get", "GET"): Call(attachment_url("attachment-get")),
    # the management area: routing rules and announcements
    ("backoffice-home", "GET"): Call(url("backoffice-home")),
    ("backoffice-history", "GET"): Call(url("backoffice-history")),
    ("backoffice-routing", "GET"): Call(url("backoffice-routing")),
    ("backoffice-routing-test", "GET"): Call(
        lambda o: reverse("backoffice-routing-test") + f"?request_type=GitOps&environment={o.world.environment.pk}"
    ),
    ("backoffice-routing-new", "GET"): Call(url("backoffice-routing-new")),
    ("backoffice-routing-new", "POST"): Call(url("backoffice-routing-new"), routing_form),
    ("backoffice-routing-edit", "GET"): Call(rule_url("backoffice-routing-edit")),
    ("backoffice-routing-edit", "POST"): Call(rule_url("backoffice-routing-edit"), routing_form),
    ("backoffice-routing-delete", "POST"): Call(rule_url("backoffice-routing-delete"), REASON),
    ("announcement-manage", "GET"): Call(url("announcement-manage")),
    ("announcement-new", "GET"): Call(url("announcement-new")),
    ("announcement-new", "POST"): Call(url("announcement-new"), announcement_form),
    ("announcement-detail", "GET"): Call(announcement_url("announcement-detail")),
    ("announcement-edit", "GET"): Call(announcement_url("announcement-edit")),
    ("announcement-edit", "POST"): Call(announcement_url("announcement-edit"), announcement_form),
    ("announcement-withdraw", "POST"): Call(announcement_url("announcement-withdraw"), REASON),
    ("announcement-acknowledge", "POST"): Call(announcement_url("announcement-acknowledge"), {"next": "/"}),
    ("canned-list", "GET"): Call(url("canned-list")),
    ("canned-list", "POST"): Call(url("canned-list"), {"title": "From the matrix", "body": "Hello."}),
    ("canned-edit", "GET"): Call(canned_url("canned-edit")),
    ("canned-edit", "POST"): Call(canned_url("canned-edit"), {"title": "Need logs", "body": "Edited by the matrix."}),
    ("canned-delete", "POST"): Call(canned_url("canned-delete")),
    ("canned-delete", "GET"): Call(canned_url("canned-delete")),
    ("inbound-list", "GET"): Call(url("inbound-list")),
    # the management area's shell
    # the management area's SLA policies (a confirmed draft saves a revision for new requests)
    ("backoffice-sla-policies", "GET"): Call(url("backoffice-sla-policies")),
    ("backoffice-sla-policy-revise", "GET"): Call(url("backoffice-sla-policy-revise", "P2")),
    ("backoffice-sla-policy-revise", "POST"): Call(url("backoffice-sla-policy-revise", "P2"), POLICY_FORM),
    ("api:sla-policy-list", "GET"): Call(url("api:sla-policy-list")),
    ("api:sla-policy-list", "POST"): Call(url("api:sla-policy-list"), POLICY_JSON, json=True),
    ("api:sla-policy-detail", "GET"): Call(lambda o: reverse("api:sla-policy-detail", args=[_p2().pk])),
    ("api:sla-policy-what-if", "POST"): Call(url("api:sla-policy-what-if"), POLICY_JSON, json=True),
    # the management area
    ("backoffice-calendars", "GET"): Call(url("backoffice-calendars")),
    ("backoffice-calendars", "POST"): Call(url("backoffice-calendars"), link_form),
    ("backoffice-calendar", "GET"): Call(url("backoffice-calendar", "bihar")),
    ("backoffice-calendar-year", "GET"): Call(url("backoffice-calendar-year", "bihar", query="year=2026")),
    ("backoffice-calendar-settings", "GET"): Call(url("backoffice-calendar-settings", "bihar")),
    ("backoffice-calendar-settings", "POST"): Call(url("backoffice-calendar-settings", "bihar"), CALENDAR_SETTINGS),
    ("backoffice-calendar-import", "GET"): Call(url("backoffice-calendar-import", "bihar")),
    ("backoffice-calendar-import", "POST"): Call(url("backoffice-calendar-import", "bihar"), holiday_upload),
    ("backoffice-calendar-import", "POST", "confirm"): Call(url("backoffice-calendar-import", "bihar"), IMPORT_CONFIRM),
    ("backoffice-calendar-day-add", "POST"): Call(url("backoffice-calendar-day-add", "bihar"), DAY_ADD),
    ("backoffice-calendar-day-add", "GET"): Call(url("backoffice-calendar-day-add", "bihar")),
    ("backoffice-calendar-day-remove", "POST"): Call(url("backoffice-calendar-day-remove", "bihar"), DAY_REMOVE),
    ("backoffice-calendar-day-remove", "GET"): Call(url("backoffice-calendar-day-remove", "bihar")),
    ("backoffice-calendar-closure-add", "POST"): Call(url("backoffice-calendar-closure-add", "bihar"), CLOSURE),
    ("backoffice-calendar-closure-add", "GET"): Call(url("backoffice-calendar-closure-add", "bihar")),
    ("backoffice-calendar-closure-remove", "POST"): Call(closure_url, {"reason": "Matrix"}),
    ("backoffice-calendar-closure-remove", "GET"): Call(closure_url),
    ("api:calendar-list", "GET"): Call(url("api:calendar-list")),
    ("api:calendar-detail", "GET"): Call(url("api:calendar-detail", "bihar", query="year=2026")),
    ("api:calendar-day-add", "POST"): Call(url("api:calendar-day-add", "bihar"), DAY_ADD, json=True),
    ("api:calendar-day-remove", "POST"): Call(url("api:calendar-day-remove", "bihar"), DAY_REMOVE, json=True),
    ("api:calendar-closure-add", "POST"): Call(url("api:calendar-closure-add", "bihar"), CLOSURE, json=True),
    ("api:calendar-environment-link", "POST"): Call(
        url("api:calendar-environment-link", "bihar"), {"environment": "punjab", "reason": "Matrix"}, json=True
    ),
    ("api:calendar-import", "POST"): Call(url("api:calendar-import", "bihar"), IMPORT_PREVIEW, json=True),
    ("inbound-raw", "GET"): Call(lambda o: reverse("inbound-raw", args=[o.inbound.pk])),
    # on call
    ("api:oncall-list", "GET"): Call(url("api:oncall-list")),
    ("oncall-list", "GET"): Call(url("oncall-list")),
    ("oncall-list", "POST"): Call(url("oncall-list"), new_rota_form),
    ("oncall-rota", "GET"): Call(rota_url("oncall-rota")),
    ("oncall-rota", "POST"): Call(rota_url("oncall-rota"), rota_form),
    ("oncall-override-add", "POST"): Call(rota_url("oncall-override-add"), override_form),
    ("oncall-override-add", "GET"): Call(rota_url("oncall-override-add")),
    ("oncall-override-delete", "POST"): Call(rota_url("oncall-override-delete", "override")),
    ("oncall-override-delete", "GET"): Call(rota_url("oncall-override-delete", "override")),
    ("oncall-token-reset", "POST"): Call(rota_url("oncall-token-reset")),
    ("oncall-token-reset", "GET"): Call(rota_url("oncall-token-reset")),
    ("oncall-rota-delete", "POST"): Call(rota_url("oncall-rota-delete")),
    ("oncall-rota-delete", "GET"): Call(rota_url("oncall-rota-delete")),
    ("oncall-calendar", "GET"): Call(lambda o: reverse("oncall-calendar", args=[o.rota.pk]) + "?token=matrix"),
    ("oncall-calendar", "GET", "no token"): Call(rota_url("oncall-calendar")),
    # paging and break-glass
    ("page-acknowledge-link", "GET"): Call(lambda o: reverse("page-acknowledge-link", args=[ack_token(o.page)])),
    ("page-acknowledge-link", "POST"): Call(lambda o: reverse("page-acknowledge-link", args=[ack_token(o.page)])),
    ("page-acknowledge-link", "GET", "forged"): Call(url("page-acknowledge-link", "forged")),
    ("page-acknowledge", "POST"): Call(lambda o: reverse("page-acknowledge", args=[o.page.pk])),
    ("page-acknowledge", "GET"): Call(lambda o: reverse("page-acknowledge", args=[o.page.pk])),
    ("break-glass-take", "POST"): Call(ref("break-glass-take"), BREAK_GLASS),
    ("break-glass-take", "GET"): Call(ref("break-glass-take")),
    ("break-glass-review", "POST"): Call(lambda o: reverse("break-glass-review", args=[o.grant.pk]), REVIEW),
    ("break-glass-review", "GET"): Call(lambda o: reverse("break-glass-review", args=[o.grant.pk])),
    ("api:page-list", "GET"): Call(url("api:page-list")),
    ("api:page-detail", "GET"): Call(lambda o: reverse("api:page-detail", args=[o.page.pk])),
    ("api:page-acknowledge", "POST"): Call(lambda o: reverse("api:page-acknowledge", args=[o.page.pk]), json=True),
    ("api:break-glass-list", "GET"): Call(url("api:break-glass-list")),
    ("api:break-glass-list", "POST"): Call(
        url("api:break-glass-list"), lambda o: {"request": o.service_request.reference, **BREAK_GLASS}, json=True
    ),
    ("api:break-glass-review", "POST"): Call(
        lambda o: reverse("api:break-glass-review", args=[o.grant.pk]), REVIEW, json=True
    ),
    # hypercare and post-incident reviews
    ("hypercare-list", "GET"): Call(url("hypercare-list")),
    ("request-hypercare-open", "POST"): Call(release_url("request-hypercare-open"), HYPERCARE_FORM),
    ("request-hypercare-open", "GET"): Call(release_url("request-hypercare-open")),
    ("request-review", "GET"): Call(incident_url("request-review")),
    ("request-review", "POST"): Call(incident_url("request-review"), REVIEW_FORM),
    ("request-review-open", "POST"): Call(incident_url("request-review-open")),
    ("request-review-open", "GET"): Call(incident_url("request-review-open")),
    ("request-review-publish", "POST"): Call(incident_url("request-review-publish")),
    ("request-review-publish", "GET"): Call(incident_url("request-review-publish")),
    ("request-review-action-item", "POST"): Call(incident_url("request-review-action-item"), ACTION_ITEM),
    ("request-review-action-item", "GET"): Call(incident_url("request-review-action-item")),
    ("api:hypercare-list", "GET"): Call(url("api:hypercare-list")),
    ("api:hypercare-list", "POST"): Call(
        url("api:hypercare-list"), lambda o: {"request": o.release.reference, "days": 5}, json=True
    ),
    ("api:request-review", "GET"): Call(incident_url("api:request-review")),
    ("api:request-review", "PUT"): Call(incident_url("api:request-review"), {"root_cause": "matrix cause"}, json=True),
    ("api:request-review-publish", "POST"): Call(incident_url("api:request-review-publish")),
    ("api:request-review-action-items", "POST"): Call(
        incident_url("api:request-review-action-items"), ACTION_ITEM, json=True
    ),
    # reports
    ("reports-dashboard", "GET"): Call(url("reports-dashboard")),
    ("reports-weekly", "GET"): Call(url("reports-weekly", query=f"week={WEEK}")),
    ("reports-weekly-csv", "GET"): Call(url("reports-weekly-csv", query=f"week={WEEK}")),
    ("reports-weekly-breaches-csv", "GET"): Call(url("reports-weekly-breaches-csv", query=f"week={WEEK}")),
    ("reports-weekly-incidents-csv", "GET"): Call(url("reports-weekly-incidents-csv", query=f"week={WEEK}")),
    ("reports-weekly-pdf", "GET"): Call(url("reports-weekly-pdf", query=f"week={WEEK}")),
    ("reports-metrics", "GET"): Call(url("reports-metrics")),
    # the request portal
    ("home", "GET"): Call(url("home")),
    ("request-new", "GET"): Call(url("request-new")),
    ("request-new", "POST"): Call(url("request-new"), filing_form),
    ("request-new-validate", "POST"): Call(url("request-new-validate", query="field=title"), {"title": "x"}),
    ("request-detail", "GET"): Call(DETAIL),
    ("request-edit", "GET"): Call(ref("request-edit")),
    ("request-edit", "POST"): Call(ref("request-edit"), EDIT_FORM),
    ("request-transition", "POST"): Call(ref("request-transition", "resolve"), RESOLVE_FORM),
    ("request-transition", "GET"): Call(ref("request-transition", "resolve")),
    ("request-comment", "POST"): Call(ref("request-comment"), COMMENT),
    ("request-link-add", "POST"): Call(ref("request-link-add"), LINK),
    ("request-link-remove", "POST"): Call(link_url("request-link-remove")),
    ("request-extend", "POST"): Call(ref("request-extend"), EXTEND),
    ("request-extend", "GET"): Call(ref("request-extend")),
    ("vendor-queue", "GET"): Call(url("vendor-queue")),
    ("triage-inbox", "GET"): Call(url("triage-inbox")),
    ("approvals", "GET"): Call(url("approvals")),
    ("notification-list", "GET"): Call(url("notification-list")),
    ("notification-mark-all-read", "POST"): Call(url("notification-mark-all-read")),
    ("notification-unread", "GET"): Call(url("notification-unread")),
    ("notification-deliveries", "GET"): Call(url("notification-deliveries")),
    ("notification-settings", "GET"): Call(url("notification-settings")),
    ("notification-settings", "POST"): Call(
        url("notification-settings"), {"email": "digest", "in_app": "immediate", "chat": "off"}
    ),
    ("request-watch", "POST"): Call(ref("request-watch"), {"action": "watch"}),
    ("api:me-notification-settings", "GET"): Call(url("api:me-notification-settings")),
    ("api:me-notification-settings", "PUT"): Call(url("api:me-notification-settings"), {"email": "off"}, json=True),
    ("api:request-watchers", "GET"): Call(ref("api:request-watchers")),
    ("api:request-watchers", "POST"): Call(ref("api:request-watchers"), {}, json=True),
    ("api:request-watchers", "DELETE"): Call(ref("api:request-watchers")),
    ("api:request-mentionable", "GET"): Call(ref("api:request-mentionable", q="a")),
    ("request-mentionable", "GET"): Call(ref("request-mentionable", q="a")),
    ("api:chat-webhook-list", "GET"): Call(url("api:chat-webhook-list")),
    ("api:chat-webhook-list", "POST"): Call(url("api:chat-webhook-list"), CHAT_WEBHOOK, json=True),
    ("api:chat-webhook-detail", "DELETE"): Call(lambda o: reverse("api:chat-webhook-detail", args=[o.chat_webhook.pk])),
    ("provisioning-runs", "GET"): Call(ref("provisioning-runs")),
    ("provisioning-runs", "POST"): Call(ref("provisioning-runs")),
    ("provisioning-run-retry", "POST"): Call(run_url("provisioning-run-retry")),
    ("provisioning-run-cancel", "POST"): Call(run_url("provisioning-run-cancel"), CANCEL_FORM),
    ("provisioning-run-cancel", "POST", "stuck run"): Call(stuck_run_url("provisioning-run-cancel"), CANCEL_FORM),
    ("provisioning-run-resume", "POST"): Call(run_url("provisioning-run-resume")),
    ("provisioning-run-resume", "POST", "stuck run"): Call(stuck_run_url("provisioning-run-resume")),
    # the management area: partner onboarding of vendor A in the world's environment (live there)
    ("backoffice-onboarding", "GET"): Call(url("backoffice-onboarding")),
    ("backoffice-onboarding-detail", "GET"): Call(onboarding_url("backoffice-onboarding-detail")),
    ("backoffice-onboarding-move", "POST"): Call(onboarding_url("backoffice-onboarding-move"), PAUSE_FORM),
    ("backoffice-onboarding-move", "GET"): Call(onboarding_url("backoffice-onboarding-move")),
    ("backoffice-onboarding-tick", "POST"): Call(onboarding_url("backoffice-onboarding-tick"), TICK),
    ("backoffice-onboarding-revoke", "POST"): Call(
        onboarding_url("backoffice-onboarding-revoke"), {"revoke-reason": "x"}
    ),
    ("backoffice-onboarding-document", "GET"): Call(
        lambda o: reverse("backoffice-onboarding-document", args=["optit", "punjab", o.nda_step])
    ),
    ("api:vendor-onboarding-list", "GET"): Call(lambda o: reverse("api:vendor-onboarding-list", args=["optit"])),
    ("api:vendor-onboarding-move", "POST"): Call(
        onboarding_url("api:vendor-onboarding-move"), {"to": "paused", "reason": "From the matrix"}, json=True
    ),
    ("api:vendor-onboarding-tick", "POST"): Call(onboarding_url("api:vendor-onboarding-tick"), TICK, json=True),
}

# --- the expectations ----------------------------------------------------------------------------------------
# fmt: off
MATRIX: dict[tuple[str, ...], str] = {
    # route, method[, variant]                  anon   req_a  req_b  eng_a  lead_a eng_b  lead_b pm     egov
    ("healthz", "GET"):                        "200    200    200    200    200    200    200    200    200",
    ("favicon", "GET"):                        "302    302    302    302    302    302    302    302    302",
    ("readyz", "GET"):                         "200    200    200    200    200    200    200    200    200",
    ("metrics", "GET"):                        "403    403    403    403    403    403    403    403    403",
    ("metrics", "GET", "allowed network"):     "200    200    200    200    200    200    200    200    200",
    ("login", "GET"):                          "200    302    302    302    302    302    302    302    302",
    ("login", "POST"):                         "200    302    302    302    302    302    302    302    302",
    ("logout", "GET"):                         "405    405    405    405    405    405    405    405    405",
    ("logout", "POST"):                        "L302   L302   L302   L302   L302   L302   L302   L302   L302",
    ("otp-verify", "GET"):                     "L302   302    302    302    302    302    302    302    302",
    ("otp-verify", "POST"):                    "L302   302    302    302    302    302    302    302    302",
    ("otp-setup", "GET"):                      "L302   200    200    200    200    200    200    200    200",
    ("otp-setup", "POST"):                     "L302   400    400    400    400    400    400    400    400",
    # single sign-on is off in the test settings (tests/test_sso.py turns it on)
    ("sso-login", "GET"):                      "404    404    404    404    404    404    404    404    404",
    ("sso-callback", "GET"):                   "404    404    404    404    404    404    404    404    404",
    # password reset answers the same whoever asks; change needs a session (a wrong current password: the form again)
    ("password_reset", "GET"):                 "200    200    200    200    200    200    200    200    200",
    ("password_reset", "POST"):                "302    302    302    302    302    302    302    302    302",
    ("password_reset_done", "GET"):            "200    200    200    200    200    200    200    200    200",
    ("password_reset_confirm", "GET"):         "200    200    200    200    200    200    200    200    200",
    ("password_reset_complete", "GET"):        "200    200    200    200    200    200    200    200    200",
    ("password_change", "GET"):                "L302   200    200    200    200    200    200    200    200",
    ("password_change", "POST"):               "L302   200    200    200    200    200    200    200    200",
    ("password_change_done", "GET"):           "L302   200    200    200    200    200    200    200    200",
    ("account-timezone", "GET"):               "L302   200    200    200    200    200    200    200    200",
    ("account-timezone", "POST"):              "L302   302w   302w   302w   302w   302w   302w   302w   302w",
    ("account-tokens", "GET"):                 "L302   200    200    200    200    200    200    200    200",
    ("account-tokens", "POST"):                "L302   200w   200w   200w   200w   200w   200w   200w   200w",
    ("account-token-revoke", "GET"):           "L302   200    404    404    404    404    404    404    404",
    ("account-token-revoke", "POST"):          "L302   302w   404    404    404    404    404    404    404",
    # the API (401 without credentials; outside visibility 404)
    ("api:me", "GET"):                         "401    200    200    200    200    200    200    200    200",
    ("api:saved-view-list", "GET"):            "401    200    200    200    200    200    200    200    200",
    ("api:saved-view-list", "POST"):           "401    201    201    201    201    201    201    201    201",
    ("api:saved-view-detail", "GET"):          "401    404    404    404    404    404    404    404    404",
    ("api:requests-bulk", "POST"):             "401    200    200    200    200    200    200    200    200",
    ("desk-bulk", "POST"):                     "L302   200    200    200    200    200    200    200    200",
    ("saved-view-save", "POST"):               "L302   302    302    302    302    302    302    302    302",
    ("saved-view-default", "POST"):            "L302   404    404    404    404    404    404    404    404",
    ("saved-view-delete", "POST"):             "L302   404    404    404    404    404    404    404    404",
    ("api:me-tokens", "GET"):                  "401    200    200    200    200    200    200    200    200",
    ("api:me-tokens", "POST"):                 "401    201w   201w   201w   201w   201w   201w   201w   201w",
    ("api:me-token", "GET"):                   "401    405    405    405    405    405    405    405    405",
    ("api:me-token", "DELETE"):                "401    204w   404    404    404    404    404    404    404",
    ("api:request-list", "GET"):               "401    200    200    200    200    200    200    200    200",
    ("api:request-list", "POST"):              "401    201w   201w   403    403    403    403    403    403",
    ("api:request-detail", "GET"):             "401    200    404    200    200    404    404    200    200",
    ("api:request-detail", "PATCH"):           "401    200w   404    403    403    404    404    200w   403",
    ("api:request-detail", "DELETE"):          "401    405    405    405    405    405    405    405    405",
    ("api:request-comments", "GET"):           "401    200    404    200    200    404    404    200    200",
    ("api:request-comments", "POST"):          "401    201w   404    201w   201w   404    404    201w   201w",
    ("api:request-events", "GET"):             "401    200    404    200    200    404    404    200    200",
    ("api:request-links", "GET"):              "401    200    404    200    200    404    404    200    200",
    ("api:request-links", "POST"):             "401    201w   404    201w   201w   404    404    201w   201w",
    ("api:request-link", "DELETE"):            "401    204w   404    204w   204w   404    404    204w   204w",
    ("api:request-transitions", "GET"):        "401    200    404    200    200    404    404    200    200",
    ("api:request-transition", "POST"):        "401    403    404    200w   200w   404    404    403    403",
    ("api:request-transition", "GET"):         "401    405    405    405    405    405    405    405    405",
    ("api:request-extensions", "POST"):        "401    403    404    403    403    404    404    200w   403",
    ("api:request-extensions", "GET"):         "401    405    405    405    405    405    405    405    405",
    ("api:vendor-list", "GET"):                "401    200    200    200    200    200    200    200    200",
    ("api:environment-list", "GET"):           "401    200    200    200    200    200    200    200    200",
    ("api:stack-list", "GET"):                 "401    200    200    200    200    200    200    200    200",
    ("api:team-list", "GET"):                  "401    200    200    200    200    200    200    200    200",
    ("api:reports-sla", "GET"):                "401    403    403    403    200    403    200    200    200",
    ("api:reports-metrics", "GET"):            "401    403    403    403    200    403    200    200    200",
    ("api:schema", "GET"):                     "200    200    200    200    200    200    200    200    200",
    ("api:docs", "GET"):                       "200    200    200    200    200    200    200    200    200",
    ("api:redoc", "GET"):                      "200    200    200    200    200    200    200    200    200",
    ("api:jira-webhook", "POST"):              "401    401    401    401    401    401    401    401    401",
    ("api:jira-webhook", "GET"):               "405    405    405    405    405    405    405    405    405",
    # Alertmanager's webhook takes only its own credential: a session is no credential
    ("api:alertmanager-webhook", "POST"):      "401    401    401    401    401    401    401    401    401",
    ("api:alertmanager-webhook", "GET"):       "405    405    405    405    405    405    405    405    405",
    ("api:request-runs", "GET"):               "401    200    404    200    200    404    404    200    200",
    ("api:request-runs", "POST"):              "401    403    404    201w   201w   404    404    403    403",
    ("api:request-plan", "GET"):               "401    200    404    200    200    404    404    200    200",
    ("api:request-run-retry", "POST"):         "401    403    404    200w   200w   404    404    403    403",
    ("api:request-run-cancel", "POST"):        "401    403    404    409    409    404    404    409    403",
    ("api:request-run-cancel", "POST", "stuck run"): "401    403    404    200w   200w   404    404    200w   403",
    ("api:request-run-resume", "POST"):        "401    403    404    409    409    404    404    409    403",
    ("api:request-run-resume", "POST", "stuck run"): "401    403    404    200w   200w   404    404    200w   403",
    ("api/^(?P<path>.*)$", "GET"):             "404    404    404    404    404    404    404    404    404",
    ("api:request-attachments", "GET"):        "401    200    404    200    200    404    404    200    200",
    ("api:request-attachments", "POST"):       "401    201w   404    201w   201w   404    404    201w   201w",
    ("api:request-attachment-download", "GET"): "401    200    404    200    200    404    404    200    200",
    ("api:canned-response-list", "GET"):       "401    200    200    200    200    200    200    200    200",
    # the management area's API: the PM and eGov DevOps read, the PM writes; partners list and acknowledge the
    # announcements for them (vendor A's here), and nobody else's
    ("api:management-change-list", "GET"):     "401    403    403    403    403    403    403    200    200",
    ("api:routing-rule-list", "GET"):          "401    403    403    403    403    403    403    200    200",
    ("api:routing-rule-list", "POST"):         "401    403    403    403    403    403    403    201w   403",
    ("api:routing-rule-detail", "GET"):        "401    403    403    403    403    403    403    200    200",
    ("api:routing-rule-detail", "PATCH"):      "401    403    403    403    403    403    403    200w   403",
    ("api:routing-rule-detail", "DELETE"):     "401    403    403    403    403    403    403    204w   403",
    ("api:routing-rule-test", "POST"):         "401    403    403    403    403    403    403    200    200",
    ("api:announcement-list", "GET"):          "401    200    200    200    200    200    200    200    200",
    ("api:announcement-list", "POST"):         "401    403    403    403    403    403    403    201w   403",
    ("api:announcement-detail", "GET"):        "401    404    404    200    200    404    404    200    200",
    ("api:announcement-detail", "PATCH"):      "401    403    403    403    403    403    403    200w   403",
    ("api:announcement-detail", "DELETE"):     "401    403    403    403    403    403    403    204w   403",
    ("api:announcement-acknowledgements", "GET"): "401    403    403    403    403    403    403    200    200",
    ("api:announcement-acknowledge", "POST"):  "401    404    404    200w   200w   404    404    404    404",
    # attachments follow the request's visibility; canned responses are kept by vendor leads (their vendor's: vendor
    # A's row is another vendor's to lead_b and the PM) and the PM; the inbound mail review is the PM's
    ("attachment-upload", "POST"):             "L302   302w   404    302w   302w   404    404    302w   302w",
    ("attachment-upload", "GET"):              "L302   405    405    405    405    405    405    405    405",
    ("attachment-get", "GET"):                 "L302   200    404    200    200    404    404    200    200",
    # the management area: the PM and eGov DevOps look, the PM changes; the banner's acknowledgement is vendor A's
    ("backoffice-home", "GET"):                "L302   403    403    403    403    403    403    200    200",
    ("backoffice-history", "GET"):             "L302   403    403    403    403    403    403    200    200",
    ("backoffice-routing", "GET"):             "L302   403    403    403    403    403    403    200    200",
    ("backoffice-routing-test", "GET"):        "L302   403    403    403    403    403    403    200    200",
    ("backoffice-routing-new", "GET"):         "L302   403    403    403    403    403    403    200    403",
    ("backoffice-routing-new", "POST"):        "L302   403    403    403    403    403    403    302w   403",
    ("backoffice-routing-edit", "GET"):        "L302   403    403    403    403    403    403    200    403",
    ("backoffice-routing-edit", "POST"):       "L302   403    403    403    403    403    403    302w   403",
    ("backoffice-routing-delete", "POST"):     "L302   403    403    403    403    403    403    302w   403",
    ("announcement-manage", "GET"):            "L302   403    403    403    403    403    403    200    200",
    ("announcement-new", "GET"):               "L302   403    403    403    403    403    403    200    403",
    ("announcement-new", "POST"):              "L302   403    403    403    403    403    403    302w   403",
    ("announcement-detail", "GET"):            "L302   403    403    403    403    403    403    200    200",
    ("announcement-edit", "GET"):              "L302   403    403    403    403    403    403    200    403",
    ("announcement-edit", "POST"):             "L302   403    403    403    403    403    403    302w   403",
    ("announcement-withdraw", "POST"):         "L302   403    403    403    403    403    403    302w   403",
    ("announcement-acknowledge", "POST"):      "L302   404    404    302w   302w   404    404    404    404",
    ("canned-list", "GET"):                    "L302   403    403    403    200    403    200    200    403",
    ("canned-list", "POST"):                   "L302   403    403    403    302w   403    302w   302w   403",
    ("canned-edit", "GET"):                    "L302   403    403    403    200    403    404    404    403",
    ("canned-edit", "POST"):                   "L302   403    403    403    302w   403    404    404    403",
    ("canned-delete", "POST"):                 "L302   403    403    403    302w   403    404    404    403",
    ("canned-delete", "GET"):                  "L302   405    405    405    405    405    405    405    405",
    # the management area: the program manager and eGov DevOps
    # SLA policies: the program manager revises them, eGov DevOps reads them
    ("backoffice-sla-policies", "GET"):        "L302   403    403    403    403    403    403    200    200",
    ("backoffice-sla-policy-revise", "GET"):   "L302   403    403    403    403    403    403    200    403",
    ("backoffice-sla-policy-revise", "POST"):  "L302   403    403    403    403    403    403    302w   403",
    ("api:sla-policy-list", "GET"):            "401    403    403    403    403    403    403    200    200",
    ("api:sla-policy-list", "POST"):           "401    403    403    403    403    403    403    201w   403",
    ("api:sla-policy-detail", "GET"):          "401    403    403    403    403    403    403    200    200",
    ("api:sla-policy-what-if", "POST"):        "401    403    403    403    403    403    403    200    403",
    ("inbound-list", "GET"):                   "L302   403    403    403    403    403    403    200    403",
    ("inbound-raw", "GET"):                    "L302   403    403    403    403    403    403    200    403",
    # the management area: the program manager and eGov DevOps read; only the program manager changes calendars
    ("backoffice-calendars", "GET"):           "L302   403    403    403    403    403    403    200    200",
    ("backoffice-calendars", "POST"):          "L302   403    403    403    403    403    403    302w   403",
    ("backoffice-calendar", "GET"):            "L302   403    403    403    403    403    403    200    200",
    ("backoffice-calendar-year", "GET"):       "L302   403    403    403    403    403    403    200    200",
    ("backoffice-calendar-settings", "GET"):   "L302   403    403    403    403    403    403    200    403",
    ("backoffice-calendar-settings", "POST"):  "L302   403    403    403    403    403    403    302w   403",
    ("backoffice-calendar-import", "GET"):     "L302   403    403    403    403    403    403    200    403",
    ("backoffice-calendar-import", "POST"):    "L302   403    403    403    403    403    403    200    403",
    ("backoffice-calendar-import", "POST", "confirm"): "L302   403    403    403    403    403    403    302w   403",
    ("backoffice-calendar-day-add", "POST"):   "L302   403    403    403    403    403    403    302w   403",
    ("backoffice-calendar-day-add", "GET"):    "L302   405    405    405    405    405    405    405    405",
    ("backoffice-calendar-day-remove", "POST"): "L302   403    403    403    403    403    403    302w   403",
    ("backoffice-calendar-day-remove", "GET"): "L302   405    405    405    405    405    405    405    405",
    ("backoffice-calendar-closure-add", "POST"): "L302   403    403    403    403    403    403    302w   403",
    ("backoffice-calendar-closure-add", "GET"): "L302   405    405    405    405    405    405    405    405",
    ("backoffice-calendar-closure-remove", "POST"): "L302   403    403    403    403    403    403    302w   403",
    ("backoffice-calendar-closure-remove", "GET"): "L302   405    405    405    405    405    405    405    405",
    ("api:calendar-list", "GET"):              "401    403    403    403    403    403    403    200    200",
    ("api:calendar-detail", "GET"):            "401    403    403    403    403    403    403    200    200",
    ("api:calendar-day-add", "POST"):          "401    403    403    403    403    403    403    201w   403",
    ("api:calendar-day-remove", "POST"):       "401    403    403    403    403    403    403    200w   403",
    ("api:calendar-closure-add", "POST"):      "401    403    403    403    403    403    403    201w   403",
    ("api:calendar-environment-link", "POST"): "401    403    403    403    403    403    403    200w   403",
    ("api:calendar-import", "POST"):           "401    403    403    403    403    403    403    200    403",
    # on call: every rota's people see it in the API (a requester none); the PM keeps every rota, a vendor lead their
    # vendor's (lead_a's new rota clashes with vendor A's own: 400); the calendar feed answers its token, not a session
    ("api:oncall-list", "GET"):                "401    200    200    200    200    200    200    200    200",
    ("oncall-list", "GET"):                    "L302   403    403    403    200    403    200    200    403",
    ("oncall-list", "POST"):                   "L302   403    403    403    400    403    302w   302w   403",
    ("oncall-rota", "GET"):                    "L302   403    403    403    200    403    404    200    403",
    ("oncall-rota", "POST"):                   "L302   403    403    403    302w   403    404    302w   403",
    ("oncall-override-add", "POST"):           "L302   403    403    403    302w   403    404    302w   403",
    ("oncall-override-add", "GET"):            "L302   405    405    405    405    405    405    405    405",
    ("oncall-override-delete", "POST"):        "L302   403    403    403    302w   403    404    302w   403",
    ("oncall-override-delete", "GET"):         "L302   405    405    405    405    405    405    405    405",
    ("oncall-token-reset", "POST"):            "L302   403    403    403    302w   403    404    302w   403",
    ("oncall-token-reset", "GET"):             "L302   405    405    405    405    405    405    405    405",
    ("oncall-rota-delete", "POST"):            "L302   403    403    403    302w   403    404    302w   403",
    ("oncall-rota-delete", "GET"):             "L302   405    405    405    405    405    405    405    405",
    ("oncall-calendar", "GET"):                "200    200    200    200    200    200    200    200    200",
    ("oncall-calendar", "GET", "no token"):    "404    404    404    404    404    404    404    404    404",
    # paging: the signed link stands for the paged person, whoever follows it; only they acknowledge by button or API.
    # break-glass: the matrix's request is no P0 production issue, so a taker who sees it is refused (a message, or
    # 403); eGov DevOps alone reviews
    ("page-acknowledge-link", "GET"):          "200    200    200    200    200    200    200    200    200",
    ("page-acknowledge-link", "POST"):         "302w   302w   302w   302w   302w   302w   302w   302w   302w",
    ("page-acknowledge-link", "GET", "forged"): "404   404    404    404    404    404    404    404    404",
    ("page-acknowledge", "POST"):              "L302   403    404    302w   403    404    404    403    403",
    ("page-acknowledge", "GET"):               "L302   405    405    405    405    405    405    405    405",
    ("break-glass-take", "POST"):              "L302   302    404    302    302    404    404    302    302",
    ("break-glass-take", "GET"):               "L302   405    405    405    405    405    405    405    405",
    ("break-glass-review", "POST"):            "L302   403    403    403    403    403    403    403    302w",
    ("break-glass-review", "GET"):             "L302   405    405    405    405    405    405    405    405",
    ("api:page-list", "GET"):                  "401    200    200    200    200    200    200    200    200",
    ("api:page-detail", "GET"):                "401    200    404    200    200    404    404    200    200",
    ("api:page-acknowledge", "POST"):          "401    403    404    200w   403    404    404    403    403",
    ("api:break-glass-list", "GET"):           "401    200    200    200    200    200    200    200    200",
    ("api:break-glass-list", "POST"):          "401    403    404    403    403    404    404    403    403",
    ("api:break-glass-review", "POST"):        "401    403    404    403    403    404    404    403    200w",
    # hypercare: anyone signed in reads the report (only windows and issues they see); the PM or the requester's team
    # opens a window on a resolved release. Reviews: whoever sees the request sees its review; the PM, the vendor and
    # the requester's team write it; the PM or vendor A's lead publish; action items are filed by those who file
    # requests (vendors cannot: 302 with a message, 403 in the API); the matrix incident already has its review
    ("hypercare-list", "GET"):                 "L302   200    200    200    200    200    200    200    200",
    ("request-hypercare-open", "POST"):        "L302   302w   404    302    302    404    404    302w   302",
    ("request-hypercare-open", "GET"):         "L302   405    405    405    405    405    405    405    405",
    ("request-review", "GET"):                 "L302   200    404    200    200    404    404    200    200",
    ("request-review", "POST"):                "L302   302w   404    302w   302w   404    404    302w   302",
    ("request-review-open", "POST"):           "L302   302    404    302    302    404    404    302    302",
    ("request-review-open", "GET"):            "L302   405    405    405    405    405    405    405    405",
    ("request-review-publish", "POST"):        "L302   302    404    302    302w   404    404    302w   302",
    ("request-review-publish", "GET"):         "L302   405    405    405    405    405    405    405    405",
    ("request-review-action-item", "POST"):    "L302   302w   404    302    302    404    404    302w   302",
    ("request-review-action-item", "GET"):     "L302   405    405    405    405    405    405    405    405",
    ("api:hypercare-list", "GET"):             "401    200    200    200    200    200    200    200    200",
    ("api:hypercare-list", "POST"):            "401    201w   404    403    403    404    404    201w   403",
    ("api:request-review", "GET"):             "401    200    404    200    200    404    404    200    200",
    ("api:request-review", "PUT"):             "401    200w   404    200w   200w   404    404    200w   403",
    ("api:request-review-publish", "POST"):    "401    403    404    403    200w   404    404    200w   403",
    ("api:request-review-action-items", "POST"): "401    201w   404    403    403    404    404    201w   403",
    # reports: program manager, eGov DevOps and vendor leads (their own vendor)
    ("reports-dashboard", "GET"):              "L302   403    403    403    200    403    200    200    200",
    ("reports-weekly", "GET"):                 "L302   403    403    403    200    403    200    200    200",
    ("reports-weekly-csv", "GET"):             "L302   403    403    403    200    403    200    200    200",
    ("reports-weekly-breaches-csv", "GET"):    "L302   403    403    403    200    403    200    200    200",
    ("reports-weekly-incidents-csv", "GET"):   "L302   403    403    403    200    403    200    200    200",
    ("reports-weekly-pdf", "GET"):             "L302   403    403    403    200    403    200    200    200",
    ("reports-metrics", "GET"):                "L302   403    403    403    200    403    200    200    200",
    # the request portal (outside visibility 404; refused actions go back with a message and write nothing)
    ("home", "GET"):                           "L302   200    200    200    200    200    200    200    200",
    # the PM and eGov DevOps file on behalf of a team: the form asks which (without one, the form again)
    ("request-new", "GET"):                    "L302   200    200    403    403    403    403    200    200",
    ("request-new", "POST"):                   "L302   302w   302w   403    403    403    403    200    200",
    ("request-new-validate", "POST"):          "L302   200    200    200    200    200    200    200    200",
    ("request-detail", "GET"):                 "L302   200    404    200    200    404    404    200    200",
    ("request-edit", "GET"):                   "L302   200    404    403    403    404    404    200    403",
    ("request-edit", "POST"):                  "L302   302w   404    403    403    404    404    302w   403",
    ("request-transition", "POST"):            "L302   302    404    302w   302w   404    404    302    302",
    ("request-transition", "GET"):             "L302   405    405    405    405    405    405    405    405",
    ("request-comment", "POST"):               "L302   302w   404    302w   302w   404    404    302w   302w",
    ("request-link-add", "POST"):              "L302   302w   404    302w   302w   404    404    302w   302w",
    ("request-link-remove", "POST"):           "L302   302w   404    302w   302w   404    404    302w   302w",
    # extending a due time: the program manager only (others who see the request: 403)
    ("request-extend", "POST"):                "L302   403    404    403    403    404    404    302w   403",
    ("request-extend", "GET"):                 "L302   405    405    405    405    405    405    405    405",
    ("vendor-queue", "GET"):                   "L302   403    403    200    200    200    200    403    403",
    ("triage-inbox", "GET"):                   "L302   403    403    403    403    403    403    200    403",
    ("approvals", "GET"):                      "L302   403    403    403    403    403    403    403    200",
    ("notification-list", "GET"):              "L302   200    200    200    200    200    200    200    200",
    ("notification-mark-all-read", "POST"):    "L302   302w   302w   302w   302w   302w   302w   302w   302w",
    # conversations: settings are anyone's own; watching needs sight of the request; deliveries and chat: the PM
    ("notification-unread", "GET"):            "L302   200    200    200    200    200    200    200    200",
    ("notification-deliveries", "GET"):        "L302   403    403    403    403    403    403    200    403",
    ("notification-settings", "GET"):          "L302   200    200    200    200    200    200    200    200",
    ("notification-settings", "POST"):         "L302   302w   302w   302w   302w   302w   302w   302w   302w",
    ("request-watch", "POST"):                 "L302   302w   404    302w   302w   404    404    302w   302w",
    ("api:me-notification-settings", "GET"):   "401    200    200    200    200    200    200    200    200",
    ("api:me-notification-settings", "PUT"):   "401    200w   200w   200w   200w   200w   200w   200w   200w",
    ("api:request-watchers", "GET"):           "401    200    404    200    200    404    404    200    200",
    ("api:request-watchers", "POST"):          "401    200w   404    200w   200w   404    404    200w   200w",
    ("api:request-watchers", "DELETE"):        "401    200    404    200    200    404    404    200    200",
    ("api:request-mentionable", "GET"):        "401    200    404    200    200    404    404    200    200",
    ("request-mentionable", "GET"):            "L302   200    404    200    200    404    404    200    200",
    ("api:chat-webhook-list", "GET"):          "401    403    403    403    403    403    403    200    403",
    ("api:chat-webhook-list", "POST"):         "401    403    403    403    403    403    403    201w   403",
    ("api:chat-webhook-detail", "DELETE"):     "401    403    403    403    403    403    403    204w   403",
    ("provisioning-runs", "GET"):              "L302   200    404    200    200    404    404    200    200",
    ("provisioning-runs", "POST"):             "L302   302    404    302w   302w   404    404    302    302",
    ("provisioning-run-retry", "POST"):        "L302   302    404    302w   302w   404    404    302    302",
    ("provisioning-run-cancel", "POST"):       "L302   302    404    302    302    404    404    302    302",
    ("provisioning-run-cancel", "POST", "stuck run"): "L302   302    404    302w   302w   404    404    302w   302",
    ("provisioning-run-resume", "POST"):       "L302   302    404    302    302    404    404    302    302",
    ("provisioning-run-resume", "POST", "stuck run"): "L302   302    404    302w   302w   404    404    302w   302",
    # the management area: the program manager and eGov DevOps; onboarding moves are the PM's, except access granted
    # (vendor A is live: pausing and ticking the live checklist are the PM's; revoking again needs an offboarded
    # vendor, so it is refused with a message)
    ("backoffice-onboarding", "GET"):          "L302   403    403    403    403    403    403    200    200",
    ("backoffice-onboarding-detail", "GET"):   "L302   403    403    403    403    403    403    200    200",
    ("backoffice-onboarding-move", "POST"):    "L302   403    403    403    403    403    403    302w   403",
    ("backoffice-onboarding-move", "GET"):     "L302   405    405    405    405    405    405    405    405",
    ("backoffice-onboarding-tick", "POST"):    "L302   403    403    403    403    403    403    302w   403",
    ("backoffice-onboarding-revoke", "POST"):  "L302   403    403    403    403    403    403    302    302",
    ("backoffice-onboarding-document", "GET"): "L302   403    403    403    403    403    403    200    200",
    ("api:vendor-onboarding-list", "GET"):     "401    403    403    403    403    403    403    200    200",
    ("api:vendor-onboarding-move", "POST"):    "401    403    403    403    403    403    403    200w   403",
    ("api:vendor-onboarding-tick", "POST"):    "401    403    403    403    403    403    403    200w   403",
}
# fmt: on


# --- the cells -----------------------------------------------------------------------------------------------
def _cells() -> Iterator[Any]:
    for key, row in MATRIX.items():
        expected = row.split()
        expected = expected * len(ROLES) if expected == ["?"] else expected
        assert len(expected) == len(ROLES), f"{key}: {len(expected)} cells for {len(ROLES)} roles"
        for role, cell in zip(ROLES, expected, strict=True):
            yield pytest.param(key, role, cell, id=f"{'|'.join(key)}|{role}")


def _count(queryset: Any) -> Subquery:
    return Subquery(queryset.order_by().values(one=Value(1)).annotate(n=Count("pk")).values("n")[:1])


def _writes() -> dict[str, Any]:
    """A fingerprint (one query) of everything a call may write; equal before and after means it wrote nothing."""
    return User.objects.order_by().values(
        requests=_count(ServiceRequest.objects.all()),
        titled=_count(ServiceRequest.objects.filter(title__contains="matrix")),
        events=_count(RequestEvent.objects.all()),
        runs=_count(ProvisioningRun.objects.all()),
        failed_runs=_count(ProvisioningRun.objects.filter(status="failed")),
        tokens=_count(ApiToken.objects.all()),
        live_tokens=_count(ApiToken.objects.filter(revoked_at__isnull=True)),
        unread=_count(Notification.objects.filter(read_at__isnull=True)),
        watch_rows=_count(Watcher.objects.all()),
        channel_choices=_count(ChannelSetting.objects.all()),
        chat_hooks=_count(ChatWebhook.objects.all()),
        attachments=_count(Attachment.objects.all()),
        canned=_count(CannedResponse.objects.all()),
        sla_policies=_count(SlaPolicy.objects.all()),
        canned_edited=_count(CannedResponse.objects.filter(body__contains="matrix")),
        zoned=_count(User.objects.exclude(timezone="")),
        onboarding_steps=_count(OnboardingStep.objects.all()),
        onboarding_ticks=_count(OnboardingTick.objects.all()),
        management_changes=_count(ChangeRecord.objects.all()),
        routing_rules=_count(RoutingRule.objects.all()),
        announcements=_count(Announcement.objects.all()),
        acknowledgements=_count(Acknowledgement.objects.all()),
        rotas=_count(OnCallRota.objects.all()),
        rotas_edited=_count(OnCallRota.objects.filter(shift_days=14)),
        rotas_retokened=_count(OnCallRota.objects.exclude(calendar_token="matrix")),
        overrides=_count(OnCallOverride.objects.all()),
        links=_count(RequestLink.objects.all()),
        hypercare_windows=_count(HypercareWindow.objects.all()),
        reviews_edited=_count(IncidentReview.objects.filter(root_cause__contains="matrix")),
        reviews_published=_count(IncidentReview.objects.filter(status="published")),
        action_items=_count(ActionItem.objects.all()),
    )[0]


def perform(objects: Objects, key: tuple[str, ...], role: str) -> tuple[Any, bool]:
    call = CALLS[key]
    client = Client(**call.extra)
    if role != "anon":
        client.cookies[settings.SESSION_COOKIE_NAME] = objects.sessions[role]
    data = call.data(objects) if callable(call.data) else call.data
    kwargs: dict[str, Any] = {}
    if data is not None:
        kwargs = {"data": data, "content_type": "application/json"} if call.json else {"data": data}
    before = _writes()
    response = getattr(client, key[1].lower())(call.url(objects), **kwargs)
    return response, _writes() != before


def describe(response: Any, wrote: bool) -> str:
    """The cell a response earns, in the table's notation."""
    code = str(response.status_code)
    if response.status_code == 302 and response["Location"].startswith(reverse("login")):
        code = "L302"
    return code + ("w" if wrote else "")


@pytest.mark.parametrize(("key", "role", "expected"), list(_cells()))
def test_cell(objects, db, key, role, expected):
    response, wrote = perform(objects, key, role)

    actual = describe(response, wrote)
    assert actual == expected, f"{' '.join(key)} as {role}: got {actual}, the matrix says {expected}"


# --- the table covers the URLconf ----------------------------------------------------------------------------
def _routes(patterns: list, prefix: str = "", namespace: str = "") -> Iterator[str]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}:{entry.namespace}" if namespace and entry.namespace else entry.namespace or namespace
            yield from _routes(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            route = prefix + str(entry.pattern)
            if route.startswith(SKIPPED_PREFIXES):
                continue
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield name or route


def test_every_route_is_in_the_matrix():
    routes = set(_routes(get_resolver().url_patterns))
    covered = {key[0] for key in MATRIX}

    missing = sorted(routes - covered)
    assert not missing, f"New URL patterns: add them to the authorisation matrix (MATRIX and CALLS): {missing}"
    assert not covered - routes, f"The matrix names routes that no longer exist: {sorted(covered - routes)}"


def test_every_row_says_how_to_call_it():
    assert set(MATRIX) == set(CALLS)


# --- the admin -----------------------------------------------------------------------------------------------
# The module's world is built once (`objects`), so these take it from there rather than building their own; `db`
# keeps what each writes in a savepoint of its own.
def test_the_admin_is_for_staff_only(objects, db, client):
    world = objects.world
    index = reverse("admin:index")
    assert client.get(index)["Location"].startswith(reverse("admin:login"))
    client.force_login(world.pm)
    assert client.get(index)["Location"].startswith(reverse("admin:login"))  # not staff: sent to the admin login
    client.force_login(User.objects.create_superuser("root", "root@example.org", "x" * 12))
    assert client.get(index).status_code == 200


def test_the_admin_cannot_change_or_delete_the_audit_trail(objects, db, client):
    event = file_request(objects.world).events.get()
    client.force_login(User.objects.create_superuser("root", "root@example.org", "x" * 12))

    change = client.post(reverse("admin:requests_app_requestevent_change", args=[event.pk]), {"message": "edited"})
    delete = client.post(reverse("admin:requests_app_requestevent_delete", args=[event.pk]), {"post": "yes"})

    assert change.status_code == 403 and delete.status_code == 403
    assert RequestEvent.objects.get(pk=event.pk).message == event.message
    assert RequestEvent in admin_site._registry


def test_every_test_on_the_module_world_also_takes_db():
    # `objects` holds one transaction open for the whole module; a test that writes without `db` (pytest-django's
    # `client` does not ask for it) leaves its rows in that transaction for the tests after it, and which test then
    # fails depends on the order and the process (the admin tests did, once).
    takes_world = {
        name: inspect.signature(function).parameters
        for name, function in globals().items()
        if name.startswith("test_") and callable(function) and "objects" in inspect.signature(function).parameters
    }

    assert takes_world, "no test takes the module's world: this check checks nothing"
    assert [name for name, parameters in takes_world.items() if "db" not in parameters] == []
