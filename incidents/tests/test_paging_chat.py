"""Pages sent by chat: the vendor's Slack/Teams channels and the paged person's own webhook are owed as chat
deliveries when the page is made, posted once per (event, channel or person), retried with backoff after a 5xx
(the chat stubs answer 500, then 200), failed at once on a 4xx, and shown to the program manager while in
trouble, where failed e-mails are shown."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from conversations.chat import chat_deliveries_due
from conversations.models import (
    Channel,
    ChatDelivery,
    ChatKind,
    ChatWebhook,
    Delivery,
    DeliveryState,
    PersonalChatWebhook,
)
from conversations.tasks import conversations_chat_deliver, conversations_personal_chat_deliver
from conversations.testing import SlackStub
from incidents.paging import page_for_token, pages_escalate
from incidents.tests.helpers import urgent
from requests_app.choices import EventKind

pytestmark = pytest.mark.django_db


def _page_posts(stub) -> list[dict]:
    return [body for body in stub.accepted if "PAGE" in str(body) or "you are paged" in str(body)]


def _settle_other_notices() -> None:
    """Post every chat notice that is not a page (the triage's), so the test watches the page alone."""
    for delivery in ChatDelivery.objects.exclude(event__kind__in=[EventKind.PAGED, EventKind.PAGE_ESCALATED]):
        conversations_chat_deliver.apply(kwargs={"delivery_id": delivery.pk})
    for own in Delivery.objects.filter(channel=Channel.CHAT).exclude(
        event__kind__in=[EventKind.PAGED, EventKind.PAGE_ESCALATED]
    ):
        conversations_personal_chat_deliver.apply(kwargs={"delivery_id": own.pk})


def test_a_page_to_the_vendor_channel_that_answers_500_backs_off_and_is_posted_once(
    world, rota, traveller, slack, client
):
    ChatWebhook.objects.create(name="vendor A", kind=ChatKind.SLACK, url=slack.webhook_url, vendor=world.vendor_a)
    service_request = urgent(world)
    _settle_other_notices()
    delivery = ChatDelivery.objects.get(event__kind=EventKind.PAGED)
    slack.answer_next(500, "rollup_error")

    conversations_chat_deliver.apply(kwargs={"delivery_id": delivery.pk})
    conversations_chat_deliver.apply(kwargs={"delivery_id": delivery.pk})  # a redelivered task: not due yet

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.PENDING, 1) and "rollup_error" in delivery.last_error
    assert _page_posts(slack) == []
    client.force_login(world.pm)
    trouble = client.get(reverse("notification-deliveries")).content.decode()
    assert service_request.reference in trouble and "rollup_error" in trouble and "On call paged" in trouble

    assert chat_deliveries_due() == 0  # its 30 s wait is not over
    traveller.shift(timedelta(seconds=31))
    assert chat_deliveries_due() == 1
    assert chat_deliveries_due() == 0
    conversations_chat_deliver.apply(kwargs={"delivery_id": delivery.pk})

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_error) == (DeliveryState.SENT, 2, "")
    [posted] = _page_posts(slack)
    assert service_request.reference in posted["text"] and str(world.vendor_engineer) in posted["text"]
    assert posted["blocks"][1]["elements"][0]["url"].endswith(
        reverse("request-detail", args=[service_request.reference])
    )
    assert "rollup_error" not in client.get(reverse("notification-deliveries")).content.decode()


def test_the_paged_persons_own_webhook_gets_the_acknowledge_link_after_a_500(world, rota, traveller, teams, client):
    PersonalChatWebhook.objects.create(user=world.vendor_engineer, kind=ChatKind.TEAMS, url=teams.webhook_url)
    service_request = urgent(world)
    _settle_other_notices()
    delivery = Delivery.objects.get(event__kind=EventKind.PAGED, channel=Channel.CHAT)
    assert delivery.user == world.vendor_engineer
    teams.answer_next(500, "Internal error")

    conversations_personal_chat_deliver.apply(kwargs={"delivery_id": delivery.pk})
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.PENDING, 1)
    client.force_login(world.pm)
    trouble = client.get(reverse("notification-deliveries")).content.decode()
    assert "Own Slack or Teams webhook" in trouble and "Internal error" in trouble

    traveller.shift(timedelta(seconds=31))
    assert chat_deliveries_due() == 1
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SENT
    [card] = _page_posts(teams)
    assert "you are paged as primary on call" in card["summary"] and service_request.reference in card["summary"]
    [action] = card["potentialAction"]
    page = service_request.pages.get()
    token = action["targets"][0]["uri"].rstrip("/").rsplit("/", 1)[1]
    assert action["name"] == "Acknowledge" and page_for_token(token) == page

    # Escalation pages the next level (a new event) to its own people; the first page is never posted again.
    PersonalChatWebhook.objects.create(user=world.vendor_lead, kind=ChatKind.TEAMS, url=teams.webhook_url)
    traveller.shift(timedelta(minutes=16))
    assert pages_escalate() == 1
    escalated = Delivery.objects.get(event__kind=EventKind.PAGE_ESCALATED, channel=Channel.CHAT)
    assert escalated.user == world.vendor_lead
    conversations_personal_chat_deliver.apply(kwargs={"delivery_id": escalated.pk})
    assert chat_deliveries_due() == 0
    assert [c["summary"].split(" — ")[1] for c in _page_posts(teams)] == [
        "you are paged as primary on call.",
        "you are paged as secondary on call.",
    ]
    assert Delivery.objects.filter(channel=Channel.CHAT, event__kind__startswith="page").count() == 2


@pytest.mark.parametrize(("status", "answer"), [(400, "invalid_payload"), (404, "no_service")])
def test_a_page_post_refused_with_a_4xx_fails_at_once_is_not_retried_and_is_shown(
    world, rota, traveller, slack, client, status, answer
):
    ChatWebhook.objects.create(name="vendor A", kind=ChatKind.SLACK, url=slack.webhook_url, vendor=world.vendor_a)
    service_request = urgent(world)
    _settle_other_notices()
    delivery = ChatDelivery.objects.get(event__kind=EventKind.PAGED)
    calls_before = len(slack.calls)
    slack.answer_next(status, answer)

    conversations_chat_deliver.apply(kwargs={"delivery_id": delivery.pk})
    traveller.shift(timedelta(hours=1))
    assert chat_deliveries_due() == 0

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.FAILED, 1) and answer in delivery.last_error
    assert len(slack.calls) == calls_before + 1
    client.force_login(world.pm)
    trouble = client.get(reverse("notification-deliveries")).content.decode()
    assert answer in trouble and service_request.reference in trouble


def test_a_person_who_turned_chat_off_is_paged_by_e_mail_only(world, rota, traveller, slack):
    from conversations.models import ChannelSetting, Mode

    PersonalChatWebhook.objects.create(user=world.vendor_engineer, kind=ChatKind.SLACK, url=slack.webhook_url)
    ChannelSetting.objects.create(user=world.vendor_engineer, channel=Channel.CHAT, mode=Mode.OFF)

    urgent(world)

    owed = Delivery.objects.filter(event__kind=EventKind.PAGED, user=world.vendor_engineer)
    assert list(owed.values_list("channel", flat=True)) == [Channel.EMAIL]


def test_a_vendor_channel_refusing_the_connection_is_retried_not_lost(world, rota, traveller, slack):
    with SlackStub() as gone:
        closed_url = gone.webhook_url  # the server stops here: its port refuses connections
    hook = ChatWebhook.objects.create(name="vendor A", kind=ChatKind.SLACK, url=closed_url, vendor=world.vendor_a)
    urgent(world)
    delivery = ChatDelivery.objects.get(event__kind=EventKind.PAGED)

    conversations_chat_deliver.apply(kwargs={"delivery_id": delivery.pk})

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.PENDING, 1)
    assert "ConnectionError" in delivery.last_error
    ChatWebhook.objects.filter(pk=hook.pk).update(url=slack.webhook_url)  # the channel is back
    traveller.shift(timedelta(seconds=31))
    chat_deliveries_due()
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SENT and len(_page_posts(slack)) == 1
