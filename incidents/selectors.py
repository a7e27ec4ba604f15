"""Reads: who is on call for a rota or a vendor × environment at an instant, and the shifts a calendar lists."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from django.db.models import Prefetch, prefetch_related_objects

from portal.compiled import CompiledObjects

from . import rota as math
from .models import OnCallMember, OnCallOverride, OnCallRota

if TYPE_CHECKING:
    from portal.models import User
    from requests_app.models import Environment, Vendor


def rota_spec(rota: OnCallRota) -> math.RotaSpec[User]:
    members = tuple(member.user for member in rota.members.all())
    return math.RotaSpec(members, rota.starts_on, rota.handover_time, rota.timezone, rota.shift_days)


def rota_covers(rota: OnCallRota, *, since: datetime | None = None) -> list[math.Cover[User]]:
    """The rota's overrides as covers, oldest first (so a later override of the same slot wins)."""
    overrides = sorted(rota.overrides.all(), key=lambda o: (o.created_at, o.pk))
    return [
        math.Cover(o.member, cast("math.Slot", o.slot), o.starts_at, o.ends_at)
        for o in overrides
        if since is None or o.ends_at > since
    ]


def _rota_prefetches() -> tuple[Prefetch, Prefetch]:
    return (
        Prefetch("members", OnCallMember.objects.select_related("user")),
        Prefetch("overrides", OnCallOverride.objects.select_related("member")),
    )


def rotas_loaded(queryset):
    """Rotas with what `rota_on_call` reads, in three queries however many rotas."""
    return queryset.select_related("vendor", "environment").prefetch_related(*_rota_prefetches())


def rota_on_call(rota: OnCallRota, when: datetime) -> math.OnCall[User] | None:
    return math.on_call(rota_spec(rota), rota_covers(rota), when)


def on_call_at(vendor: Vendor, environment: Environment, when: datetime) -> math.OnCall[User] | None:
    """Who is primary and secondary for `vendor` in `environment` at `when`; None without a staffed rota.

    The one entry point for paging and escalation: it applies no visibility, the caller decides who may know.
    """
    # `rotas_loaded(…filter(vendor=vendor, environment=environment)).first()`, the rota read through SQL compiled
    # once per process: the request page asks on every visit, and building the query was most of its panel's time.
    found = _rota_query().objects(None, vendor=vendor.pk, environment=environment.pk)
    if not found:
        return None
    prefetch_related_objects(found, *_rota_prefetches())
    return rota_on_call(found[0], when)


@functools.cache
def _rota_query() -> CompiledObjects:
    from requests_app.compiled import first_of

    def build(shape: None, **markers: int) -> Any:
        rotas = OnCallRota.objects.filter(vendor=markers["vendor"], environment=markers["environment"])
        return first_of(rotas.select_related("vendor", "environment"))

    return CompiledObjects(build, {"vendor": -(2**62) + 211, "environment": -(2**62) + 223})


@dataclass(frozen=True)
class CalendarEntry:
    """One event of a rota's calendar feed."""

    uid: str
    summary: str
    description: str
    starts_at: datetime
    ends_at: datetime


def rota_calendar_entries(rota: OnCallRota, *, now: datetime, weeks: int) -> list[CalendarEntry]:
    """The scheduled shifts and the overrides that overlap [now, now + weeks)."""
    end = now + timedelta(weeks=weeks)
    spec = rota_spec(rota)
    entries = [
        CalendarEntry(
            uid=f"oncall-{rota.pk}-shift-{shift.index}@portico",
            summary=f"On call: {shift.primary} (primary)",
            description=f"{rota}. Secondary: {shift.secondary or 'nobody'}.",
            starts_at=shift.starts_at,
            ends_at=shift.ends_at,
        )
        for shift in math.shifts_between(spec, now, end)
    ]
    entries += [
        CalendarEntry(
            uid=f"oncall-{rota.pk}-override-{override.pk}@portico",
            summary=f"Override: {override.member} covers {override.get_slot_display().lower()}",
            description=f"{rota}. Reason: {override.reason}",
            starts_at=override.starts_at,
            ends_at=override.ends_at,
        )
        for override in rota.overrides.all()
        if override.ends_at > now and override.starts_at < end
    ]
    return sorted(entries, key=lambda entry: (entry.starts_at, entry.uid))
