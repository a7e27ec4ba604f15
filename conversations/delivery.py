"""Planning and sending notices: one `Delivery` per (event, person, channel), sent at most once.

`plan(event)` runs in the event's transaction (a handler): it decides who hears what on which channel, writes
the in-portal notifications at once and records the e-mails and personal chat posts owed (a person's own Slack or
Teams webhook is the `chat` channel: planned here, through the same recipients, posted by `chat.py`).
`notify(event)` (a Celery task, after commit) sends the e-mails owed: each is claimed (`sending`, committed) before
it leaves and marked `sent` after, so a redelivered task, or a retry after a worker died between the two, never
sends it again. A failed send goes back to `pending` and the task raises, so Celery retries it with backoff
(`portal.mail.MAIL_TASK_RETRY`); an address refused for good, or one failing past the last retry, ends `failed`
and is listed for the program manager. `email_message_plan` owes an e-mail fixed when planned (a page's), which
`notify` sends the same way.
"""

from __future__ import annotations

import functools
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import router, transaction
from django.db.models import CharField, F, Q, QuerySet, Value
from django.utils import timezone

from portal.compiled import CompiledForIds, CompiledQuery
from portal.mail import MAIL_TASK_RETRY, MailRefused, mail_error_is_permanent
from portal.outbox import outbox_enqueue
from requests_app.choices import EventKind
from requests_app.models import Notification, RequestEvent

from .chat import batch_payload, post
from .emails import batch_email, fixed_email, notice_email, notice_message_id
from .matrix import notice_for
from .models import Batch, Channel, ChannelSetting, ChatDelivery, Delivery, DeliveryState, Mode, PersonalChatWebhook
from .recipients import recipients_for

if TYPE_CHECKING:
    from portal.models import User

logger = logging.getLogger(__name__)
NOTIFY_TASK = "conversations.tasks.conversations_notify"
MAX_ATTEMPTS = MAIL_TASK_RETRY["max_retries"] + 1
# A claim older than this with no outcome means the worker stopped mid-send: shown to the PM, never resent.
STALE_CLAIM = timedelta(minutes=10)
SLA_KINDS = frozenset({EventKind.SLA_AT_RISK, EventKind.SLA_BREACHED})


# Stands in for a channel in the union below: rows with it are a person's own chat webhook, not a choice.
_HAS_WEBHOOK = "#webhook"


def _choices_of(user_ids: list[int]) -> QuerySet[ChannelSetting, tuple[int, str, str]]:
    settings_rows = ChannelSetting.objects.filter(user_id__in=user_ids).values_list("user_id", "channel", "mode")
    hooks = PersonalChatWebhook.objects.filter(user_id__in=user_ids).values_list(
        "user_id", Value(_HAS_WEBHOOK, output_field=CharField()), Value("", output_field=CharField())
    )
    return settings_rows.order_by().union(hooks.order_by(), all=True)


@functools.cache
def _choices_query() -> CompiledForIds:
    return CompiledForIds(_choices_of)


@functools.cache
def _pending_query() -> CompiledQuery:
    """An event's deliveries still pending, compiled once per process (every notice reads them)."""

    def build(event: int) -> QuerySet[Delivery, tuple[int, int, str, str]]:
        pending = Delivery.objects.filter(event=event, state=DeliveryState.PENDING)
        return pending.order_by("pk").values_list("pk", "user_id", "channel", "batch")

    return CompiledQuery(build, {"event": -(2**62) + 801})  # an id no event holds


def _choices_and_chat_addresses(user_ids: list[int]) -> tuple[dict[tuple[int, str], str], set[int]]:
    """Each person's chosen mode per channel (a missing pair means immediately) and who has a personal chat
    webhook, in one query: a notice asks both of the same people."""
    modes: dict[tuple[int, str], str] = {}
    chat_users: set[int] = set()
    # Compiled once per number of people (portal.compiled): building the union was most of this read's CPU.
    for user_id, channel, mode in _choices_query().rows(user_ids, router.db_for_read(ChannelSetting)):
        if channel == _HAS_WEBHOOK:
            chat_users.add(user_id)
        else:
            modes[(user_id, channel)] = mode
    return modes, chat_users


def is_catch_up(event: RequestEvent) -> bool:
    """An SLA flag raised long after its threshold passed: the first scan of a fresh install or after downtime.

    Those are summed up per person (`send_batches(Batch.SUMMARY)`) instead of one notice per clock."""
    if event.kind not in SLA_KINDS:
        return False
    late_by = event.payload.get("late_by_seconds")
    return late_by is not None and late_by > settings.PORTICO_NOTIFY_CATCH_UP_SECONDS


def _has_address(user: User, channel: str, chat_users: set[int]) -> bool:
    if channel == Channel.EMAIL:
        return bool(user.email)
    if channel == Channel.CHAT:
        return user.pk in chat_users
    return True


@dataclass(frozen=True)
class Owed:
    """What `plan` left to send after commit: how many e-mails, and the personal chat posts (by delivery id)."""

    emails: int = 0
    chat_ids: tuple[int, ...] = ()


def plan(event: RequestEvent) -> int:
    """Record every notice `event` owes and write its immediate in-portal ones; returns the e-mails owed now."""
    return plan_owed(event).emails


def plan_owed(event: RequestEvent) -> Owed:
    """`plan`, also saying which personal chat posts are owed now. A fixed number of queries whatever the number
    of people: the deliveries and the notifications are written in one statement each, and what is still owed is
    read once (a redelivered handler plans again, so rows planned before count as before)."""
    if notice_for(event) is None:
        return Owed()
    people = recipients_for(event)  # the one decision of who may hear: every channel below goes through it
    if not people:
        return Owed()
    notice = notice_for(event) or event.kind
    modes, chat_users = _choices_and_chat_addresses(list(people))
    catch_up = is_catch_up(event)
    rows: list[Delivery] = []
    for user in people.values():
        for channel in Channel:
            mode = modes.get((user.pk, channel), Mode.IMMEDIATE)
            if mode == Mode.OFF or not _has_address(user, channel, chat_users):
                continue
            batch = Batch.SUMMARY if catch_up else Batch.DIGEST if mode == Mode.DIGEST else Batch.NONE
            state = DeliveryState.HELD if batch else DeliveryState.PENDING
            rows.append(Delivery(event=event, user=user, channel=channel, notice=notice, state=state, batch=batch))
    Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    pending = _pending_query().rows(router.db_for_read(Delivery), event=event.pk)
    in_app = [(pk, user_id) for pk, user_id, channel, _ in pending if channel == Channel.IN_APP]
    if in_app:
        Notification.objects.bulk_create(
            [Notification(event=event, user_id=user_id) for _, user_id in in_app], ignore_conflicts=True
        )
        Delivery.objects.filter(pk__in=[pk for pk, _ in in_app], state=DeliveryState.PENDING).update(
            state=DeliveryState.SENT, sent_at=timezone.now(), attempts=1
        )
    return Owed(
        emails=sum(1 for _, _, channel, _ in pending if channel == Channel.EMAIL),
        chat_ids=tuple(pk for pk, _, channel, batch in pending if channel == Channel.CHAT and batch == Batch.NONE),
    )


def email_message_plan(event: RequestEvent, *, people: dict[User, dict[str, str]]) -> int:
    """Owe an e-mail fixed now (a page: `{"subject", "body"}`) to each of `people` with an address, about `event`,
    in the event's transaction; `notify` sends it after commit like every notice: claimed before it leaves, so
    sent once per (event, person, e-mail), a 4xx or a refused connection retried with backoff, a 5xx failed at
    once, and listed for the program manager while in trouble. Not held for a digest: it is owed now. Returns how
    many e-mails are owed now."""
    owed = 0
    for person, message in people.items():
        if not person.email:
            continue
        _, created = Delivery.objects.get_or_create(
            event=event, user=person, channel=Channel.EMAIL, defaults={"notice": event.kind, "message": message}
        )
        owed += created
    if owed:
        outbox_enqueue(NOTIFY_TASK, event_id=event.pk)
    return owed


def notify(event: RequestEvent) -> int:
    """Send the e-mails `event` still owes; returns how many left now. Safe to repeat: nothing goes twice.

    Every owed e-mail is tried; then a transient failure is raised (Celery retries the task) or, with only
    permanent ones, `MailRefused` (not retried)."""
    sent = 0
    transient: Exception | None = None
    permanent: Exception | None = None
    owed = Delivery.objects.filter(event=event, channel=Channel.EMAIL, state=DeliveryState.PENDING)
    for delivery in owed.select_related("user").order_by("pk"):
        try:
            if _send_one(delivery, event):
                sent += 1
        except Exception as exc:
            if mail_error_is_permanent(exc):
                permanent = exc
            else:
                transient = exc
    if transient is not None:
        raise transient
    if permanent is not None:
        raise MailRefused(str(permanent)) from permanent
    return sent


def _claim(delivery: Delivery, *, message_id: str) -> bool:
    """Take `delivery` for sending; committed at once, so a dead worker leaves it claimed rather than owed."""
    with transaction.atomic():
        return bool(
            Delivery.objects.filter(pk=delivery.pk, state=DeliveryState.PENDING).update(
                state=DeliveryState.SENDING,
                claimed_at=timezone.now(),
                attempts=F("attempts") + 1,
                message_id=message_id,
            )
        )


def _mark_sent(delivery: Delivery) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(state=DeliveryState.SENT, sent_at=timezone.now(), last_error="")


def _mark_failed(delivery: Delivery, exc: Exception) -> None:
    attempts = Delivery.objects.values_list("attempts", flat=True).get(pk=delivery.pk)
    done = mail_error_is_permanent(exc) or attempts >= MAX_ATTEMPTS
    Delivery.objects.filter(pk=delivery.pk).update(
        state=DeliveryState.FAILED if done else DeliveryState.PENDING,
        last_error=f"{exc.__class__.__name__}: {exc}"[:500],
    )


def _send_one(delivery: Delivery, event: RequestEvent) -> bool:
    user = delivery.user
    build: Callable[[], EmailMessage]
    if delivery.message:  # fixed when planned (a page): its own message, never the root of the notice thread
        message_id = notice_message_id(event, user, first_in_thread=False)
        build = partial(fixed_email, event, user, delivery.message, message_id=message_id)
    else:
        earlier = Delivery.objects.filter(
            user_id=delivery.user_id,
            channel=Channel.EMAIL,
            event__service_request_id=event.service_request_id,
            batch=Batch.NONE,
            message={},  # a page's e-mail stands outside the thread: the first notice still roots it
            state__in=[DeliveryState.SENT, DeliveryState.SENDING],
        ).exclude(pk=delivery.pk)
        first_in_thread = not earlier.exists()
        message_id = notice_message_id(event, user, first_in_thread=first_in_thread)
        build = partial(notice_email, event, user, first_in_thread=first_in_thread)
    if not _claim(delivery, message_id=message_id):
        return False  # another worker has it, or a previous attempt died after claiming it
    try:
        # Built after the claim: reading an attached file can fail too, and then counts as a failed attempt.
        message = build()
        with get_connection() as connection:
            connection.send_messages([message])
    except Exception as exc:
        _mark_failed(delivery, exc)
        raise
    _mark_sent(delivery)
    return True


# --- digests and catch-up summaries -------------------------------------------------------------------------
def batch_title(batch: str, count: int) -> str:
    if batch == Batch.SUMMARY:
        return f"Portico: {count} SLA notice{'s' if count != 1 else ''} since the last check"
    return f"Portico daily digest: {count} update{'s' if count != 1 else ''}"


def send_batches(batch: str) -> int:
    """Send every held notice of `batch` as one message per person and channel; returns the messages sent."""
    with transaction.atomic():
        held = list(
            Delivery.objects.filter(state=DeliveryState.HELD, batch=batch)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("user", "event__service_request")
            .order_by("event__created_at", "pk")
        )
        Delivery.objects.filter(pk__in=[d.pk for d in held]).update(
            state=DeliveryState.SENDING, claimed_at=timezone.now(), attempts=F("attempts") + 1
        )
    groups: dict[tuple[int, str], list[Delivery]] = defaultdict(list)
    for delivery in held:
        groups[(delivery.user_id, delivery.channel)].append(delivery)
    hooks = {h.user_id: h for h in PersonalChatWebhook.objects.filter(user_id__in={d.user_id for d in held})}
    sent = 0
    for (_, channel), deliveries in groups.items():
        user = deliveries[0].user
        events = [d.event for d in deliveries]
        title = batch_title(batch, len(events))
        ids = [d.pk for d in deliveries]
        try:
            if channel == Channel.EMAIL:
                with get_connection() as connection:
                    connection.send_messages([batch_email(user, events, title=title)])
            elif channel == Channel.CHAT:
                hook = hooks.get(user.pk)
                if hook is None:  # removed since the notices were held: nowhere to post them
                    Delivery.objects.filter(pk__in=ids).update(
                        state=DeliveryState.FAILED, last_error="No personal chat webhook any more."
                    )
                    continue
                post(hook.kind, hook.url, batch_payload(hook.kind, events, title=title))
            else:
                Notification.objects.get_or_create(event=events[-1], user=user, defaults={"summary": title})
        except Exception as exc:
            logger.warning("conversations: %s to %s not sent (%s)", batch, user, exc.__class__.__name__)
            Delivery.objects.filter(pk__in=ids).update(
                state=DeliveryState.HELD, last_error=f"{exc.__class__.__name__}: {exc}"[:500]
            )
            continue
        Delivery.objects.filter(pk__in=ids).update(state=DeliveryState.BATCHED, sent_at=timezone.now())
        sent += 1
    return sent


# --- what the program manager sees -------------------------------------------------------------------------
def _in_trouble() -> Q:
    """Failed, waiting for a retry, or claimed by a worker that stopped mid-send (newest first by the models)."""
    stale = timezone.now() - STALE_CLAIM
    return (
        Q(state=DeliveryState.FAILED)
        | Q(state=DeliveryState.PENDING, attempts__gt=0)
        | Q(state=DeliveryState.SENDING, claimed_at__lt=stale)
    )


def troubled_deliveries() -> QuerySet[Delivery]:
    """Failed e-mails and personal chat posts, ones waiting for a retry, and claims whose worker stopped mid-send."""
    return Delivery.objects.filter(_in_trouble()).select_related("user", "event__service_request")


def troubled_chat_deliveries() -> QuerySet[ChatDelivery]:
    """The same for the shared Slack and Teams channels."""
    return ChatDelivery.objects.filter(_in_trouble()).select_related("webhook", "event__service_request")


def user_modes(user: User) -> dict[str, str]:
    chosen = dict(ChannelSetting.objects.filter(user=user).values_list("channel", "mode"))
    return {channel.value: chosen.get(channel.value, Mode.IMMEDIATE) for channel in Channel}


def user_modes_set(user: User, modes: dict[str, str]) -> dict[str, str]:
    for channel, mode in modes.items():
        ChannelSetting.objects.update_or_create(user=user, channel=channel, defaults={"mode": mode})
    return user_modes(user)
