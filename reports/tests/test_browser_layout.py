"""The report pages in Debian's chromium at 1366 and 390 px: the wide breakdown tables scroll inside their card
instead of being clipped, the charts fill their card, and each width shows the drawing made for it.

Screenshots of the dashboard's charts and the weekly report go to tests/artifacts/screenshots/ (git-ignored); the
README's pictures come from the every-page walk (tests/browser/test_walk_every_page.py)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.support import SCREENSHOTS, Session, chromium

from .test_metrics import build_incidents

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WEEK = "2026-W47"
WIDTHS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}

# Per element: is it inside the viewport and inside its card, and does a wide table scroll within its box?
MEASURE = """() => {
  const doc = document.documentElement;
  const tables = [...document.querySelectorAll('.report-breakdown .table-scroll')].map((box) => {
    const card = box.closest('.card').getBoundingClientRect();
    const r = box.getBoundingClientRect();
    return {
      id: box.querySelector('table').id,
      insideCard: r.left >= card.left - 0.5 && r.right <= card.right + 0.5,
      scrolls: getComputedStyle(box).overflowX === 'auto',
      overflowing: box.scrollWidth > box.clientWidth,
      lastCellReachable: (() => {
        box.scrollLeft = box.scrollWidth;
        const cell = box.querySelector('tbody tr td:last-child').getBoundingClientRect();
        const inside = cell.right <= box.getBoundingClientRect().right + 1;
        box.scrollLeft = 0;
        return inside;
      })(),
    };
  });
  const charts = [...document.querySelectorAll('svg.chart')].filter((s) => s.getBoundingClientRect().width > 0)
    .map((s) => {
      const card = s.closest('.card');
      const style = getComputedStyle(card);
      const inner = card.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
      return {narrow: s.classList.contains('chart--narrow'), share: s.getBoundingClientRect().width / inner};
    });
  return {overflow: doc.scrollWidth - doc.clientWidth, tables, charts,
          svgs: document.querySelectorAll('svg.chart').length};
}"""


def _measure(page: Page, path: str) -> dict:
    page.goto(path)
    return page.evaluate(MEASURE)


def test_weekly_report_and_dashboard_fit_at_1366_and_390(live_server, dataset):
    pm = dataset.world.pm
    results = {}
    with chromium() as browser:
        for name, viewport in WIDTHS.items():
            session = Session(browser, live_server.url, pm.username, viewport=viewport)
            results[("weekly", name)] = _measure(session.page, f"/reports/weekly/?week={WEEK}")
            session.shot(f"reports-weekly-{name}")
            results[("dashboard", name)] = _measure(session.page, "/reports/")
            session.shot(f"reports-dashboard-{name}")
            if name == "desktop":
                # The dashboard's charts alone, to look at.
                session.page.locator("#dashboard-charts").screenshot(
                    path=SCREENSHOTS / "reports-dashboard-charts.png", animations="disabled"
                )
            session.context.close()

    for (page, width), result in results.items():
        assert result["overflow"] <= 0, (page, width, result["overflow"])
        # Two drawings per chart, one shown: the narrow one on a phone, the wide one on a desktop.
        assert len(result["charts"]) * 2 == result["svgs"] and result["charts"], (page, width)
        assert all(chart["narrow"] == (width == "phone") for chart in result["charts"]), (page, width)
        assert all(chart["share"] > 0.95 for chart in result["charts"]), (page, width, result["charts"])
    for width in WIDTHS:
        tables = results[("weekly", width)]["tables"]
        assert {t["id"] for t in tables} == {
            "breakdown-vendor",
            "breakdown-environment",
            "breakdown-priority",
            "breakdown-request_type",
        }
        for table in tables:
            # Far wider than the page: it overflows its scroll box, which stays inside the card and scrolls to
            # its last column.
            assert table["overflowing"] and table["scrolls"] and table["insideCard"], (width, table)
            assert table["lastCellReachable"], (width, table)


def test_metrics_page_fits_at_1366_and_390(live_server, world):
    build_incidents(world)
    results = {}
    with chromium() as browser:
        for name, viewport in WIDTHS.items():
            session = Session(browser, live_server.url, world.pm.username, viewport=viewport)
            results[name] = _measure(session.page, "/reports/metrics/?from=2026-11-16&to=2026-11-29")
            session.shot(f"reports-metrics-{name}")
            session.context.close()

    for width, result in results.items():
        assert result["overflow"] <= 0, (width, result["overflow"])
        assert len(result["charts"]) == 2 and result["svgs"] == 4, (width, result)  # MTTA/MTTR and deployments
        assert all(chart["narrow"] == (width == "phone") for chart in result["charts"]), (width, result["charts"])
        assert all(chart["share"] > 0.95 for chart in result["charts"]), (width, result["charts"])
