"""The weekly report's incident sections (break-glass grants, hypercare windows, post-incident reviews): figures
computed by hand for a fixed week, the same in the page, the API, the incidents CSV, the PDF and the e-mail, and
scoped like the rest of the report.

On top of the report data set (W47, Mon 16 – Sun 22 Nov 2026, Asia/Kolkata; read at Wed 25 Nov 12:00):

    R30  OptIT  punjab  P0 production issue  filed Wed 18 09:00, resolved Thu 19 14:00; response SLA missed
         (due 09:15, met 10:00); in R31's window; review published, action items F1 (in progress), F2 (closed)
    R31  OptIT  punjab  Release (Microservices), resolved; hypercare window Sun 15 10:00 – Sun 29 10:00
    R32  OptIT  punjab  P1 production issue  filed Fri 20 10:00, resolved Sat 21 12:00, met its SLA; in the window;
         review a draft
    R33  GWL    punjab  P2 production issue  filed Sat 21 10:00, response SLA running past its due (Sat 14:00);
         in the window
    R34  OptIT  punjab  P2 production issue  filed Tue 24 (the week after), in the window: not counted for W47
    R35  GWL    bihar   Release; window Sun 1 – Sun 15 10:00 (ended before the week): not listed
    R36  GWL    bihar   P1 production issue resolved Fri 20 12:00, no review: missing
    R37  OptIT  punjab  P2 production issue resolved in the week: no review asked
    Break-glass: G1 on R12 (GWL P0) Sat 21 11:00, not reviewed (due Sun 22 11:00, so overdue now); G2 on R30
    Thu 19 10:00, reviewed Thu 19 18:00 by egov; G0 on R30 Fri 13 (the week before): not counted.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from html import unescape

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from incidents.hypercare_models import HypercareIssue, HypercareWindow
from incidents.review_models import ActionItem, IncidentReview, ReviewStatus
from provisioning.choices import RunStatus
from provisioning.models import AccessGrant, ProvisioningRun
from reports import services
from reports.exports import pdf_text
from reports.formatting import incident_sections
from reports.selectors import report_weekly
from requests_app.choices import Priority, RequestState, RequestType
from sla.choices import Clock, Measure

from .conftest import NOW, ist, make_clock, make_request
from .test_pdf_pages import _poppler

pytestmark = pytest.mark.django_db
WEEK = "2026-W47"
S, T = RequestState, RequestType


def _grant(service_request, subject: str, at, *, reviewer=None, reviewed_at=None) -> AccessGrant:
    run = ProvisioningRun.objects.create(
        service_request=service_request,
        action="jit_access",
        status=RunStatus.SUCCEEDED,
        created_at=at,
        finished_at=at,
        break_glass=True,
    )
    return AccessGrant.objects.create(
        service_request=service_request,
        run=run,
        system="kubernetes",
        subject=subject,
        target="payments",
        level="edit",
        granted_at=at,
        expires_at=at.replace(hour=at.hour + 2),
        break_glass=True,
        reviewed_at=reviewed_at,
        reviewed_by=reviewer,
    )


@pytest.fixture
def incidents(dataset):
    world, bihar = dataset.world, dataset.bihar
    a, b = world.vendor_a, world.vendor_b
    issue = {"request_type": T.PRODUCTION_ISSUE, "stack": world.stack}
    r = dataset.requests
    r["R30"] = make_request(
        world, "R30", vendor=a, priority=Priority.P0, state=S.RESOLVED, created_at=ist(18, 9),
        responded_at=ist(18, 10), resolved_at=ist(19, 14), **issue,
    )  # fmt: skip
    make_clock(r["R30"], Clock.SLA, Measure.RESPONSE, due_at=ist(18, 9, 15), met_at=ist(18, 10), breached=True)
    r["R31"] = make_request(
        world, "R31", vendor=a, priority=Priority.P2, request_type=T.RELEASE, stack=world.stack, state=S.CLOSED,
        created_at=ist(10, 10), resolved_at=ist(15, 9), closed_at=ist(15, 9, 30),
    )  # fmt: skip
    r["R32"] = make_request(
        world, "R32", vendor=a, priority=Priority.P1, state=S.CLOSED, created_at=ist(20, 10),
        responded_at=ist(20, 10, 30), resolved_at=ist(21, 12), closed_at=ist(21, 13), **issue,
    )  # fmt: skip
    make_clock(r["R32"], Clock.SLA, Measure.RESPONSE, due_at=ist(20, 12), met_at=ist(20, 10, 30))
    r["R33"] = make_request(
        world, "R33", vendor=b, priority=Priority.P2, state=S.QUEUED, created_at=ist(21, 10), **issue
    )
    make_clock(r["R33"], Clock.SLA, Measure.RESPONSE, due_at=ist(21, 14), running_since=ist(21, 10))
    r["R34"] = make_request(
        world, "R34", vendor=a, priority=Priority.P2, state=S.QUEUED, created_at=ist(24, 10), **issue
    )
    r["R35"] = make_request(
        world, "R35", vendor=b, environment=bihar, priority=Priority.P2, request_type=T.RELEASE, state=S.CLOSED,
        created_at=ist(1, 8), resolved_at=ist(1, 9), closed_at=ist(1, 10),
    )  # fmt: skip
    r["R36"] = make_request(
        world, "R36", vendor=b, environment=bihar, priority=Priority.P1, state=S.RESOLVED, created_at=ist(20, 8),
        resolved_at=ist(20, 12), request_type=T.PRODUCTION_ISSUE,
    )  # fmt: skip
    r["R37"] = make_request(
        world, "R37", vendor=a, priority=Priority.P2, state=S.RESOLVED, created_at=ist(19, 8), resolved_at=ist(19, 9),
        **issue,
    )  # fmt: skip

    window = HypercareWindow.objects.create(
        service_request=r["R31"], environment=world.environment, stack=world.stack, starts_at=ist(15, 10),
        ends_at=ist(29, 10), opened_by=world.pm,
    )  # fmt: skip
    for ref in ("R30", "R32", "R33", "R34"):
        HypercareIssue.objects.create(
            window=window, service_request=r[ref], filed_priority=r[ref].priority, linked_at=r[ref].created_at
        )
    HypercareWindow.objects.create(
        service_request=r["R35"], environment=bihar, starts_at=ist(1, 10), ends_at=ist(15, 10), opened_by=world.pm
    )

    published = IncidentReview.objects.create(
        service_request=r["R30"], status=ReviewStatus.PUBLISHED, root_cause="Bad config", published_at=ist(20, 9)
    )
    for ref, state in (("F1", S.IN_PROGRESS), ("F2", S.CLOSED)):
        follow_up = make_request(
            world, ref, vendor=a, priority=Priority.P3, request_type=T.TROUBLESHOOTING, state=state,
            created_at=ist(20, 9), closed_at=ist(21, 9) if state == S.CLOSED else None,
        )  # fmt: skip
        ActionItem.objects.create(review=published, follow_up=follow_up, owner=world.pm, due_on=date(2026, 12, 1))
    IncidentReview.objects.create(service_request=r["R32"])  # a draft

    _grant(r["R12"], "gwl-oncall", ist(21, 11))
    _grant(r["R30"], "opti-oncall", ist(19, 10), reviewer=world.approver, reviewed_at=ist(19, 18))
    _grant(r["R30"], "opti-oncall", ist(13, 10))  # the week before
    return dataset


def _sections(report):
    grants = [(g.reference, g.subject, g.review, g.attention) for g in report.break_glass]
    windows = [(w.reference, w.issues, w.breached, w.issue_references) for w in report.hypercare]
    reviews = [
        (i.reference, i.priority, i.review_status, i.action_items, i.action_items_open) for i in report.incident_reviews
    ]
    return grants, windows, reviews


def test_the_sections_hold_the_hand_computed_figures(incidents):
    report = report_weekly(user=incidents.world.pm, week=WEEK, now=NOW)
    grants, windows, reviews = _sections(report)
    assert grants == [("R30", "opti-oncall", "reviewed", False), ("R12", "gwl-oncall", "overdue", True)]
    assert [g.reviewed_by for g in report.break_glass] == ["egov", ""]
    assert [g.review_due_at for g in report.break_glass] == [ist(20, 10), ist(22, 11)]
    assert windows == [("R31", 3, 2, ["R30", "R32", "R33"])]  # R34 was filed after the week; R35 had ended
    (window,) = report.hypercare
    assert (window.environment, window.stack, window.vendor, window.request_type) == (
        "Punjab", "Microservices", "OptIT", "Release",
    )  # fmt: skip
    assert reviews == [("R30", "P0", "done", 2, 1), ("R36", "P1", "missing", 0, 0), ("R32", "P1", "due", 0, 0)]


def test_a_grant_awaiting_review_is_not_yet_overdue(incidents):
    """On Sat 21 at 20:00 the grant taken at 11:00 is still inside its 24 hours."""
    report = report_weekly(user=incidents.world.pm, week=WEEK, now=ist(21, 20))
    assert [(g.reference, g.review, g.attention) for g in report.break_glass] == [
        ("R30", "reviewed", False),
        ("R12", "awaiting", False),
    ]


def _pdf_text(content: bytes, tmp_path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(content)
    return re.sub(r"\s+", " ", _poppler("pdftotext", "-layout", str(path), "-"))


def _csv_rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def test_page_api_csv_and_pdf_show_the_same_incident_sections(incidents, client, tmp_path):
    pm = incidents.world.pm
    client.force_login(pm)
    with time_machine.travel(NOW, tick=False):
        report = report_weekly(user=pm, week=WEEK)
        page = client.get(reverse("reports-weekly"), {"week": WEEK})
        api = client.get(reverse("api:reports-sla"), {"week": WEEK})
        export = client.get(reverse("reports-weekly-incidents-csv"), {"week": WEEK})
        pdf = client.get(reverse("reports-weekly-pdf"), {"week": WEEK})
    assert [r.status_code for r in (page, api, export, pdf)] == [200] * 4
    html, data, rows, text = (
        unescape(page.content.decode()),
        api.json(),
        _csv_rows(export.content),
        _pdf_text(pdf.content, tmp_path),
    )

    # API
    assert [(g["reference"], g["subject"], g["review"], g["attention"]) for g in data["break_glass"]] == [
        ("R30", "opti-oncall", "reviewed", False),
        ("R12", "gwl-oncall", "overdue", True),
    ]
    assert [(w["reference"], w["issues"], w["breached"], w["issue_references"]) for w in data["hypercare"]] == [
        ("R31", 3, 2, ["R30", "R32", "R33"])
    ]
    assert [
        (i["reference"], i["review_status"], i["action_items"], i["action_items_open"])
        for i in data["incident_reviews"]
    ] == [("R30", "done", 2, 1), ("R36", "missing", 0, 0), ("R32", "due", 0, 0)]
    assert [i["attention"] for i in data["incident_reviews"]] == [False, True, False]
    assert data["break_glass"][1]["review_due_at"] == "2026-11-22T11:00:00+05:30"

    # CSV: one row per grant, window and incident, in the report's order
    by_section = {
        section: [row for row in rows if row["section"] == section]
        for section in ("break_glass", "hypercare", "incident_review")
    }
    assert len(rows) == 6
    assert [(r["reference"], r["who"], r["review"], r["needs_attention"]) for r in by_section["break_glass"]] == [
        ("R30", "opti-oncall", "reviewed", "no"),
        ("R12", "gwl-oncall", "overdue", "yes"),
    ]
    assert by_section["break_glass"][1]["review_due"] == "2026-11-22T11:00:00+05:30"
    assert [(r["reference"], r["issues"], r["breached"], r["issue_references"]) for r in by_section["hypercare"]] == [
        ("R31", "3", "2", "R30 R32 R33")
    ]
    assert by_section["hypercare"][0]["start"] == "2026-11-15T10:00:00+05:30"
    assert [
        (r["reference"], r["review"], r["action_items"], r["action_items_open"], r["needs_attention"])
        for r in by_section["incident_review"]
    ] == [("R30", "done", "2", "1", "no"), ("R36", "missing", "0", "0", "yes"), ("R32", "due", "0", "0", "no")]

    # Page and PDF print the same rows of text, each figure in its column.
    sections = incident_sections(report)
    grants, windows, reviews = sections
    assert [row.cells[-1] for row in grants.rows] == ["Reviewed by egov", "Review overdue, needs attention"]
    assert windows.rows[0].cells[-3:] == ["3", "2", "R30 R32 R33"]
    assert [row.cells[4:] for row in reviews.rows] == [
        ["Done", "2", "1"],
        ["Missing, needs attention", "0", "0"],
        ["Due", "0", "0"],
    ]
    assert grants.summary == "2 grants, 1 overdue for review"
    assert windows.summary == "1 window, 3 issues filed, 2 breached"
    assert reviews.summary == "3 incidents: 1 done, 1 due, 1 missing; 1 action item open"
    for section in sections:
        assert f'{section.title} <span class="muted">({len(section.rows)})</span>' in html
        assert section.summary in html and pdf_text(f"{section.title} ({len(section.rows)}) {section.summary}") in text
        for row in section.rows:
            assert f">{row.reference}</a>" in html and "".join(f"<td>{cell}</td>" for cell in row.cells) in html
            assert pdf_text(" ".join([row.reference, *row.cells])) in text, (row, text)
    assert html.count('data-attention="true"') == 2  # the overdue grant and the missing review
    assert f'href="{reverse("reports-weekly-incidents-csv")}?week={WEEK}"' in html


def test_the_monday_e_mail_lists_the_same_rows(incidents, settings):
    settings.PORTICO_REPORT_RECIPIENTS = ["pm@example.test"]
    services.report_weekly_email_send(now=ist(23, 9))
    [message] = mail.outbox
    body = message.body
    assert "Break-glass access: 2 grants, 1 overdue for review" in body
    assert "Hypercare windows: 1 window, 3 issues filed, 2 breached" in body
    assert "Post-incident reviews: 3 incidents: 1 done, 1 due, 1 missing; 1 action item open" in body
    # Monday 09:00: the grant of Saturday 11:00 is overdue, and says so.
    assert re.search(r"^- R12 · GWL · gwl-oncall · Kubernetes: payments · .* · Review overdue, needs attention$",
                     body, re.M)  # fmt: skip
    assert re.search(r"^- R31 · Release · OptIT · Punjab · Microservices · .* · 3 · 2 · R30 R32 R33$", body, re.M)
    assert re.search(r"^- R36 · P1 · GWL · Bihar · .* · Missing, needs attention · 0 · 0$", body, re.M)
    assert "Average rating (1–5): 4.00" in body  # R1's rating, the only one of the week


@pytest.mark.parametrize(
    ("who", "grants", "windows", "reviews"),
    [
        ("vendor_lead", ["R30"], [("R31", 2, 1, ["R30", "R32"])], ["R30", "R32"]),
        ("other_vendor_lead", ["R12"], [], ["R36"]),
    ],
)
def test_a_vendor_lead_sees_only_their_vendors_incidents_whatever_the_filter_says(
    incidents, client, who, grants, windows, reviews
):
    lead = getattr(incidents.world, who)
    report = report_weekly(user=lead, week=WEEK, vendor="optit" if who != "vendor_lead" else "gwl", now=NOW)
    assert [g.reference for g in report.break_glass] == grants
    assert [(w.reference, w.issues, w.breached, w.issue_references) for w in report.hypercare] == windows
    assert [i.reference for i in report.incident_reviews] == reviews

    client.force_login(lead)
    with time_machine.travel(NOW, tick=False):
        data = client.get(reverse("api:reports-sla"), {"week": WEEK, "vendor": "optit"}).json()
        rows = _csv_rows(client.get(reverse("reports-weekly-incidents-csv"), {"week": WEEK}).content)
    assert [g["reference"] for g in data["break_glass"]] == grants
    assert [i["reference"] for i in data["incident_reviews"]] == reviews
    assert sorted(r["reference"] for r in rows) == sorted(grants + [w[0] for w in windows] + reviews)
    assert {r["vendor"] for r in rows} <= {lead.vendor.name}


def test_filters_narrow_the_sections_like_every_other_figure(incidents):
    pm = incidents.world.pm
    bihar = report_weekly(user=pm, week=WEEK, environment="bihar", now=NOW)
    assert _sections(bihar) == ([("R12", "gwl-oncall", "overdue", True)], [], [("R36", "P1", "missing", 0, 0)])
    # A priority filter narrows the issues counted in a window, not the windows.
    p2 = report_weekly(user=pm, week=WEEK, priority="P2", now=NOW)
    assert _sections(p2) == ([], [("R31", 1, 1, ["R33"])], [])


def test_the_incidents_csv_refuses_requesters_and_bad_input(incidents, client):
    client.force_login(incidents.world.requester)
    assert client.get(reverse("reports-weekly-incidents-csv"), {"week": WEEK}).status_code == 403
    client.force_login(incidents.world.pm)
    response = client.get(reverse("reports-weekly-incidents-csv"), {"week": "2026-W99"})
    assert response.status_code == 400 and b"week" in response.content
