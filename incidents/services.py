"""Keeping rotas and overrides: the program manager any, a vendor lead their own vendor's."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from backoffice.audit import require_reason
from portal.exceptions import Conflict, Forbidden, NotFound, ValidationFailed
from requests_app import permissions as perms
from requests_app.models import Environment, Vendor
from requests_app.timeline import model_full_clean

from .models import OnCallMember, OnCallOverride, OnCallRota, new_calendar_token

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from portal.models import User


def oncall_manages(user: User) -> bool:
    """Who may keep rotas at all: the program manager and vendor leads."""
    return perms.is_program_manager(user) or bool(user.vendor_id and perms.is_lead(user))


def vendor_people(vendor: Vendor) -> QuerySet[User]:
    """Who may be on a vendor's rota: its active engineers and leads."""
    return get_user_model().objects.filter(vendor=vendor, is_active=True).order_by("first_name", "username")


def _managed(actor: User, rota_id: int, *, lock: bool = True) -> OnCallRota:
    rotas = OnCallRota.objects.managed_by(actor)
    rota = (rotas.select_for_update() if lock else rotas).filter(pk=rota_id).first()
    if rota is None:
        raise NotFound("No such rota.")
    return rota


def _apply_settings(
    rota: OnCallRota, *, actor: User, shift_days: int, starts_on: date, handover_time: time, zone: str
) -> None:
    rota.shift_days = shift_days
    rota.starts_on = starts_on
    rota.handover_time = handover_time
    rota.timezone = zone
    rota.updated_by = actor
    rota.updated_at = timezone.now()
    model_full_clean(rota, exclude=["vendor", "environment", "updated_by"])


@transaction.atomic
def rota_create(
    *,
    actor: User,
    vendor: Vendor | None,
    environment: Environment,
    shift_days: int,
    starts_on: date,
    handover_time: time,
    zone: str,
) -> OnCallRota:
    """A new rota with nobody on it yet; a vendor lead's is always for their own vendor."""
    if not oncall_manages(actor):
        raise Forbidden("Only the program manager and vendor leads keep on-call rotas.")
    if not perms.is_program_manager(actor):
        vendor = actor.vendor
    if vendor is None:
        raise ValidationFailed("Choose a vendor.", fields={"vendor": "Choose a vendor."})
    if OnCallRota.objects.filter(vendor=vendor, environment=environment).exists():
        raise Conflict(f"{vendor} already has a rota for {environment}.")
    rota = OnCallRota(vendor=vendor, environment=environment)
    _apply_settings(
        rota, actor=actor, shift_days=shift_days, starts_on=starts_on, handover_time=handover_time, zone=zone
    )
    try:
        with transaction.atomic():
            rota.save()
    except IntegrityError as exc:  # two creators at once: the unique constraint decides
        raise Conflict(f"{vendor} already has a rota for {environment}.") from exc
    return rota


@transaction.atomic
def rota_update(
    rota_id: int,
    *,
    actor: User,
    shift_days: int,
    starts_on: date,
    handover_time: time,
    zone: str,
    members: Sequence[User],
) -> OnCallRota:
    """New settings and member order (first is primary on the first shift); members must be the vendor's people."""
    rota = _managed(actor, rota_id)
    ids = [member.pk for member in members]
    if len(set(ids)) != len(ids):
        raise ValidationFailed("Each person can be on the rota once.", fields={"members": "Someone is listed twice."})
    allowed = set(vendor_people(rota.vendor).values_list("pk", flat=True))
    if not set(ids) <= allowed:
        raise ValidationFailed(
            f"Only {rota.vendor}'s people can be on this rota.", fields={"members": "Not one of the vendor's people."}
        )
    _apply_settings(
        rota, actor=actor, shift_days=shift_days, starts_on=starts_on, handover_time=handover_time, zone=zone
    )
    rota.save()
    rota.members.all().delete()
    OnCallMember.objects.bulk_create(
        OnCallMember(rota=rota, user=member, position=position) for position, member in enumerate(members, 1)
    )
    return rota


@transaction.atomic
def rota_delete(rota_id: int, *, actor: User) -> None:
    _managed(actor, rota_id).delete()


@transaction.atomic
def rota_token_reset(rota_id: int, *, actor: User) -> OnCallRota:
    """A new secret for the calendar address; the old subscription stops working."""
    rota = _managed(actor, rota_id)
    rota.calendar_token = new_calendar_token()
    rota.save(update_fields=["calendar_token"])
    return rota


@transaction.atomic
def override_create(
    rota_id: int, *, actor: User, member: User, slot: str, starts_at: datetime, ends_at: datetime, reason: str
) -> OnCallOverride:
    """`member` covers `slot` for a while; the reason is required and shown with it."""
    reason = require_reason(reason)
    rota = _managed(actor, rota_id)
    if member.vendor_id != rota.vendor_id or not member.is_active:
        raise ValidationFailed(
            f"Only {rota.vendor}'s people can cover this rota.", fields={"member": "Not one of the vendor's people."}
        )
    if ends_at <= starts_at:
        raise ValidationFailed("The cover must end after it starts.", fields={"ends_at": "End after the start."})
    override = OnCallOverride(
        rota=rota, member=member, slot=slot, starts_at=starts_at, ends_at=ends_at, reason=reason, created_by=actor
    )
    model_full_clean(override, exclude=["rota", "member", "created_by"])
    override.save()
    return override


@transaction.atomic
def override_delete(override_id: int, *, actor: User) -> None:
    override = OnCallOverride.objects.filter(pk=override_id, rota__in=OnCallRota.objects.managed_by(actor)).first()
    if override is None:
        raise NotFound("No such override.")
    override.delete()
