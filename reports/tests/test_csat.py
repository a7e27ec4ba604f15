"""Requester satisfaction in the weekly report: ratings given in the week, counted and averaged per vendor,
environment and type, the same in the selector, the API, the CSV, the page and the PDF."""

from __future__ import annotations

import csv
import io
import re
from html import unescape

import pytest
import time_machine
from django.urls import reverse
from pypdf import PdfReader

from reports.selectors import report_weekly
from requests_app.choices import Priority, RequestState, RequestType

from .conftest import NOW, ist, make_request

pytestmark = pytest.mark.django_db
WEEK = "2026-W47"


@pytest.fixture
def rated(dataset):
    """Two more ratings in W47 on top of the data set's R1 (OptIT, Punjab, troubleshooting, 4): OptIT's 5 and
    GWL's 1 (Bihar, release); and one rated the week after, which W47 must not count."""
    world = dataset.world
    bihar = dataset.bihar
    common = {"priority": Priority.P2, "state": RequestState.CLOSED, "created_at": ist(16, 9)}
    make_request(world, "R20", vendor=world.vendor_a, request_type=RequestType.TROUBLESHOOTING, rating=5,
                 rated_at=ist(20, 10), closed_at=ist(20, 10), **common)  # fmt: skip
    make_request(world, "R21", vendor=world.vendor_b, environment=bihar, request_type=RequestType.RELEASE, rating=1,
                 rated_at=ist(21, 10), closed_at=ist(21, 10), **common)  # fmt: skip
    make_request(world, "R22", vendor=world.vendor_b, request_type=RequestType.RELEASE, rating=5,
                 rated_at=ist(24, 10), closed_at=ist(24, 10), **common)  # fmt: skip
    return dataset


def _csat(slices):
    return {s.key: (s.figures.csat_count, s.figures.csat_average) for s in slices if s.figures.csat_count}


def test_ratings_are_averaged_and_counted_per_vendor_environment_and_type(rated):
    report = report_weekly(user=rated.world.pm, week=WEEK, now=NOW)
    assert (report.summary.csat_count, report.summary.csat_average) == (3, 3.33)  # (4 + 5 + 1) ÷ 3
    assert _csat(report.breakdowns["vendor"]) == {"optit": (2, 4.5), "gwl": (1, 1.0)}
    assert _csat(report.breakdowns["environment"]) == {rated.world.environment.code: (2, 4.5), "bihar": (1, 1.0)}
    assert _csat(report.breakdowns["request_type"]) == {
        RequestType.TROUBLESHOOTING.value: (2, 4.5),
        RequestType.RELEASE.value: (1, 1.0),
    }
    no_ratings = [s for s in report.breakdowns["vendor"] if not s.figures.csat_count]
    assert all(s.figures.csat_average is None for s in no_ratings)


def test_a_vendor_lead_sees_only_their_vendors_ratings(rated):
    report = report_weekly(user=rated.world.other_vendor_lead, week=WEEK, now=NOW)
    assert (report.summary.csat_count, report.summary.csat_average) == (1, 1.0)


def test_api_csv_page_and_pdf_show_the_same_ratings(rated, client):
    client.force_login(rated.world.pm)
    with time_machine.travel(NOW, tick=False):
        api = client.get(reverse("api:reports-sla"), {"week": WEEK}).json()
        rows = list(
            csv.DictReader(
                io.StringIO(client.get(reverse("reports-weekly-csv"), {"week": WEEK}).content.decode("utf-8-sig"))
            )
        )
        html = unescape(client.get(reverse("reports-weekly"), {"week": WEEK}).content.decode())
        pdf = client.get(reverse("reports-weekly-pdf"), {"week": WEEK}).content
    assert (api["summary"]["csat_count"], api["summary"]["csat_average"]) == (3, 3.33)
    by_vendor = {
        row["key"]: (row["figures"]["csat_count"], row["figures"]["csat_average"])
        for row in api["breakdowns"]["vendor"]
    }
    assert by_vendor["optit"] == (2, 4.5) and by_vendor["gwl"] == (1, 1.0)
    csv_vendor = {
        row["key"]: (row["csat_count"], row["csat_average"])
        for row in rows
        if row["section"] == "breakdown" and row["dimension"] == "vendor"
    }
    assert csv_vendor["optit"] == ("2", "4.5") and csv_vendor["gwl"] == ("1", "1.0")
    assert '<tr data-figure="csat_average"><th scope="row">Average rating (1–5)</th><td>3.33</td>' in html
    text = re.sub(r"\s+", " ", "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))
    assert "Avg rating" in text
    assert re.search(r"OptIT .*? 2 4\.50", text)
