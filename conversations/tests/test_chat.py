"""Slack and Teams: which channels hear what (P0/P1 filed, approvals waiting, escalations, breaches), never a
vendor's channel before approval or about another vendor's work; delivery through the outbox to local stub
webhooks with their real formats, and retries: 429 waits its Retry-After, 500 backs off, 400/404 fail at once
and are listed for the program manager."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from conversations.chat import chat_deliveries_due
from conversations.handlers import CHAT_TASK
from conversations.models import ChatDelivery, ChatKind, ChatWebhook, DeliveryState
from conversations.tasks import conversations_chat_deliver
from conversations.testing import SlackStub
from portal.models import OutboxMessage
from requests_app import services
from requests_app.choices import EventKind, Priority, RequestState, RequestType
from requests_app.testing.workflow import file_request, walk_to
from requests_app.tests import factories as f

pytestmark = pytest.mark.django_db


def _deliver_all() -> None:
    """What the worker does with the outbox's chat tasks."""
    for message in OutboxMessage.objects.filter(task=CHAT_TASK).order_by("pk"):
        conversations_chat_deliver.apply(kwargs=message.kwargs)


def _posted_subjects(stub) -> list[str]:
    return [body.get("summary") or body["blocks"][0]["text"]["text"].strip("*") for body in stub.accepted]


def test_a_p0_filing_reaches_the_staff_channels_in_each_format_and_a_p2_does_not(world, slack, teams):
    ChatWebhook.objects.create(name="ops", kind=ChatKind.SLACK, url=slack.webhook_url)
    ChatWebhook.objects.create(name="ops-teams", kind=ChatKind.TEAMS, url=teams.webhook_url)

    urgent = file_request(world, priority=Priority.P0, title="Prod down <!channel>")
    file_request(world, priority=Priority.P2, title="Can wait")
    _deliver_all()

    [slack_body] = slack.accepted
    assert slack_body["text"].startswith(f"{urgent.reference} filed: Prod down &lt;!channel&gt;")  # no @channel
    assert reverse("request-detail", args=[urgent.reference]) in slack_body["blocks"][1]["elements"][0]["url"]
    [card] = teams.accepted
    assert card["@type"] == "MessageCard" and card["summary"] == f"{urgent.reference} filed: Prod down <!channel>"
    assert ChatDelivery.objects.filter(state=DeliveryState.SENT).count() == 2


def test_a_vendor_channel_hears_only_its_vendor_and_only_after_approval(world, slack, teams):
    ChatWebhook.objects.create(name="staff", kind=ChatKind.SLACK, url=slack.webhook_url)
    ChatWebhook.objects.create(name="optit", kind=ChatKind.TEAMS, url=teams.webhook_url, vendor=world.vendor_a)
    gwl = SlackStub().start()
    try:
        ChatWebhook.objects.create(name="gwl", kind=ChatKind.SLACK, url=gwl.webhook_url, vendor=world.vendor_b)
        other_env = f.EnvironmentFactory(code="assam", name="Assam")
        ChatWebhook.objects.create(name="assam", kind=ChatKind.SLACK, url=gwl.webhook_url, environment=other_env)

        access = file_request(world, request_type=RequestType.ACCESS_OPS)
        services.request_triage(access, actor=world.pm, vendor=world.vendor_a)  # approval waiting
        blocked = walk_to(world, RequestState.BLOCKED)  # escalated by vendor A's engineer
        _deliver_all()

        assert _posted_subjects(slack) == [
            f"{access.reference} awaits your approval: {access.title}",
            f"{blocked.reference} escalated: blocked",
        ]
        assert [c["summary"] for c in teams.accepted] == [f"{blocked.reference} escalated: blocked"]
        assert gwl.calls == []  # vendor B's channel and another environment's: never
    finally:
        gwl.stop()


def _one_breach(world, slack) -> ChatDelivery:
    ChatWebhook.objects.create(name="staff", kind=ChatKind.SLACK, url=slack.webhook_url)
    from requests_app.timeline import timeline_append

    timeline_append(walk_to(world, RequestState.IN_PROGRESS), kind=EventKind.SLA_BREACHED, payload={})
    return ChatDelivery.objects.get()


def test_a_429_waits_for_its_retry_after(world, slack):
    delivery = _one_breach(world, slack)
    slack.answer_next(429, "rate_limited", headers={"Retry-After": "120"})

    _deliver_all()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.PENDING, 1) and "429" in delivery.last_error
    assert delivery.next_attempt_at > timezone.now() + timedelta(seconds=110)
    assert chat_deliveries_due() == 0  # not before the wait is over

    with time_machine.travel(timezone.now() + timedelta(seconds=121)):
        assert chat_deliveries_due() == 1
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SENT and len(slack.accepted) == 1 and len(slack.calls) == 2


def test_a_500_backs_off_and_then_delivers(world, slack):
    delivery = _one_breach(world, slack)
    slack.answer_next(500, "rollup_error", times=2)

    _deliver_all()
    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        assert chat_deliveries_due() == 0  # second failure: now waits 60 s
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.PENDING, 2)
    with time_machine.travel(timezone.now() + timedelta(seconds=31 + 61)):
        assert chat_deliveries_due() == 1
    assert len(slack.accepted) == 1


@pytest.mark.parametrize(("status", "answer"), [(400, "invalid_payload"), (404, "no_service")])
def test_a_refusal_fails_at_once_and_the_program_manager_sees_it(world, slack, client, status, answer):
    delivery = _one_breach(world, slack)
    slack.answer_next(status, answer)

    _deliver_all()
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        assert chat_deliveries_due() == 0
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.FAILED and answer in delivery.last_error and len(slack.calls) == 1

    client.force_login(world.pm)
    page = client.get(reverse("notification-deliveries")).content.decode()
    assert answer in page and delivery.event.service_request.reference in page
    client.force_login(world.vendor_lead)
    assert client.get(reverse("notification-deliveries")).status_code == 403


def test_teams_refuses_a_payload_that_is_not_a_card(teams):
    import requests

    assert requests.post(teams.webhook_url, json={"text": "hi"}, timeout=5).status_code == 400
    assert requests.post(teams.webhook_url, json={"@type": "MessageCard", "text": "hi"}, timeout=5).text == "1"
