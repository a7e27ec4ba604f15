"""Every write to a vendor's onboarding: moving it between stages (with its history and the change record), ticking
its checklist, and taking away an offboarded vendor's access through the provisioning grant services."""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.template.defaultfilters import filesizeformat

from attachments.services import AttachmentTypeRefused, attachment_check, attachment_filename_clean
from portal.exceptions import Conflict, Forbidden, NotFound, ServiceUnavailable, ValidationFailed
from portal.models import User
from provisioning import services as provisioning_services
from provisioning.models import AccessGrant
from requests_app.choices import OnboardingStatus, RequestType
from requests_app.models import Environment, ServiceRequest, Vendor, VendorOnboarding

from ..audit import record_change, require_reason
from ..models import Area, OnboardingStep, OnboardingTick
from ..permissions import can_act_on_onboarding, can_revoke_vendor_access
from . import machine

if TYPE_CHECKING:
    from collections.abc import Iterable

logger = logging.getLogger(__name__)

# A signed NDA is a PDF or a scan of the paper; the attachment limits (size, sniffed type) apply first.
NDA_TYPES = ("application/pdf", "image/png", "image/jpeg")


@dataclass(frozen=True)
class Document:
    """An uploaded file as the services take it: the client's name (cleaned before use) and the bytes."""

    filename: str
    content: bytes


@dataclass(frozen=True)
class MoveData:
    """What a move may bring: training dates, the signed NDA, how access was granted."""

    training_start: date | None = None
    training_end: date | None = None
    document: Document | None = None
    access_request: str = ""
    grants: tuple[int, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Revocation:
    """What offboarding did to one grant: revoked, or the system's refusal (kept on the grant too)."""

    grant: int
    access: str
    revoked: bool
    error: str

    def as_data(self) -> dict[str, Any]:
        return {"grant": self.grant, "access": self.access, "revoked": self.revoked, "error": self.error}


def onboarding_vendor(slug: str) -> Vendor:
    """The vendor named in a URL; NotFound if there is none."""
    vendor = Vendor.objects.filter(slug=slug).first()
    if vendor is None:
        raise NotFound(f"No vendor {slug}.")
    return vendor


def onboarding_pair(*, vendor_slug: str, environment_code: str) -> tuple[Vendor, Environment]:
    """The vendor and environment named in a URL; NotFound for either unknown."""
    vendor = onboarding_vendor(vendor_slug)
    environment = Environment.objects.filter(code=environment_code).first()
    if environment is None:
        raise NotFound(f"No environment {environment_code}.")
    return vendor, environment


def vendor_access_open(onboarding: VendorOnboarding) -> QuerySet[AccessGrant]:
    """The vendor's access in the environment that is not revoked yet: grants to any of its people's user names,
    and grants linked when access was granted."""
    usernames = User.objects.filter(vendor_id=onboarding.vendor_id).values("username")
    linked = AccessGrant.objects.filter(onboarding_steps__onboarding=onboarding).values("pk")
    return (
        AccessGrant.objects.live()
        .filter(service_request__environment_id=onboarding.environment_id)
        .filter(pk__in=AccessGrant.objects.filter(subject__in=usernames).values("pk").union(linked))
        .select_related("service_request", "run")
        .order_by("granted_at", "pk")
    )


def _training_dates(data: MoveData) -> dict[str, Any]:
    errors = {}
    if data.training_start is None:
        errors["training_start"] = "Give the first day of training."
    if data.training_end is None:
        errors["training_end"] = "Give the last day of training."
    if not errors and data.training_end < data.training_start:  # type: ignore[operator]
        errors["training_end"] = "The last day cannot be before the first."
    if errors:
        raise ValidationFailed("Training needs its dates.", fields=errors)
    return {"training_start": data.training_start.isoformat(), "training_end": data.training_end.isoformat()}  # type: ignore[union-attr]


def _nda_checked(document: Document | None) -> tuple[str, str]:
    """The cleaned file name and sniffed type of a signed NDA within the limits; raises otherwise."""
    if document is None:
        raise ValidationFailed("Attach the signed NDA.", fields={"document": "Choose the signed NDA (PDF or scan)."})
    name = attachment_filename_clean(document.filename)
    content_type = attachment_check(filename=name, content=document.content)
    if content_type not in NDA_TYPES:
        raise AttachmentTypeRefused(
            f"A signed NDA must be a PDF or a scan, not {content_type}.",
            fields={"document": "Upload the NDA as a PDF, PNG or JPEG."},
        )
    return name, content_type


def _access_grants(onboarding_env: Environment, data: MoveData) -> tuple[ServiceRequest | None, list[AccessGrant]]:
    """The AccessOps request and grants that gave the vendor access in the environment; at least one grant."""
    access_request = None
    grants: list[AccessGrant] = []
    if data.access_request:
        access_request = ServiceRequest.objects.filter(reference=data.access_request.strip().upper()).first()
        if access_request is None or access_request.environment_id != onboarding_env.pk:
            raise ValidationFailed(
                f"No request {data.access_request} in {onboarding_env}.",
                fields={"access_request": f"Give an access request filed for {onboarding_env}."},
            )
        if access_request.request_type != RequestType.ACCESS_OPS:
            raise ValidationFailed(
                f"{access_request.reference} is not an access request.",
                fields={"access_request": "Give the access request that granted the access."},
            )
        grants.extend(access_request.access_grants.all())
    if data.grants:
        chosen = list(AccessGrant.objects.filter(pk__in=data.grants, service_request__environment=onboarding_env))
        unknown = sorted(set(data.grants) - {grant.pk for grant in chosen})
        if unknown:
            raise ValidationFailed(
                f"No access grant {', '.join(map(str, unknown))} in {onboarding_env}.",
                fields={"grants": "Choose grants given in this environment."},
            )
        grants.extend(grant for grant in chosen if grant not in grants)
    if not grants:
        raise ValidationFailed(
            "Access granted needs the just-in-time grants that gave it.",
            fields={"access_request": "Give the access request whose grants gave the vendor access, or pick grants."},
        )
    return access_request, grants


def onboarding_move(
    *,
    vendor: Vendor,
    environment: Environment,
    actor: User,
    to: str,
    reason: str,
    data: MoveData | None = None,
) -> OnboardingStep:
    """Move `vendor`'s onboarding in `environment` to stage `to` (starting it if there is none) as `actor`, with
    `reason`; the history step, the change record and the stage are written together. Offboarding then revokes the
    vendor's open access there, one grant at a time, and keeps each outcome on the step."""
    reason = require_reason(reason)
    data = data or MoveData()
    if not can_act_on_onboarding(actor, to):
        raise Forbidden("Only the program manager moves onboarding on; eGov DevOps records access granted.")
    stored = ""
    try:
        with transaction.atomic():
            onboarding = (
                VendorOnboarding.objects.select_for_update().filter(vendor=vendor, environment=environment).first()
            )
            current = onboarding.status if onboarding else None
            ticked = set(onboarding.ticks.filter(stage=current).values_list("item", flat=True)) if onboarding else set()
            paused_from = onboarding.paused_from if onboarding else ""
            machine.move_check(current, to, paused_from=paused_from, ticked=ticked)

            step = OnboardingStep(from_stage=current or "", to_stage=to, actor=actor, reason=reason)
            grants: list[AccessGrant] = []
            if machine.is_forward(current, to) and to == OnboardingStatus.TRAINING:
                step.data = _training_dates(data)
            if machine.is_forward(current, to) and to == OnboardingStatus.NDA_SIGNED:
                stored = _nda_store(step, vendor, environment, data.document)
            if machine.is_forward(current, to) and to == OnboardingStatus.ACCESS_GRANTED:
                step.access_request, grants = _access_grants(environment, data)

            onboarding = onboarding or VendorOnboarding(vendor=vendor, environment=environment)
            onboarding.status = to
            onboarding.paused_from = (current or "") if to == OnboardingStatus.PAUSED else ""
            onboarding.full_clean(exclude=["vendor", "environment"], validate_constraints=False)
            try:
                with transaction.atomic():
                    onboarding.save()
            except IntegrityError as exc:  # two people started it at once; the row lock covers every later move
                raise Conflict(f"{vendor}'s onboarding in {environment} was started meanwhile; reload it.") from exc
            step.onboarding = onboarding
            step.full_clean(exclude=["onboarding", "actor", "access_request", "document"])
            step.save()
            step.grants.set(grants)
            record_change(
                actor=actor,
                area=Area.ONBOARDING,
                action=f"Moved to {machine.label(to)}",
                obj=onboarding,
                reason=reason,
                before={"stage": current},
                after={"stage": to, **_summary(step, grants)},
            )
    except BaseException:
        if stored:
            default_storage.delete(stored)
        raise
    if to == OnboardingStatus.OFFBOARDED:
        because = f"{vendor} was offboarded in {environment}: {reason}"
        outcomes = _revoke_all(onboarding, actor=actor, because=because)
        step.data = {**step.data, "revocations": [outcome.as_data() for outcome in outcomes]}
        step.save(update_fields=["data"])
    return step


def _summary(step: OnboardingStep, grants: Iterable[AccessGrant]) -> dict[str, Any]:
    summary: dict[str, Any] = dict(step.data)
    if step.document_name:
        summary["document"] = step.document_name
    if step.access_request_id:
        summary["access_request"] = step.access_request.reference  # type: ignore[union-attr]
    if grants:
        summary["grants"] = [grant.pk for grant in grants]
    return summary


def _nda_store(step: OnboardingStep, vendor: Vendor, environment: Environment, document: Document | None) -> str:
    """Check and store the signed NDA through the storage API, filling the step's document fields; the stored path."""
    name, content_type = _nda_checked(document)
    assert document is not None  # noqa: S101 — _nda_checked refuses None
    path = f"onboarding/{vendor.slug}/{environment.code}/{uuid.uuid4().hex}/{name}"
    try:
        stored = default_storage.save(path, ContentFile(document.content))
    except Exception as exc:
        logger.exception("NDA storage failed for %s in %s", vendor.slug, environment.code)
        raise ServiceUnavailable("The NDA could not be stored; please try again shortly.") from exc
    step.document = stored
    step.document_name, step.document_type = name, content_type
    step.document_size = len(document.content)
    step.document_sha256 = hashlib.sha256(document.content).hexdigest()
    return stored


def _revoke_all(onboarding: VendorOnboarding, *, actor: User, because: str) -> list[Revocation]:
    outcomes = []
    for grant in vendor_access_open(onboarding):
        revoked = provisioning_services.access_grant_revoke(grant, actor=actor, because=because)
        outcomes.append(
            Revocation(
                grant=grant.pk,
                access=provisioning_services.access_grant_text(grant),
                revoked=revoked,
                error="" if revoked else grant.revoke_error,
            )
        )
    return outcomes


def onboarding_access_revoke(onboarding: VendorOnboarding, *, actor: User, reason: str) -> list[Revocation]:
    """Try again to take away an offboarded vendor's access that a system refused to remove the first time."""
    reason = require_reason(reason)
    if not can_revoke_vendor_access(actor):
        raise Forbidden("Only the program manager and eGov DevOps revoke a vendor's access.")
    onboarding.refresh_from_db(fields=["status"])
    if onboarding.status != OnboardingStatus.OFFBOARDED:
        raise Conflict("Access is revoked here only once the vendor is offboarded.")
    because = f"{onboarding.vendor} was offboarded in {onboarding.environment}: {reason}"
    outcomes = _revoke_all(onboarding, actor=actor, because=because)
    record_change(
        actor=actor,
        area=Area.ONBOARDING,
        action="Revoked access again",
        obj=onboarding,
        reason=reason,
        after={"revocations": [outcome.as_data() for outcome in outcomes]},
    )
    return outcomes


@transaction.atomic
def onboarding_tick(
    onboarding: VendorOnboarding, *, actor: User, item: str, done: bool = True, note: str = ""
) -> OnboardingTick | None:
    """Tick (or untick) `item` of the onboarding's current stage as `actor`; the tick keeps who and when, the change
    history the rest. Returns the tick, or None once unticked."""
    onboarding = VendorOnboarding.objects.select_for_update().get(pk=onboarding.pk)  # the stage as it is now
    stage = onboarding.status
    found = machine.item_named(stage, item)
    if found is None:
        raise ValidationFailed(
            f"{machine.label(stage)} has no checklist item “{item}”.", fields={"item": "Choose an item of this stage."}
        )
    if not can_act_on_onboarding(actor, stage):
        raise Forbidden("Only the program manager ticks this checklist; eGov DevOps ticks access granted's.")
    tick = OnboardingTick.objects.filter(onboarding=onboarding, stage=stage, item=item).first()
    if done == (tick is not None):
        return tick
    if done:
        tick = OnboardingTick.objects.create(onboarding=onboarding, stage=stage, item=item, ticked_by=actor)
    else:
        tick.delete()  # type: ignore[union-attr]
        tick = None
    record_change(
        actor=actor,
        area=Area.ONBOARDING,
        action=f"{'Ticked' if done else 'Unticked'} a checklist item",
        obj=onboarding,
        reason=note.strip() or f"Checklist of {machine.label(stage)}",
        before={"stage": stage, "item": item, "done": not done},
        after={"stage": stage, "item": item, "label": found.label, "done": done},
    )
    return tick


def document_limits_text() -> str:
    """The NDA upload limits in words, for the form's help text."""
    return f"PDF, PNG or JPEG, at most {filesizeformat(settings.PORTICO_ATTACHMENT_MAX_BYTES)}."
