"""In a real browser at a phone's width: the program manager imports a Bihar holiday (preview, then confirm) and
finds it in the year view, with who added it and why; the year view passes the walk's checks."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from sla.defaults import ensure_defaults
from sla.models import CalendarDay
from tests.browser.support import PHONE, Session, chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_program_manager_imports_a_bihar_holiday_and_sees_it_in_the_year_view(live_server, world):
    ensure_defaults()  # a transactional test's flush removes what the data migration wrote
    csv = b"date,name\n2026-10-09,Bihar Diwas (observed)\n2026-11-15,Chhath Puja\n"
    with chromium() as browser:
        pm = Session(browser, live_server.url, world.pm.username, PHONE)
        page = pm.page
        page.goto("/manage/calendars/")
        page.get_by_role("link", name="Bihar").click()
        page.get_by_role("link", name="Import holidays").click()
        page.get_by_label("Holiday file").set_input_files(
            {"name": "bihar-2026.csv", "mimeType": "text/csv", "buffer": csv}
        )
        page.get_by_label("Reason").fill("Bihar gazette notification 17/2026")
        page.get_by_role("button", name="Preview").click()

        preview = page.locator("#import-preview")
        expect(preview).to_contain_text("1 to add")
        expect(preview).to_contain_text("Skipped: already a holiday here (Chhath Puja).")
        page.get_by_role("button", name="Add 1 holiday").click()

        expect(page.get_by_role("heading", name="Bihar: 2026", level=1)).to_be_visible()
        october = page.get_by_role("region", name="October 2026")
        expect(october.locator(".month-notes")).to_contain_text("Fri 9: Holiday: Bihar Diwas (observed)")
        expect(october.locator(".month-notes")).to_contain_text("Bihar gazette notification 17/2026")
        expect(page.get_by_role("region", name="November 2026")).to_contain_text("Holidays package, government offices")
        findings = pm.check()
    assert not findings, findings
    added = CalendarDay.objects.get()
    assert (added.date, added.name, added.added_by, added.reason) == (
        date(2026, 10, 9), "Bihar Diwas (observed)", world.pm, "Bihar gazette notification 17/2026"
    )  # fmt: skip
