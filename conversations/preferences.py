"""A person's notification settings: a mode per channel, and the address of their own `chat` channel (a Slack or
Microsoft Teams incoming webhook).

The server posts to whatever address is saved here, so an address is taken only over http(s), without user
info, and on a host `PORTICO_CHAT_WEBHOOK_HOSTS` names (Slack's and Teams' by default): a person cannot make
Portico post into its own network. Its kind is the one chosen, or detected from the address.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal.exceptions import ValidationFailed

from .delivery import user_modes, user_modes_set
from .models import ChatKind, PersonalChatWebhook

if TYPE_CHECKING:
    from portal.models import User

URL_FIELD = "chat_webhook_url"
KIND_FIELD = "chat_webhook_kind"
MAX_URL_LENGTH = 500
# Where each service's incoming webhooks live: the host, or failing that (a proxy, a test stand-in) the path.
SLACK_HOSTS = ("hooks.slack.com",)
TEAMS_HOSTS = (".webhook.office.com", "outlook.office.com")
SLACK_PATH = re.compile(r"^/services/T\w+/B\w+/\w+/?$")
TEAMS_PATH = re.compile(r"^/webhookb2/[^/]+/IncomingWebhook/\w+/[^/]+/?$")


def _on(host: str, suffixes: tuple[str, ...] | list[str]) -> bool:
    """`host` is one of `suffixes`; a suffix starting with a dot also matches every name under it."""
    return any(host == s.lstrip(".") or (s.startswith(".") and host.endswith(s)) for s in suffixes)


def chat_kind_detect(url: str) -> str | None:
    """Slack or Teams, as far as the address tells; None when it does not."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if _on(host, SLACK_HOSTS) or SLACK_PATH.match(parts.path):
        return ChatKind.SLACK
    if _on(host, TEAMS_HOSTS) or TEAMS_PATH.match(parts.path):
        return ChatKind.TEAMS
    return None


def chat_webhook_clean(url: str, kind: str = "") -> tuple[str, str]:
    """The address and kind to save, or `ValidationFailed` naming the field at fault."""
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise _invalid(URL_FIELD, f"An address is at most {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises on a port that is not a number
    except ValueError as exc:
        raise _invalid(URL_FIELD, "Enter a valid web address.") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _invalid(URL_FIELD, "Enter an http:// or https:// address.")
    if parts.username or parts.password:
        raise _invalid(URL_FIELD, "Leave the user name and password out of the address.")
    host = parts.hostname.lower()
    if not _on(host, settings.PORTICO_CHAT_WEBHOOK_HOSTS):
        raise _invalid(URL_FIELD, "Use a Slack (hooks.slack.com) or Microsoft Teams (webhook.office.com) address.")
    detected = chat_kind_detect(url)
    if kind and kind not in ChatKind.values:
        raise _invalid(KIND_FIELD, "Choose Slack or Microsoft Teams.")
    if kind and detected and kind != detected:
        raise _invalid(KIND_FIELD, f"This is a {ChatKind(detected).label} address.")
    chosen = kind or detected
    if not chosen:
        raise _invalid(KIND_FIELD, "Choose Slack or Microsoft Teams: the address does not say which.")
    return url, chosen


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, fields={field: message})


def notification_settings(user: User) -> dict[str, str]:
    """Every channel's mode, and my chat webhook's address and kind (blank when I have none)."""
    hook = PersonalChatWebhook.objects.filter(user=user).first()
    return {**user_modes(user), URL_FIELD: hook.url if hook else "", KIND_FIELD: hook.kind if hook else ""}


@transaction.atomic
def notification_settings_set(
    user: User, *, modes: dict[str, str], chat_webhook_url: str | None = None, chat_webhook_kind: str = ""
) -> dict[str, str]:
    """Save the modes given; an address replaces my chat webhook, a blank one removes it, None leaves it."""
    if chat_webhook_url is None and chat_webhook_kind:
        raise _invalid(URL_FIELD, "Give the webhook's address with its kind.")
    if chat_webhook_url is not None:
        if chat_webhook_url.strip():
            url, kind = chat_webhook_clean(chat_webhook_url, chat_webhook_kind)
            hook = PersonalChatWebhook(user=user, url=url, kind=kind, updated_at=timezone.now())
            hook.full_clean(validate_unique=False)
            PersonalChatWebhook.objects.update_or_create(
                user=user, defaults={"url": url, "kind": kind, "updated_at": hook.updated_at}
            )
        else:
            PersonalChatWebhook.objects.filter(user=user).delete()
    user_modes_set(user, modes)
    return notification_settings(user)
