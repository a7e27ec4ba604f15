"""Every page, for every role, at a phone's, a tablet's and a laptop's width, and once more at the laptop's width in
the dark theme: no CSP violation, no console error, no horizontal overflow, no serious or critical axe-core finding
(colour contrast included), no raw label, no ARIA reference or label `for` naming no element, no id used twice. A
page that fails a check is screenshot to tests/artifacts/screenshots/; with PORTICO_WALK_SCREENSHOTS=1 every page is.

`test_every_page_is_walked_or_excluded` keeps the walk honest: a new browser page must join the walk or be named in
EXCLUDED with the reason. The README's screenshots are copies of walk screenshots (README_SHOTS): with
PORTICO_UPDATE_SCREENSHOTS=1 (`make screenshots`) a passing walk copies them to docs/screenshots/, and
`test_the_readme_shows_only_walk_screenshots` holds the README to them.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from playwright.sync_api import expect

from announcements.services import announcement_post
from canned.models import CannedResponse
from incidents.hypercare import hypercare_open
from incidents.models import OnCallMember, OnCallRota
from incidents.paging import ack_token
from integrations.models import Connection
from portal.tokens import api_token_create
from provisioning import services as provisioning_services
from provisioning.models import ProvisioningRun
from provisioning.tests.helpers import NAMESPACE_PARAMETERS, drive, in_progress
from reports.periods import week_containing
from requests_app import services
from requests_app.choices import Priority, RequestState, RequestType
from requests_app.models import RoutingRule
from requests_app.testing.workflow import walk_to
from sla.defaults import ensure_defaults
from tests.browser.support import LAPTOP, PHONE, SCREENSHOTS, TABLET, Findings, Session, chromium

# Pages the walk does not open, and why. Everything else that a browser GETs must be walked.
EXCLUDED = {
    "request-new-validate": "POST only: the new-request form's inline check, exercised by filling in the form",
    "request-comment": "POST only: the comment form",
    "request-link-add": "POST only: the request page's add-link form (walked with the request page)",
    "request-link-remove": "POST only: the request page's remove-link buttons",
    "request-extend": "POST only: the PM's extend form on the request page (its errors render the request page)",
    "notification-mark-all-read": "POST only",
    "provisioning-runs": "an htmx partial, walked inside the request page",
    "provisioning-run-retry": "POST only",
    "provisioning-run-cancel": "POST only",
    "provisioning-run-resume": "POST only",
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
    "reports-weekly-incidents-csv": "a CSV download, not a page",
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
    "page-acknowledge": "POST only: the button in the request page's paging panel",
    "break-glass-take": "POST only: the break-glass form in the request page's paging panel",
    "break-glass-review": "POST only: the review form on the approvals page",
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


# For each chart drawn on the page: its text's colour, the page's ink, its own background, the card's, and the
# colours of its series.
CHART_COLOURS = """
[...document.querySelectorAll("svg.chart")].filter((svg) => svg.getBoundingClientRect().width > 0).map((svg) => ({
  text: getComputedStyle(svg.querySelector(".chart__text")).fill,
  ink: getComputedStyle(document.body).color,
  plate: getComputedStyle(svg).backgroundColor,
  card: getComputedStyle(svg.closest(".card")).backgroundColor,
  series: [...svg.querySelectorAll("rect[class^=chart__s], circle[class^=chart__s]")]
    .map((shape) => getComputedStyle(shape).fill),
}))
"""


def _luminance(colour: str) -> float:
    red, green, blue = (int(part) / 255 for part in re.findall(r"\d+", colour)[:3])
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (red, green, blue)]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(one: str, other: str) -> float:
    light, dark = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _charts_follow_the_theme(session: Session) -> None:
    """The charts are drawn in the page's colours, light or dark: text in the page's ink on the card itself (no
    plate of their own), and every series at least 3:1 against the card."""
    charts = session.page.evaluate(CHART_COLOURS)
    assert charts, "no chart on the page"
    for chart in charts:
        assert chart["text"] == chart["ink"] and chart["plate"] == "rgba(0, 0, 0, 0)", chart
        assert all(_contrast(fill, chart["card"]) >= 3 for fill in chart["series"]), chart


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
            Stop("account-token-revoke", f"/account/tokens/{refs['token']}/revoke/", "confirm-revoke"),
        ],
        "vendor_engineer": [
            Stop("vendor-queue", "/queue/", "queue"),
            # the paging panel (and, on call, the break-glass form) and a page's signed acknowledge link
            Stop("request-detail", f"/requests/{refs['p0']}/", "request-p0-paged"),
            Stop("page-acknowledge-link", f"/pages/acknowledge/{refs['page_token']}/", "page-acknowledge"),
            Stop("request-detail", f"/requests/{refs['release']}/", "request-release-in-hypercare"),
            Stop("request-review", f"/requests/{refs['incident']}/review/", "incident-review"),
        ],
        "vendor_lead": [
            Stop("vendor-queue", "/queue/", "queue"),
            Stop("reports-dashboard", "/reports/", "reports", _charts_follow_the_theme),
            Stop("reports-weekly", "/reports/weekly/", "weekly-report"),
            Stop("reports-metrics", "/reports/metrics/", "metrics"),
            Stop("canned-list", "/canned-responses/", "canned-responses"),
            Stop("oncall-list", "/oncall/", "oncall"),
            Stop("oncall-rota", f"/oncall/{refs['rota']}/", "oncall-rota"),
            Stop("request-review", f"/requests/{refs['incident']}/review/", "incident-review-lead"),
        ],
        "pm": [
            Stop("triage-inbox", "/triage/", "triage"),
            Stop("reports-dashboard", "/reports/", "reports", _charts_follow_the_theme),
            # The week the world's requests were filed in, not the default (the last finished one, empty here):
            # every table and chart of the report drawn with figures in it.
            Stop("reports-weekly", f"/reports/weekly/?week={refs['week']}", "weekly-report"),
            Stop("reports-metrics", "/reports/metrics/", "metrics"),
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


@dataclass(frozen=True)
class Pass:
    """One walk over every page for every role: a window size and a colour scheme."""

    name: str
    viewport: dict[str, int]
    color_scheme: str = "light"


# Each pass is a test of its own (`-k 768` runs one); the dark theme is walked at the laptop's width.
PASSES = [Pass("390", PHONE), Pass("768", TABLET), Pass("1366", LAPTOP), Pass("dark-1366", LAPTOP, "dark")]
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
README = DOCS_SCREENSHOTS.parents[1] / "README.md"
# The walk screenshots the README shows, copied to docs/screenshots/ under the same name.
README_SHOTS = (
    "walk-1366-vendor_engineer-queue",
    "walk-390-vendor_engineer-request-in-progress",
    "walk-1366-requester-new-request",
    "walk-1366-pm-triage",
    "walk-1366-pm-weekly-report",
    "walk-768-approver-approvals",
    "walk-390-requester-confirm-cancel",
    "walk-dark-1366-pm-reports",
)


def shot_name(walk: Pass, who: str, stop: Stop) -> str:
    return f"walk-{walk.name}-{who}-{stop.shot}"


def walk_plan(refs: dict[str, str]) -> list[tuple[str | None, list[Stop]]]:
    """Who walks which pages: signed out, then each role (None signs in nobody)."""
    return [(None, ANONYMOUS), *[(role, stops_for(role, refs)) for role in ROLES]]


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
    token, _ = api_token_create(user=world.requester, name="CI pipeline")
    ensure_defaults()  # the calendars the management stops open (a transactional test's flush removed them)
    rule = RoutingRule.objects.create(request_type=RequestType.GIT_OPS, environment=world.environment,
                                      vendor=world.vendor_a, note="OptIT owns GitOps here")  # fmt: skip
    # Every partner page of the walk carries this banner, so its markup meets the same checks as the page.
    announcement = announcement_post(actor=world.pm, title="Release freeze", body="No production deploys on Friday.")
    rota = OnCallRota.objects.create(vendor=world.vendor_a, environment=world.environment, starts_on=date(2026, 1, 5))
    # The one paged (the request page's paging table names them): a long name, not whichever the factory drew, since
    # a name of 13 characters ("Haley Andrews") already pushed the table's Acknowledge button past a phone's screen.
    type(world.vendor_engineer).objects.filter(pk=world.vendor_engineer.pk).update(
        first_name="Maximiliana", last_name="Featherstonehaugh"
    )
    OnCallMember.objects.create(rota=rota, user=world.vendor_engineer, position=1)
    OnCallMember.objects.create(rota=rota, user=world.vendor_lead, position=2)
    p0 = walk_to(world, RequestState.QUEUED, request_type=RequestType.PRODUCTION_ISSUE, priority=Priority.P0)
    release = walk_to(world, RequestState.RESOLVED, request_type=RequestType.RELEASE, title="Release 2.4")
    hypercare_open(release, actor=world.pm)
    # Filed in the release's hypercare (raised one level) and resolved: it has a draft review.
    incident = walk_to(world, RequestState.RESOLVED, request_type=RequestType.PRODUCTION_ISSUE, priority=Priority.P1)
    return {
        "p0": p0.reference,
        "page_token": ack_token(p0.pages.first()),
        "release": release.reference,
        "incident": incident.reference,
        "canned": str(canned.pk),
        "rule": str(rule.pk),
        "routing_test": f"request_type=GitOps&environment={world.environment.pk}&stack={world.stack.pk}",
        "announcement": str(announcement.pk),
        "rota": str(rota.pk),
        "token": str(token.pk),
        "week": week_containing(timezone.now(), tz=settings.PORTICO_REPORT_TIMEZONE).label,
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
     "rota", "token", "p0", "page_token", "release", "incident", "week"],
    "1",
)  # fmt: skip


def test_the_readme_shows_only_walk_screenshots():
    """Every picture the README shows from docs/screenshots/ is a walk screenshot, named as the walk names it, and
    is there; docs/screenshots/ holds nothing else."""
    produced = {
        shot_name(walk, who or "anonymous", stop)
        for walk in PASSES
        for who, stops in walk_plan(_ANY_REFS)
        for stop in stops
    }
    shown = set(re.findall(r"\]\(docs/screenshots/([^)]+)\.png\)", README.read_text()))
    assert set(README_SHOTS) <= produced, f"the walk takes no such screenshot: {set(README_SHOTS) - produced}"
    assert shown == set(README_SHOTS), "README.md shows these, README_SHOTS lists those: keep them the same"
    kept = {path.stem for path in DOCS_SCREENSHOTS.iterdir()}
    assert kept == shown, f"missing: {shown - kept}; not shown by the README: {kept - shown}"


@pytest.mark.parametrize("walk", PASSES, ids=[walk.name for walk in PASSES])
def test_every_page_every_role_every_width(live_server, world, monkeypatch, k8s_stub, walk):
    refs = _world_with_every_kind_of_request(world, monkeypatch, k8s_stub)
    users = {role: world.users[role].username for role in ROLES}
    problems: list[Findings] = []
    visited = 0
    # A full-page screenshot costs about as much as loading the page; a passing page needs none.
    every_shot = (
        os.environ.get("PORTICO_UPDATE_SCREENSHOTS") == "1" or os.environ.get("PORTICO_WALK_SCREENSHOTS") == "1"
    )
    with chromium() as browser:
        for role, stops in walk_plan(refs):
            who = role or "anonymous"
            session = Session(
                browser, live_server.url, users.get(role or ""), walk.viewport, color_scheme=walk.color_scheme
            )
            for stop in stops:
                session.page.goto(stop.url)
                if stop.act:
                    stop.act(session)
                findings = session.check()
                findings.url = f"{walk.name}, {who}: {findings.url}"
                visited += 1
                if findings or every_shot:
                    session.shot(shot_name(walk, who, stop))
                if findings:
                    problems.append(findings)
            session.context.close()
    assert visited > 40
    report = "\n".join(
        f"{f.url}: csp={f.csp} console={f.console} overflow={f.overflow} axe={f.axe} raw={f.raw_labels} "
        f"dangling={f.dangling} duplicate_ids={f.duplicate_ids} unstyled_inputs={f.unstyled_inputs}"
        for f in problems
    )
    assert not problems, f"{len(problems)} pages failed:\n{report}"
    if os.environ.get("PORTICO_UPDATE_SCREENSHOTS") == "1":
        for name in README_SHOTS:
            if name.startswith(f"walk-{walk.name}-"):
                shutil.copyfile(SCREENSHOTS / f"{name}.png", DOCS_SCREENSHOTS / f"{name}.png")
