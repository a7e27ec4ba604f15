"""Paging: an urgent production issue pages the primary on call, escalates when nobody answers, stops when someone
does; the SMS gateway stub sees the payloads and its outages are retried."""

from __future__ import annotations

from datetime import timedelta

from django.core import mail
from rest_framework.test import APIClient

from conversations.tasks import conversations_notify
from incidents.models import Page, PageLevel, SmsStatus
from incidents.paging import ack_token, page_deliver, pages_escalate, pages_sms_retry
from incidents.testing import SMS_TOKEN, SmsStub
from incidents.tests.helpers import urgent
from requests_app.choices import EventKind, Priority, RequestState, RequestType
from requests_app.testing.workflow import file_request


def levels(service_request) -> list[tuple[str, str]]:
    return [(page.level, page.target.username) for page in service_request.pages.order_by("pk")]


def test_a_p0_pages_the_primary_escalates_on_timeout_and_once_per_level(world, rota, traveller):
    service_request = urgent(world)
    assert levels(service_request) == [(PageLevel.PRIMARY, world.vendor_engineer.username)]
    assert service_request.events.filter(kind=EventKind.PAGED).exists()

    traveller.shift(timedelta(minutes=14))
    assert pages_escalate() == 0
    traveller.shift(timedelta(minutes=2))
    assert pages_escalate() == 1
    assert pages_escalate() == 0  # a second scan never pages the same level again
    assert levels(service_request)[-1] == (PageLevel.SECONDARY, world.vendor_lead.username)

    traveller.shift(timedelta(minutes=16))
    assert pages_escalate() == 1  # the vendor's leads: the rota's lead again, at a new level
    assert levels(service_request)[-1] == (PageLevel.VENDOR_LEAD, world.vendor_lead.username)
    traveller.shift(timedelta(minutes=16))
    assert pages_escalate() == 1
    assert world.approver.username in [name for level, name in levels(service_request) if level == "egov_devops"]
    traveller.shift(timedelta(minutes=16))
    assert pages_escalate() == 1  # the last level closes; nobody is left to page
    assert pages_escalate() == 0
    assert service_request.events.filter(kind=EventKind.PAGE_ESCALATED).count() == 4


def test_a_p2_or_an_untriaged_issue_pages_nobody(world, rota, traveller):
    urgent(world, priority=Priority.P2)
    file_request(world, request_type=RequestType.PRODUCTION_ISSUE, priority=Priority.P0)
    assert not Page.objects.exists()


def test_acknowledging_stops_escalation_and_picks_up_the_queued_request(world, rota, traveller):
    service_request = urgent(world)
    page = service_request.pages.get()
    api = APIClient()
    api.force_authenticate(world.vendor_lead)
    assert api.post(f"/api/v1/pages/{page.pk}/acknowledge/").status_code == 403  # not the one paged
    api.force_authenticate(world.vendor_engineer)
    response = api.post(f"/api/v1/pages/{page.pk}/acknowledge/")
    assert response.status_code == 200, response.content
    assert response.json()["acknowledged_by"] == world.vendor_engineer.username
    service_request.refresh_from_db()
    assert service_request.state == RequestState.IN_PROGRESS
    assert service_request.assignee == world.vendor_engineer
    assert service_request.events.filter(kind=EventKind.PAGE_ACKNOWLEDGED, actor=world.vendor_engineer).exists()
    traveller.shift(timedelta(hours=2))
    assert pages_escalate() == 0
    assert service_request.pages.count() == 1


def test_the_signed_link_acknowledges_and_a_forged_one_does_not(world, rota, traveller, client):
    service_request = urgent(world, priority=Priority.P1)
    page = service_request.pages.get()
    assert client.get("/pages/acknowledge/forged/").status_code == 404
    link = f"/pages/acknowledge/{ack_token(page)}/"
    assert "Acknowledge" in client.get(link).content.decode()
    assert client.post(link).status_code == 302
    page.refresh_from_db()
    assert page.acknowledged_by == world.vendor_engineer


def test_delivery_e_mails_and_texts_the_page_and_a_gateway_outage_is_retried(world, rota, traveller, settings):
    with SmsStub() as stub:
        settings.PORTICO_SMS_URL, settings.PORTICO_SMS_TOKEN = stub.url, SMS_TOKEN
        service_request = urgent(world)
        page = service_request.pages.get()
        stub.fail("/messages", 503)
        assert page_deliver(page.pk) == "none"  # the SMS waits for a retry
        assert page_deliver(page.pk) == ""  # a redelivered task sends nothing twice
        paged = service_request.events.get(kind=EventKind.PAGED)
        mail.outbox.clear()
        assert conversations_notify(event_id=paged.pk) == 1  # the e-mail was owed as a delivery when paged
        assert mail.outbox[-1].to == [world.vendor_engineer.email]
        assert ack_token(page) in mail.outbox[-1].body
        page.refresh_from_db()
        assert (page.sms_status, page.sms_attempts) == (SmsStatus.PENDING, 1)
        assert page.sms_error.startswith("503")
        assert stub.messages == []

        assert pages_sms_retry() == 0  # not before its back-off
        traveller.shift(timedelta(seconds=31))
        assert pages_sms_retry() == 1
        page.refresh_from_db()
        assert (page.sms_status, page.sms_attempts, page.sms_error) == (SmsStatus.SENT, 2, "")
        assert stub.messages[0]["to"] == "+919800000001"
        assert service_request.reference in stub.messages[0]["body"]
        assert ack_token(page) in stub.messages[0]["body"]
        assert stub.calls[-1].headers["authorization"] == f"Bearer {SMS_TOKEN}"


def test_the_request_page_offers_the_paged_person_the_button_and_it_acknowledges(world, rota, traveller, client):
    service_request = urgent(world)
    page = service_request.pages.get()
    client.force_login(world.vendor_lead)  # not the one paged: sees the page, no button
    html = client.get(f"/requests/{service_request.reference}/").content.decode()
    assert 'data-testid="page-row"' in html and "page-acknowledge-button" not in html
    client.force_login(world.vendor_engineer)
    html = client.get(f"/requests/{service_request.reference}/").content.decode()
    assert "page-acknowledge-button" in html and 'data-testid="break-glass-form"' in html
    assert client.post(f"/pages/{page.pk}/acknowledge/").status_code == 302
    page.refresh_from_db()
    assert page.acknowledged_by == world.vendor_engineer
