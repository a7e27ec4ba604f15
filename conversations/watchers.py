"""Watching a request and @mentions: whoever can see a request may follow it; a mention makes its target follow."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from portal.exceptions import ValidationFailed
from requests_app.models import RequestEvent, ServiceRequest
from requests_app.querysets import internal_notes_scope

from .models import RequestMute, Watcher, WatchReason
from .recipients import may_hear

if TYPE_CHECKING:
    from portal.models import User

# Django's default username characters; a mention ends at the first other character ("@asha," → asha).
MENTION = re.compile(r"(?<![\w@.])@([\w.@+-]*[\w+-])")
MENTIONABLE_LIMIT = 10
MENTIONABLE_SCAN = 200


def can_see(service_request: ServiceRequest, user: User) -> bool:
    return ServiceRequest.objects.visible_to(user).filter(pk=service_request.pk).exists()


def watch(service_request: ServiceRequest, user: User, *, reason: str = WatchReason.CHOSE) -> Watcher:
    """Follow `service_request`; only someone who can see it may (a mention of anyone else is ignored earlier)."""
    if not can_see(service_request, user):
        raise ValidationFailed("You cannot watch a request you cannot see.")
    watcher, _ = Watcher.objects.get_or_create(service_request=service_request, user=user, defaults={"reason": reason})
    return watcher


def unwatch(service_request: ServiceRequest, user: User) -> None:
    Watcher.objects.filter(service_request=service_request, user=user).delete()


def copy_team(service_request: ServiceRequest, actor: User) -> int:
    """Make every active member of the request's team a watcher; for the requester's side only."""
    from requests_app import permissions as perms

    if not perms.is_requester_side(service_request, actor) or service_request.team_id is None:
        raise ValidationFailed("Only the requester's team can copy the team.")
    members = get_user_model().objects.filter(is_active=True, teams=service_request.team_id)
    added = 0
    for member in members:
        _, created = Watcher.objects.get_or_create(service_request=service_request, user=member)
        added += created
    return added


def mute(service_request: ServiceRequest, user: User, *, muted: bool) -> None:
    if muted:
        RequestMute.objects.get_or_create(service_request=service_request, user=user)
    else:
        RequestMute.objects.filter(service_request=service_request, user=user).delete()


def mentioned_usernames(text: str) -> list[str]:
    return list(dict.fromkeys(match.group(1) for match in MENTION.finditer(text)))


def mentions_apply(event: RequestEvent) -> list[User]:
    """Make everyone a comment mentions and who can see it (an internal note: staff and the vendor) a watcher."""
    names = mentioned_usernames(event.message)
    if not names:
        return []
    candidates = get_user_model().objects.filter(is_active=True, username__in=names)
    if event.actor_id is not None:
        candidates = candidates.exclude(pk=event.actor_id)
    watching = []
    for user in candidates:
        if may_hear(event, user):  # someone who cannot see the request (or the note) is not told it exists
            Watcher.objects.get_or_create(
                service_request=event.service_request, user=user, defaults={"reason": WatchReason.MENTIONED}
            )
            watching.append(user)
    return watching


def may_be_mentioned(service_request: ServiceRequest, user: User, *, internal: bool = False) -> bool:
    """Whether a mention of `user` would reach them: the rule `RequestEvent.objects.visible_to` applies to the
    comment (`mentions_apply` asks it through `may_hear`), asked before the comment exists."""
    seen = ServiceRequest.objects.visible_to(user).filter(pk=service_request.pk)
    if internal:
        notes = internal_notes_scope(user)
        if notes is None:
            return False
        seen = seen.filter(notes)
    return seen.exists()


def mentionable(service_request: ServiceRequest, *, prefix: str, internal: bool = False) -> list[User]:
    """Up to ten active people whose username, first or last name starts with `prefix` and whom a mention in a
    comment (an internal note when `internal`) on `service_request` would reach: the comment box's suggestions."""
    prefix = prefix.strip().lstrip("@")
    if not prefix:
        return []
    match = Q(username__istartswith=prefix) | Q(first_name__istartswith=prefix) | Q(last_name__istartswith=prefix)
    candidates: QuerySet[User] = get_user_model().objects.filter(match, is_active=True).order_by("username", "pk")
    found: list[User] = []
    # One visibility check per candidate keeps the rule in one place; the scan is bounded so a one-letter prefix
    # on a large directory stays cheap (type a letter more to reach people further down).
    for user in candidates[:MENTIONABLE_SCAN]:
        if may_be_mentioned(service_request, user, internal=internal):
            found.append(user)
            if len(found) == MENTIONABLE_LIMIT:
                break
    return found
