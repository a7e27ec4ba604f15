"""Every page, for every role, at a phone's and a laptop's width: no CSP violation, no console error, no horizontal
overflow, no serious or critical axe-core finding, no raw label. Screenshots land in tests/artifacts/screenshots/.

`test_every_page_is_walked_or_excluded` keeps the walk honest: a new browser page must join the walk or be named in
EXCLUDED with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from playwright.sync_api import expect

from announcements.services import announcement_post
from canned.models import CannedResponse
from incidents.hypercare import hypercare_open
from incidents.models import OnCallMember, OnCallRota
from integrations.models import Connection
from provisioning import services as provisioning_services
from provisioning.models import ProvisioningRun
from provisioning.tests.helpers import NAMESPACE_PARAMETERS, drive, in_progress
from requests_app import services
from requests_app.choices import Priority, RequestState, RequestType
from requests_app.models import RoutingRule
from requests_app.testing.workflow import walk_to
from sla.defaults import ensure_defaults
from tests.browser.support import LAPTOP, PHONE, Findings, Session, chromium

# Pages the walk does not open, and why. Everything else that a browser GETs must be walked.
EXCLUDED = {
    "request-new-validate": "POST only: the new-request form's inline check, exercised by filling in the form",
    "request-comment": "POST only: the comment form",
    "notification-mark-all-read": "POST only",
    "provisioning-runs": "an htmx partial, walked inside the request page",
    "provisioning-run-retry": "POST only",
    "provisioning-run-cancel": "POST only",
    "provisioning-run-resume": "POST only",
    "account-token-revoke": "POST only",
    "reports-weekly-csv": "a CSV download, not a page",
    "reports-weekly-pdf": "a PDF download, not a page",
    "healthz": "a probe for the load balancer, plain text",
    "readyz": "a probe for the load balancer, plain text",
    "metrics": "Prometheus metrics, plain text",
    "favicon": "an image (redirects to the SVG icon)",
    "logout": "POST only",
    "sso-login": "redirects to the identity provider",
    "sso-callback": "the identity provider's return address",
    "otp-verify": "only between password and second factor; covered by portal/otp tests",
    "password_reset_confirm": "needs a token from an e-mail; covered by the password-reset tests",
    "reports-weekly-breaches-csv": "a CSV download, not a page",
    "notification-unread": "an htmx partial (the unread badge), polled inside every page",
    "request-watch": "POST only: the watch buttons on the request page",
    "request-mentionable": "an htmx partial (the comment box's @mention suggestions), exercised by "
    "conversations/tests/test_mentions_browser.py",
    "saved-view-save": "POST only: the save form on the lists",
    "saved-view-default": "POST only",
    "saved-view-delete": "POST only",
    "desk-bulk": "POST only: its result page is walked by tests/browser/test_desk.py",
    "attachment-upload": "POST only: the upload form on the request page",
    "attachment-get": "a file download, not a page",
    "canned-delete": "POST only",
    "inbound-raw": "the raw message as received, a download",
    "backoffice-calendar-day-add": "POST only: a form on the calendar page",
    "backoffice-calendar-day-remove": "POST only: a form on the calendar page",
    "backoffice-calendar-closure-add": "POST only: a form on the calendar page",
    "backoffice-calendar-closure-remove": "POST only: a form on the calendar page",
    "backoffice-onboarding-move": "POST only: the move forms on the onboarding page",
    "backoffice-onboarding-tick": "POST only: the checklist buttons on the onboarding page",
    "backoffice-onboarding-revoke": "POST only: the revoke-again form on the onboarding page",
    "backoffice-onboarding-document": "a file download (the signed NDA), not a page",
    "backoffice-routing-delete": "POST only: the delete form on the rule's page",
    "announcement-withdraw": "POST only: the withdraw form on the announcement's page",
    "announcement-acknowledge": "POST only: the banner's button (tests/browser/test_routing_and_announcements.py)",
    "oncall-override-add": "POST only: the override form on the rota page",
    "oncall-override-delete": "POST only",
    "oncall-token-reset": "POST only",
    "oncall-rota-delete": "POST only",
    "oncall-calendar": "an iCalendar feed for calendar apps, not a page",
    "request-hypercare-open": "POST only: the hypercare form on the request page",
    "request-review-open": "POST only: the start-the-review button on the request page",
    "request-review-publish": "POST only: the publish button on the review page",
    "request-review-action-item": "POST only: the action-item form on the review page",
}
# Namespaces that are not pages of the portal itself.
EXCLUDED_PREFIXES = ("api/", "admin/")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def browser_url_names() -> set[str]:
    """Every named URL outside the API and the admin site."""
    names: set[str] = set()

    def visit(patterns: list, prefix: str) -> None:
        for entry in patterns:
            route = prefix + str(entry.pattern)
            if route.startswith(EXCLUDED_PREFIXES):
                continue
            if isinstance(entry, URLResolver):
                visit(entry.url_patterns, route)
            elif isinstance(entry, URLPattern) and entry.name:
                names.add(entry.name)

    visit(get_resolver().url_patterns, "")
    return names


@dataclass(frozen=True)
class Stop:
    """One page of the walk: the URL name it proves, the address, and a step to take there (fill a form...)."""

    name: str
    url: str
    shot: str
    act: Callable[[Session], None] | None = None


def _fill_new_request(session: Session) -> None:
    """Type into the form the way a person does; the needed-by check must not spray aborted requests."""
    page = session.page
    page.get_by_label("Title").fill("Namespace for mGramSeva UAT")
    page.get_by_label("Description").fill("A namespace with 4 CPUs and 8 GiB for the UAT rollout.")
    page.get_by_label("Request type").select_option("AccessOps")
    # Just-in-time access: only the chosen system's fields show.
    page.locator('[name="jit_access__system"]').select_option("kubernetes")
    expect(page.locator('[name="jit_access__kubernetes_namespace"]')).to_be_visible()
    expect(page.locator('[name="jit_access__gitlab_project"]')).to_be_hidden()
    page.get_by_label("Request type").select_option("InfraProvision")
    page.get_by_label("Environment").select_option(index=1)
    for priority in ("P2", "P3", "P4"):  # quick changes: the check waits for the last one, nothing is aborted
        page.get_by_label("Priority").select_option(priority)
    page.locator("#field-needed_by .field-error").wait_for()
    expect(page.locator("#field-needed_by .field-error")).to_contain_text("Required for P4")


def _comment(session: Session) -> None:
    """Post a comment: htmx swaps the timeline and a fresh form in, with no style attribute for the CSP to refuse."""
    page = session.page
    page.get_by_label("Comment").fill("Checked from a phone and a laptop.")
    page.get_by_label("Comment").evaluate("element => element.focus()")
    page.get_by_role("button", name="Add comment").click()
    page.locator("#timeline").get_by_text("Checked from a phone and a laptop.").first.wait_for()


def _preview_policy(session: Session) -> None:
    """Draft a P2 revision and look at its what-if (nothing is saved until it is confirmed)."""
    page = session.page
    page.get_by_role("spinbutton", name="Response goal").fill("4")
    page.get_by_label("Response goal in").select_option("hours")
    page.get_by_role("button", name="Show the what-if").click()
    expect(page.get_by_role("heading", name="What your P2 draft would change")).to_be_visible()


def stops_for(role: str, refs: dict[str, str]) -> list[Stop]:
    everyone = [
        Stop("home", "/", "home"),
        Stop("notification-list", "/notifications/", "notifications"),
        Stop("account-tokens", "/account/tokens/", "tokens"),
        Stop("otp-setup", "/accounts/otp/setup/", "two-factor"),
        Stop("password_change", "/account/password/", "password"),
        Stop("password_change_done", "/account/password/changed/", "password-changed"),
        Stop("account-timezone", "/account/time-zone/", "time-zone"),
        Stop("notification-settings", "/account/notifications/", "notification-settings"),
        Stop("request-detail", f"/requests/{refs['in_progress']}/", "request-in-progress"),
        Stop("request-detail", f"/requests/{refs['cancelled']}/", "request-cancelled"),
        Stop("request-detail", f"/requests/{refs['closed']}/", "request-closed"),
        Stop("request-detail", f"/requests/{refs['pending']}/", "request-pending-approval"),
        Stop("not-found", "/requests/REQ-999999/", "404"),
        Stop("hypercare-list", "/hypercare/", "hypercare"),
    ]
    by_role = {
        "requester": [
            Stop("request-new", "/requests/new/", "new-request", _fill_new_request),
            Stop("request-detail", f"/requests/{refs['in_progress']}/", "request-commented", _comment),
            Stop("request-transition", f"/requests/{refs['submitted']}/transitions/cancel/", "confirm-cancel"),
            Stop("request-edit", f"/requests/{refs['submitted']}/edit/", "request-edit"),
            Stop("request-detail", f"/requests/{refs['release']}/", "request-release-in-hypercare"),
            Stop("request-review", f"/requests/{refs['incident']}/review/", "incident-review"),
        ],
        "vendor_engineer": [Stop("vendor-queue", "/queue/", "queue")],
        "vendor_lead": [
            Stop("vendor-queue", "/queue/", "queue"),
            Stop("reports-dashboard", "/reports/", "reports"),
            Stop("reports-weekly", "/reports/weekly/", "weekly-report"),
            Stop("canned-list", "/canned-responses/", "canned-responses"),
            Stop("oncall-list", "/oncall/", "oncall"),
            Stop("oncall-rota", f"/oncall/{refs['rota']}/", "oncall-rota"),
            Stop("request-review", f"/requests/{refs['incident']}/review/", "incident-review-lead"),
        ],
        "pm": [
            Stop("triage-inbox", "/triage/", "triage"),
            Stop("reports-dashboard", "/reports/", "reports"),
            Stop("reports-weekly", "/reports/weekly/", "weekly-report"),
            Stop("request-transition", f"/requests/{refs['submitted']}/transitions/reject/", "confirm-reject"),
            Stop("request-edit", f"/requests/{refs['submitted']}/edit/", "request-edit-pm"),
            Stop("canned-list", "/canned-responses/", "canned-responses"),
            Stop("canned-edit", f"/canned-responses/{refs['canned']}/", "canned-edit"),
            Stop("notification-deliveries", "/notifications/deliveries/", "deliveries"),
            Stop("inbound-list", "/mail/inbound/", "inbound-mail"),
            Stop("backoffice-home", "/manage/", "manage"),
            Stop("backoffice-history", "/manage/history/", "manage-history"),
            Stop("backoffice-sla-policies", "/manage/sla-policies/", "manage-sla-policies"),
            Stop("backoffice-sla-policy-revise", "/manage/sla-policies/P2/revise/", "manage-sla-policy-draft"),
            Stop(
                "backoffice-sla-policy-revise",
                "/manage/sla-policies/P2/revise/",
                "manage-sla-policy-what-if",
                _preview_policy,
            ),
            Stop("backoffice-calendars", "/manage/calendars/", "manage-calendars"),
            Stop("backoffice-calendar", "/manage/calendars/bihar/", "manage-calendar"),
            Stop("backoffice-calendar-year", "/manage/calendars/bihar/year/?year=2026", "manage-calendar-year"),
            Stop("backoffice-calendar-settings", "/manage/calendars/bihar/settings/", "manage-calendar-settings"),
            Stop("backoffice-calendar-import", "/manage/calendars/bihar/import/", "manage-calendar-import"),
            Stop("backoffice-onboarding", "/manage/onboarding/", "manage-onboarding"),
            Stop("backoffice-onboarding-detail", "/manage/onboarding/optit/punjab/", "manage-onboarding-live"),
            Stop("backoffice-routing", "/manage/routing/", "manage-routing"),
            Stop("backoffice-routing-new", "/manage/routing/new/", "manage-routing-new"),
            Stop("backoffice-routing-edit", f"/manage/routing/{refs['rule']}/", "manage-routing-edit"),
            Stop("backoffice-routing-test", f"/manage/routing/test/?{refs['routing_test']}", "manage-routing-test"),
            Stop("announcement-manage", "/manage/announcements/", "manage-announcements"),
            Stop("announcement-new", "/manage/announcements/new/", "manage-announcement-new"),
            Stop("announcement-detail", f"/manage/announcements/{refs['announcement']}/", "manage-announcement"),
            Stop(
                "announcement-edit", f"/manage/announcements/{refs['announcement']}/edit/", "manage-announcement-edit"
            ),
            Stop("oncall-list", "/oncall/", "oncall"),
            Stop("oncall-rota", f"/oncall/{refs['rota']}/", "oncall-rota-pm"),
            Stop("request-review", f"/requests/{refs['incident']}/review/", "incident-review-pm"),
        ],
        "approver": [
            Stop("approvals", "/approvals/", "approvals"),
            Stop("request-transition", f"/requests/{refs['pending']}/transitions/deny/", "confirm-deny"),
            Stop("backoffice-home", "/manage/", "manage"),
            Stop("backoffice-sla-policies", "/manage/sla-policies/", "manage-sla-policies-read-only"),
            Stop("backoffice-calendar-year", "/manage/calendars/bihar/year/?year=2026", "manage-calendar-year-egov"),
            Stop("backoffice-onboarding", "/manage/onboarding/", "manage-onboarding"),
            Stop("backoffice-onboarding-detail", "/manage/onboarding/gwl/punjab/", "manage-onboarding-egov"),
            Stop("backoffice-routing", "/manage/routing/", "manage-routing"),
            Stop("announcement-detail", f"/manage/announcements/{refs['announcement']}/", "manage-announcement"),
        ],
    }
    return everyone + by_role[role]


ANONYMOUS = [
    Stop("login", "/accounts/login/", "login"),
    Stop("password_reset", "/accounts/password/reset/", "password-reset"),
    Stop("password_reset_done", "/accounts/password/reset/sent/", "password-reset-sent"),
    Stop("password_reset_complete", "/accounts/password/reset/done/", "password-reset-done"),
]
ROLES = ["requester", "vendor_engineer", "vendor_lead", "pm", "approver"]
WIDTHS = {"390": PHONE, "1366": LAPTOP}


def _world_with_every_kind_of_request(world, monkeypatch, k8s_stub) -> dict[str, str]:
    monkeypatch.setenv("PORTICO_TEST_K8S_TOKEN", k8s_stub.token)
    Connection.objects.create(
        environment=world.environment,
        system="kubernetes",
        url=k8s_stub.url,
        secret_env="PORTICO_TEST_K8S_TOKEN",
        timeout=3.0,
    )
    running = in_progress(world, **NAMESPACE_PARAMETERS)
    provisioning_services.run_start(service_request=running, actor=world.vendor_engineer)
    drive(ProvisioningRun.objects.get(service_request=running))
    services.request_comment(running, actor=world.requester, body="Any update on this?")
    canned = CannedResponse.objects.create(vendor=None, title="Routed", body="Routed to the vendor on duty.")
    ensure_defaults()  # the calendars the management stops open (a transactional test's flush removed them)
    rule = RoutingRule.objects.create(request_type=RequestType.GIT_OPS, environment=world.environment,
                                      vendor=world.vendor_a, note="OptIT owns GitOps here")  # fmt: skip
    # Every partner page of the walk carries this banner, so its markup meets the same checks as the page.
    announcement = announcement_post(actor=world.pm, title="Release freeze", body="No production deploys on Friday.")
    rota = OnCallRota.objects.create(vendor=world.vendor_a, environment=world.environment, starts_on=date(2026, 1, 5))
    OnCallMember.objects.create(rota=rota, user=world.vendor_engineer, position=1)
    OnCallMember.objects.create(rota=rota, user=world.vendor_lead, position=2)
    release = walk_to(world, RequestState.RESOLVED, request_type=RequestType.RELEASE, title="Release 2.4")
    hypercare_open(release, actor=world.pm)
    # Filed in the release's hypercare (raised one level) and resolved: it has a draft review.
    incident = walk_to(world, RequestState.RESOLVED, request_type=RequestType.PRODUCTION_ISSUE, priority=Priority.P1)
    return {
        "release": release.reference,
        "incident": incident.reference,
        "canned": str(canned.pk),
        "rule": str(rule.pk),
        "routing_test": f"request_type=GitOps&environment={world.environment.pk}&stack={world.stack.pk}",
        "announcement": str(announcement.pk),
        "rota": str(rota.pk),
        "submitted": walk_to(world, RequestState.SUBMITTED).reference,
        "in_progress": running.reference,
        "pending": walk_to(world, RequestState.PENDING_APPROVAL).reference,
        "cancelled": walk_to(world, RequestState.CANCELLED).reference,
        "closed": walk_to(world, RequestState.CLOSED).reference,
    }


def test_every_page_is_walked_or_excluded():
    walked = {stop.name for role in ROLES for stop in stops_for(role, _ANY_REFS)} | {s.name for s in ANONYMOUS}
    names = browser_url_names()
    forgotten = names - walked - set(EXCLUDED)
    assert not forgotten, f"walk these pages in test_every_page_every_role_every_width or exclude them: {forgotten}"
    stale = (set(EXCLUDED) | walked) - names - {"not-found"}
    assert not stale, f"these URL names no longer exist: {stale}"


_ANY_REFS = dict.fromkeys(
    ["submitted", "in_progress", "pending", "cancelled", "closed", "canned", "rule", "routing_test", "announcement",
     "rota", "release", "incident"],
    "REQ-000001",
)  # fmt: skip


def test_every_page_every_role_every_width(live_server, world, monkeypatch, k8s_stub):
    refs = _world_with_every_kind_of_request(world, monkeypatch, k8s_stub)
    users = {role: world.users[role].username for role in ROLES}
    problems: list[Findings] = []
    visited = 0
    with chromium() as browser:
        for width, viewport in WIDTHS.items():
            plan: list[tuple[str | None, str, list[Stop]]] = [(None, "anonymous", ANONYMOUS)]
            plan += [(users[role], role, stops_for(role, refs)) for role in ROLES]
            for username, label, stops in plan:
                session = Session(browser, live_server.url, username, viewport)
                for stop in stops:
                    session.page.goto(stop.url)
                    if stop.act:
                        stop.act(session)
                    session.shot(f"walk-{width}-{label}-{stop.shot}")
                    findings = session.check()
                    findings.url = f"{width} px, {label}: {findings.url}"
                    visited += 1
                    if findings:
                        problems.append(findings)
                session.context.close()
    assert visited > 50
    report = "\n".join(
        f"{f.url}: csp={f.csp} console={f.console} overflow={f.overflow} axe={f.axe} raw={f.raw_labels}"
        for f in problems
    )
    assert not problems, f"{len(problems)} pages failed:\n{report}"
