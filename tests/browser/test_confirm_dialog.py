"""Cancel and revoking a token ask first in a real browser: the dialog names what will happen, "Go back" changes
nothing, "Yes" goes ahead."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from portal.tokens import api_token_create
from requests_app.choices import RequestState
from requests_app.models import ServiceRequest
from requests_app.testing.workflow import walk_to
from tests.browser.support import PHONE, Session, chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_cancel_opens_a_dialog_that_says_what_will_happen(live_server, world):
    reference = walk_to(world, RequestState.SUBMITTED).reference
    with chromium() as browser:
        session = Session(browser, live_server.url, world.requester.username, PHONE)
        page = session.page
        page.goto(f"/requests/{reference}/")
        page.get_by_role("button", name="Cancel request").click()
        dialog = page.get_by_role("dialog", name=f"Cancel {reference}?")
        expect(dialog).to_contain_text("its SLA clocks stop")
        session.shot("confirm-dialog-390")
        dialog.get_by_role("button", name="Go back").click()
        expect(dialog).to_be_hidden()
        expect(page.get_by_test_id("state")).to_have_text("Submitted")
        page.get_by_role("button", name="Cancel request").click()
        dialog.get_by_role("button", name="Yes, cancel the request").click()
        expect(page.get_by_test_id("state")).to_have_text("Cancelled")
        expect(page.locator("#messages")).to_contain_text(f"{reference} is cancelled; its SLA clocks are stopped.")
        expect(page.get_by_test_id("clocks-ended")).to_contain_text("The clocks stopped when the request was cancelled")
        assert session.csp_violations() == [] and session.console_errors == []
        session.context.close()
    assert ServiceRequest.objects.get(reference=reference).state == RequestState.CANCELLED


def test_revoking_a_token_opens_the_same_dialog(live_server, world):
    token, _ = api_token_create(user=world.requester, name="CI pipeline")
    with chromium() as browser:
        session = Session(browser, live_server.url, world.requester.username, PHONE)
        page = session.page
        page.goto("/account/tokens/")
        revoke = page.get_by_role("button", name="Revoke CI pipeline")
        revoke.click()
        dialog = page.get_by_role("dialog", name="Revoke “CI pipeline”?")
        expect(dialog).to_contain_text("Scripts and pipelines using “CI pipeline” stop working at once")
        dialog.get_by_role("button", name="Go back").click()
        expect(dialog).to_be_hidden()
        expect(page.get_by_role("row", name="CI pipeline")).to_contain_text("Active")
        revoke.click()
        dialog.get_by_role("button", name="Yes, revoke it").click()
        expect(page.locator("#messages")).to_contain_text("Token “CI pipeline”")
        expect(page.get_by_role("row", name="CI pipeline")).to_contain_text("Revoked")
        assert session.csp_violations() == [] and session.console_errors == []
        session.context.close()
    token.refresh_from_db()
    assert token.revoked_at is not None
