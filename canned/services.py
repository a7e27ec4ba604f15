"""Writing canned responses: only their managers (a vendor lead for the vendor, the PM for the PM's set)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from portal.exceptions import Forbidden, NotFound, ValidationFailed
from requests_app import permissions as perms
from requests_app.timeline import model_full_clean

from .models import CannedResponse

if TYPE_CHECKING:
    from portal.models import User


def canned_manages(user: User) -> bool:
    return perms.is_program_manager(user) or bool(user.vendor_id and perms.is_lead(user))


def _clean_and_save(canned: CannedResponse, *, actor: User, title: str, body: str) -> CannedResponse:
    canned.title = (title or "").strip()
    canned.body = (body or "").strip()
    canned.updated_by = actor
    canned.updated_at = timezone.now()
    clash = CannedResponse.objects.filter(vendor=canned.vendor, title__iexact=canned.title).exclude(pk=canned.pk)
    if canned.title and clash.exists():
        raise ValidationFailed("That title is taken.", fields={"title": "Another canned response has this title."})
    model_full_clean(canned, exclude=["vendor", "updated_by"])
    canned.save()
    return canned


@transaction.atomic
def canned_create(*, actor: User, title: str, body: str) -> CannedResponse:
    if not canned_manages(actor):
        raise Forbidden("Only the program manager and vendor leads keep canned responses.")
    vendor_id = None if perms.is_program_manager(actor) else actor.vendor_id
    return _clean_and_save(CannedResponse(vendor_id=vendor_id), actor=actor, title=title, body=body)


def _managed(actor: User, canned_id: int) -> CannedResponse:
    canned = CannedResponse.objects.managed_by(actor).select_for_update().filter(pk=canned_id).first()
    if canned is None:
        raise NotFound("No such canned response.")
    return canned


@transaction.atomic
def canned_update(canned_id: int, *, actor: User, title: str, body: str) -> CannedResponse:
    return _clean_and_save(_managed(actor, canned_id), actor=actor, title=title, body=body)


@transaction.atomic
def canned_delete(canned_id: int, *, actor: User) -> None:
    _managed(actor, canned_id).delete()
