"""A breach whose due time the program manager extended says so, alike on the page, in the API and the CSV."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

import pytest

from reports.selectors import report_weekly
from sla.choices import Clock, LedgerKind, Measure
from sla.models import ClockLedgerEntry

from .conftest import ist
from .test_views import WEEK, _csv, _get, frozen  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db


def test_an_extended_breach_is_flagged_on_the_page_in_the_api_and_in_the_csv(client, dataset, frozen):  # noqa: F811
    pm = dataset.world.pm
    extended = dataset.requests["R1"]  # its SLA resolution was due 16 Nov 22:00 and met late
    ClockLedgerEntry.objects.create(
        service_request=extended, clock=Clock.SLA, measure=Measure.RESOLUTION, kind=LedgerKind.EXTEND,
        at=ist(16, 12), extension=timedelta(hours=2), reason="waiting on vendor hardware",
    )  # fmt: skip
    report = report_weekly(user=pm, week=WEEK)
    flags = {(b.reference, b.measure): b.extended for b in report.breaches}
    assert flags[(extended.reference, Measure.RESOLUTION)] is True
    assert list(flags.values()).count(True) == 1  # only that clock: not its response, not other requests

    api = _get(client, pm, "api:reports-sla", week=WEEK).json()
    assert {(b["reference"], b["measure"]): b["extended"] for b in api["breaches"]} == flags
    rows = _csv(_get(client, pm, "reports-weekly-breaches-csv", week=WEEK).content)
    assert {(r["reference"], r["measure"]): r["extended"] == "yes" for r in rows} == flags
    assert {r["extended"] for r in rows} == {"yes", "no"}
    html = unescape(_get(client, pm, "reports-weekly", week=WEEK).content.decode())
    assert html.count('<td data-testid="breach-extended">Extended</td>') == 1
    assert html.count('<td data-testid="breach-extended">No</td>') == len(report.breaches) - 1
