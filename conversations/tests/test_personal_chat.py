"""A person's own Slack or Teams webhook (the `chat` channel): set and checked on the settings page and in the API,
told exactly what the matrix and `visible_to` let that person hear (the same people as by e-mail), immediately,
in the daily digest or not at all, once per (event, person, channel); posted in each service's real format to the
local stub webhooks, retried with backoff when one fails, and shown to the program manager meanwhile."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from conversations.chat import chat_deliveries_due
from conversations.delivery import plan, send_batches
from conversations.handlers import PERSONAL_CHAT_TASK
from conversations.models import (
    Batch,
    Channel,
    ChannelSetting,
    ChatKind,
    Delivery,
    DeliveryState,
    Mode,
    PersonalChatWebhook,
)
from conversations.preferences import chat_kind_detect
from conversations.tasks import conversations_personal_chat_deliver
from conversations.watchers import watch
from portal.models import OutboxMessage, User
from requests_app import services
from requests_app.choices import EventKind, RequestState
from requests_app.testing.workflow import file_request, walk_to

from .helpers import add_view_all_watcher, latest

pytestmark = pytest.mark.django_db
SETTINGS_API = "/api/v1/me/notification-settings/"


def _own(user, kind: str, url: str, *, mode: str = Mode.IMMEDIATE) -> None:
    PersonalChatWebhook.objects.create(user=user, kind=kind, url=url)
    ChannelSetting.objects.update_or_create(user=user, channel=Channel.CHAT, defaults={"mode": mode})


def _post_all() -> None:
    """What the worker does with the outbox's personal chat tasks."""
    for message in OutboxMessage.objects.filter(task=PERSONAL_CHAT_TASK).order_by("pk"):
        conversations_personal_chat_deliver.apply(kwargs=message.kwargs)


def _slack_subjects(stub) -> list[str]:
    return [body["blocks"][0]["text"]["text"].strip("*") for body in stub.accepted]


# --- settings ------------------------------------------------------------------------------------------------
def test_the_settings_page_saves_my_webhook_telling_its_kind_and_refuses_bad_addresses(client, world, slack, teams):
    client.force_login(world.requester)
    url = reverse("notification-settings")
    modes = {"email": Mode.IMMEDIATE, "in_app": Mode.IMMEDIATE, "chat": Mode.DIGEST}

    assert client.post(url, {**modes, "chat_webhook_url": teams.webhook_url}).status_code == 302
    hook = PersonalChatWebhook.objects.get(user=world.requester)
    assert (hook.kind, hook.url) == (ChatKind.TEAMS, teams.webhook_url)  # told from the address
    assert ChannelSetting.objects.get(user=world.requester, channel=Channel.CHAT).mode == Mode.DIGEST
    assert teams.webhook_url in client.get(url).content.decode()

    refusals = {
        "ftp://hooks.slack.com/services/T1/B1/x": "Enter an http:// or https:// address.",
        "https://intranet.example/hook": "Use a Slack (hooks.slack.com) or Microsoft Teams",
        "https://user:secret@hooks.slack.com/services/T1/B1/x": "Leave the user name and password out",
        "not an address at all": "Enter an http:// or https:// address.",
        "http://127.0.0.1:99999/x": "Enter a valid web address.",
    }
    for address, message in refusals.items():
        page = client.post(url, {**modes, "chat": Mode.OFF, "chat_webhook_url": address})
        assert page.status_code == 400 and message in page.content.decode(), address
    wrong_kind = client.post(url, {**modes, "chat_webhook_url": slack.webhook_url, "chat_webhook_kind": "teams"})
    assert wrong_kind.status_code == 400 and "This is a Slack address." in wrong_kind.content.decode()
    unknown = client.post(url, {**modes, "chat_webhook_url": slack.url + "/my-proxy"})
    assert unknown.status_code == 400 and "Choose Slack or Microsoft Teams" in unknown.content.decode()
    # Nothing refused was saved, not even the mode sent with it.
    assert PersonalChatWebhook.objects.get(user=world.requester).url == teams.webhook_url
    assert ChannelSetting.objects.get(user=world.requester, channel=Channel.CHAT).mode == Mode.DIGEST

    chosen = client.post(url, {**modes, "chat_webhook_url": slack.url + "/my-proxy", "chat_webhook_kind": "slack"})
    assert chosen.status_code == 302 and PersonalChatWebhook.objects.get(user=world.requester).kind == ChatKind.SLACK
    assert client.post(url, {**modes, "chat_webhook_url": ""}).status_code == 302
    assert not PersonalChatWebhook.objects.filter(user=world.requester).exists()


def test_the_kind_is_told_from_real_slack_and_teams_addresses():
    assert chat_kind_detect("https://hooks.slack.com/services/T000/B000/XXXX") == ChatKind.SLACK
    assert chat_kind_detect("https://contoso.webhook.office.com/webhookb2/a@b/IncomingWebhook/c/d") == ChatKind.TEAMS
    assert chat_kind_detect("https://example.org/hook") is None


def test_the_settings_api_sets_reads_and_removes_my_webhook(world, slack):
    api = APIClient()
    api.force_authenticate(world.vendor_engineer)

    saved = api.put(SETTINGS_API, {"chat": "digest", "chat_webhook_url": slack.webhook_url}, format="json")
    assert saved.status_code == 200
    assert saved.json() == {
        "email": "immediate",
        "in_app": "immediate",
        "chat": "digest",
        "chat_webhook_url": slack.webhook_url,
        "chat_webhook_kind": "slack",
    }
    assert api.put(SETTINGS_API, {"email": "off"}, format="json").json()["chat_webhook_url"] == slack.webhook_url

    bad = api.put(SETTINGS_API, {"chat_webhook_url": "javascript:alert(1)"}, format="json")
    assert bad.status_code == 400 and "chat_webhook_url" in bad.json()["error"]["fields"]
    wrong = api.put(SETTINGS_API, {"chat_webhook_url": slack.webhook_url, "chat_webhook_kind": "teams"}, format="json")
    assert wrong.status_code == 400 and "chat_webhook_kind" in wrong.json()["error"]["fields"]
    assert api.put(SETTINGS_API, {"chat_webhook_kind": "irc"}, format="json").status_code == 400
    assert api.get(SETTINGS_API).json()["chat_webhook_url"] == slack.webhook_url

    removed = api.put(SETTINGS_API, {"chat_webhook_url": ""}, format="json").json()
    assert (removed["chat_webhook_url"], removed["chat_webhook_kind"]) == ("", "")


# --- who hears, in which format ------------------------------------------------------------------------------
def test_notices_reach_each_persons_own_slack_or_teams_in_its_format(world, slack, teams):
    _own(world.requester, ChatKind.SLACK, slack.webhook_url)
    _own(world.pm, ChatKind.TEAMS, teams.webhook_url)

    service_request = file_request(world, title="Disk <!channel> full")  # the PM hears of a filing
    services.request_triage(service_request, actor=world.pm, vendor=world.vendor_a)  # the requester of the triage
    _post_all()

    [card] = teams.accepted
    assert (
        card["@type"] == "MessageCard" and card["summary"] == f"{service_request.reference} filed: Disk <!channel> full"
    )
    [body] = slack.accepted
    assert body["text"].startswith(f"{service_request.reference} triaged to OptIT")
    assert reverse("request-detail", args=[service_request.reference]) in body["blocks"][1]["elements"][0]["url"]
    assert Delivery.objects.filter(channel=Channel.CHAT, state=DeliveryState.SENT).count() == 2


def test_the_chat_channel_tells_exactly_whom_e_mail_tells_so_never_an_internal_note_to_the_requester(world, slack):
    wendy = add_view_all_watcher(world)
    for user in User.objects.all():
        _own(user, ChatKind.SLACK, slack.webhook_url)
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    watch(service_request, wendy)
    slack.reset_calls()
    Delivery.objects.all().delete()

    public = services.request_comment(service_request, actor=world.vendor_engineer, body="Done on our side")
    note = services.request_comment(service_request, actor=world.vendor_engineer, body="Blame GWL", internal=True)

    def told(event, channel) -> set[str]:
        return set(Delivery.objects.filter(event=event, channel=channel).values_list("user__username", flat=True))

    assert told(public, Channel.CHAT) == told(public, Channel.EMAIL) == {world.requester.username, "wendy"}
    assert told(note, Channel.CHAT) == told(note, Channel.EMAIL) == {"wendy"}
    _post_all()
    assert _slack_subjects(slack).count(f"{service_request.reference}: new comment from {world.vendor_engineer}") == 3


def test_off_mutes_the_channel_and_a_person_without_a_webhook_is_owed_nothing(world, slack):
    _own(world.pm, ChatKind.SLACK, slack.webhook_url, mode=Mode.OFF)

    file_request(world)

    assert not Delivery.objects.filter(channel=Channel.CHAT).exists()  # the PM switched it off; the team has none
    assert Delivery.objects.filter(channel=Channel.EMAIL, user=world.pm).exists()


def test_each_notice_is_owed_and_posted_once_per_person(world, slack):
    _own(world.pm, ChatKind.SLACK, slack.webhook_url)
    event = file_request(world).events.get(kind=EventKind.FILED)

    plan(event)  # planned again, as a redelivered handler would
    _post_all()
    _post_all()  # and every task delivered twice

    assert Delivery.objects.filter(event=event, user=world.pm, channel=Channel.CHAT).count() == 1
    assert len(slack.accepted) == 1


# --- failures ------------------------------------------------------------------------------------------------
def test_a_failing_webhook_is_retried_with_backoff_and_shown_to_the_pm_until_it_goes(world, slack, client):
    _own(world.requester, ChatKind.SLACK, slack.webhook_url)
    slack.answer_next(500, "rollup_error", times=2)
    service_request = walk_to(world, RequestState.QUEUED)
    delivery = Delivery.objects.get(user=world.requester, channel=Channel.CHAT)

    _post_all()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.PENDING, 1) and "rollup_error" in delivery.last_error
    client.force_login(world.pm)
    page = client.get(reverse("notification-deliveries")).content.decode()
    assert service_request.reference in page and "Own Slack or Teams webhook" in page and "rollup_error" in page

    assert chat_deliveries_due() == 0  # not before its wait (30 s) is over
    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        assert chat_deliveries_due() == 0  # failed again: now waits 60 s
    with time_machine.travel(timezone.now() + timedelta(seconds=31 + 61)):
        assert chat_deliveries_due() == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.SENT, 3) and len(slack.accepted) == 1
    assert "rollup_error" not in client.get(reverse("notification-deliveries")).content.decode()


def test_a_removed_webhook_fails_at_once_and_is_listed(world, slack, client):
    _own(world.requester, ChatKind.SLACK, slack.webhook_url)
    slack.answer_next(404, "no_service")
    walk_to(world, RequestState.QUEUED)

    _post_all()
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        assert chat_deliveries_due() == 0
    delivery = Delivery.objects.get(user=world.requester, channel=Channel.CHAT)
    assert delivery.state == DeliveryState.FAILED and len(slack.calls) == 1
    client.force_login(world.pm)
    assert "no_service" in client.get(reverse("notification-deliveries")).content.decode()


# --- the daily digest ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", [ChatKind.SLACK, ChatKind.TEAMS])
def test_the_daily_digest_is_one_post_listing_every_held_notice(world, slack, teams, kind):
    stub = slack if kind == ChatKind.SLACK else teams
    _own(world.pm, kind, stub.webhook_url, mode=Mode.DIGEST)
    first = file_request(world, title="First [click](https://evil.example) *now*")
    second = file_request(world, title="Second <https://evil.example|click>")
    _post_all()
    assert stub.accepted == []  # held for the digest
    held = Delivery.objects.filter(user=world.pm, channel=Channel.CHAT)
    assert set(held.values_list("state", "batch")) == {(DeliveryState.HELD, Batch.DIGEST)}

    assert send_batches(Batch.DIGEST) >= 1

    [body] = stub.accepted
    assert set(held.values_list("state", flat=True)) == {DeliveryState.BATCHED}
    if kind == ChatKind.SLACK:
        assert body["text"] == "Portico daily digest: 2 updates"
        lines = [block["text"]["text"] for block in body["blocks"][1:]]
        assert len(lines) == 2 and all(line.startswith("• <http") for line in lines)
        assert "&lt;https://evil.example|click&gt;" in lines[1]  # user text cannot make a link
    else:
        assert body["@type"] == "MessageCard" and body["summary"] == "Portico daily digest: 2 updates"
        assert body["text"].count("\n") == 1
        assert "\\[click\\]\\(https://evil.example\\) \\*now\\*" in body["text"]
    for service_request in (first, second):
        assert reverse("request-detail", args=[service_request.reference]) in str(body)
    assert latest(first, EventKind.FILED).deliveries.filter(channel=Channel.CHAT).count() == 1
