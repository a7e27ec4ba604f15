"""Posting, changing and withdrawing announcements (the program manager, each change in the change history) and a
partner's acknowledgement (only of an announcement they are shown)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from backoffice.audit import record_change, require_reason
from backoffice.models import Area
from backoffice.permissions import can_manage
from portal.exceptions import Forbidden, NotFound, ValidationFailed
from requests_app.models import Environment, Vendor
from requests_app.timeline import model_full_clean

from .models import Acknowledgement, Announcement, Audience

if TYPE_CHECKING:
    from portal.models import User

EDITABLE = ("title", "body", "audience", "vendors", "environments", "expires_at")


def _require_manager(actor: User) -> None:
    if not can_manage(actor):
        raise Forbidden("Only the program manager posts announcements.")


def _snapshot(announcement: Announcement) -> dict[str, Any]:
    return {
        "title": announcement.title,
        "body": announcement.body,
        "audience": announcement.audience,
        "vendors": sorted(announcement.vendors.values_list("slug", flat=True)),
        "environments": sorted(announcement.environments.values_list("code", flat=True)),
        "expires_at": announcement.expires_at,
    }


def _check_expiry(expires_at: datetime | None) -> None:
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed("That time has passed.", fields={"expires_at": "Choose a time in the future."})


def _clean_and_save(
    announcement: Announcement, *, vendors: Iterable[Vendor], environments: Iterable[Environment]
) -> Announcement:
    announcement.title = (announcement.title or "").strip()
    announcement.body = (announcement.body or "").strip()
    vendors, environments = list(vendors), list(environments)
    if announcement.audience == Audience.ALL_PARTNERS:
        vendors, environments = [], []  # everybody: a list would only mislead whoever reads it later
    elif not vendors and not environments:
        message = "Choose at least one vendor or environment, or send it to all partners."
        raise ValidationFailed(message, fields={"vendors": message})
    model_full_clean(announcement, exclude=["posted_by"])
    announcement.save()
    announcement.vendors.set(vendors)
    announcement.environments.set(environments)
    return announcement


@transaction.atomic
def announcement_post(
    *,
    actor: User,
    title: str,
    body: str,
    audience: str = Audience.ALL_PARTNERS,
    vendors: Iterable[Vendor] = (),
    environments: Iterable[Environment] = (),
    expires_at: datetime | None = None,
) -> Announcement:
    """Post an announcement; its audience sees it from now on every page until they acknowledge it."""
    _require_manager(actor)
    _check_expiry(expires_at)
    announcement = Announcement(
        title=title, body=body, audience=audience, expires_at=expires_at, posted_by=actor, posted_at=timezone.now()
    )
    _clean_and_save(announcement, vendors=vendors, environments=environments)
    record_change(
        actor=actor,
        area=Area.ANNOUNCEMENT,
        action="Posted announcement",
        obj=announcement,
        reason="Posted",
        after=_snapshot(announcement),
    )
    return announcement


def _managed(announcement_id: int) -> Announcement:
    announcement = Announcement.objects.select_for_update().filter(pk=announcement_id).first()
    if announcement is None:
        raise NotFound("No such announcement.")
    return announcement


@transaction.atomic
def announcement_update(announcement_id: int, *, actor: User, reason: str, **changes: Any) -> Announcement:
    """Change an announcement's text, audience or expiry; acknowledgements already given stand."""
    _require_manager(actor)
    reason = require_reason(reason)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationFailed("Unknown fields.", fields={name: "Not a field of an announcement." for name in unknown})
    announcement = _managed(announcement_id)
    before = _snapshot(announcement)
    if "expires_at" in changes:
        _check_expiry(changes["expires_at"])
    vendors = changes.pop("vendors", announcement.vendors.all())
    environments = changes.pop("environments", announcement.environments.all())
    for name, value in changes.items():
        setattr(announcement, name, value)
    _clean_and_save(announcement, vendors=vendors, environments=environments)
    record_change(
        actor=actor,
        area=Area.ANNOUNCEMENT,
        action="Changed announcement",
        obj=announcement,
        reason=reason,
        before=before,
        after=_snapshot(announcement),
    )
    return announcement


@transaction.atomic
def announcement_delete(announcement_id: int, *, actor: User, reason: str) -> None:
    """Withdraw an announcement and its acknowledgements; the change history keeps what it said."""
    _require_manager(actor)
    reason = require_reason(reason)
    announcement = _managed(announcement_id)
    before = _snapshot(announcement)
    record_change(
        actor=actor,
        area=Area.ANNOUNCEMENT,
        action="Withdrew announcement",
        obj=announcement,
        reason=reason,
        before=before,
    )
    announcement.delete()


@transaction.atomic
def announcement_acknowledge(announcement_id: int, *, actor: User) -> Acknowledgement:
    """Record that `actor` read an announcement they are shown; acknowledging again changes nothing."""
    announcement = Announcement.objects.for_partner(actor).filter(pk=announcement_id).first()
    if announcement is None:
        raise NotFound("No such announcement.")
    existing = Acknowledgement.objects.filter(announcement=announcement, user=actor).first()
    if existing:
        return existing
    try:
        with transaction.atomic():
            return Acknowledgement.objects.create(announcement=announcement, user=actor, at=timezone.now())
    except IntegrityError:  # the same person's second tab got there first
        return Acknowledgement.objects.get(announcement=announcement, user=actor)
