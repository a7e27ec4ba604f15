"""Reads for the onboarding pages and API: the vendors × environments board, and one onboarding in full."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from provisioning.models import AccessGrant
from requests_app.choices import OnboardingStatus
from requests_app.models import Environment, Vendor, VendorOnboarding

from ..models import OnboardingStep, OnboardingTick
from ..permissions import can_act_on_onboarding
from . import machine
from .services import vendor_access_open

if TYPE_CHECKING:
    from portal.models import User


@dataclass(frozen=True)
class BoardRow:
    vendor: Vendor
    cells: list[tuple[Environment, VendorOnboarding | None]]


def onboarding_board() -> tuple[list[Environment], list[BoardRow]]:
    """Every vendor against every environment, with the onboarding where there is one."""
    environments = list(Environment.objects.order_by("name"))
    onboardings = {(o.vendor_id, o.environment_id): o for o in VendorOnboarding.objects.all()}
    rows = [
        BoardRow(vendor, [(environment, onboardings.get((vendor.pk, environment.pk))) for environment in environments])
        for vendor in Vendor.objects.order_by("name")
    ]
    return environments, rows


@dataclass(frozen=True)
class ChecklistRow:
    item: machine.Item
    tick: OnboardingTick | None


@dataclass(frozen=True)
class OnboardingView:
    """One vendor in one environment: the stage, its checklist, the moves the user may make, history and access."""

    vendor: Vendor
    environment: Environment
    onboarding: VendorOnboarding | None
    checklist: list[ChecklistRow]
    moves: list[OnboardingStatus]
    my_moves: list[OnboardingStatus]
    may_tick: bool
    steps: list[OnboardingStep]
    open_access: list[AccessGrant]

    @property
    def stage(self) -> str | None:
        return self.onboarding.status if self.onboarding else None

    @property
    def stage_label(self) -> str:
        return machine.label(self.stage or "")

    @property
    def training(self) -> dict | None:
        """The dates of the latest move into training, if any."""
        latest = next((step for step in reversed(self.steps) if step.data.get("training_start")), None)
        return latest.data if latest else None


def checklist_of(onboarding: VendorOnboarding | None) -> list[ChecklistRow]:
    if onboarding is None:
        return []
    # Filtered here rather than in SQL so a prefetched `ticks__ticked_by` serves it.
    ticks = {tick.item: tick for tick in onboarding.ticks.all() if tick.stage == onboarding.status}
    return [ChecklistRow(item, ticks.get(item.key)) for item in machine.checklist(onboarding.status)]


def history_of(onboarding: VendorOnboarding | None) -> list[OnboardingStep]:
    if onboarding is None:
        return []
    return list(onboarding.steps.all())


def onboarding_view(*, vendor: Vendor, environment: Environment, user: User) -> OnboardingView:
    onboarding = _loaded().filter(vendor=vendor, environment=environment).first()
    current = onboarding.status if onboarding else None
    moves = machine.allowed_moves(current, paused_from=onboarding.paused_from if onboarding else "")
    return OnboardingView(
        vendor=vendor,
        environment=environment,
        onboarding=onboarding,
        checklist=checklist_of(onboarding),
        moves=moves,
        my_moves=[stage for stage in moves if can_act_on_onboarding(user, stage)],
        may_tick=bool(onboarding and can_act_on_onboarding(user, onboarding.status)),
        steps=history_of(onboarding),
        open_access=list(vendor_access_open(onboarding)) if onboarding else [],
    )


def onboardings_of(vendor: Vendor) -> list[VendorOnboarding]:
    """The vendor's onboardings, one per environment, with what the API shows of each loaded."""
    return list(_loaded().filter(vendor=vendor).order_by("environment__code"))


def _loaded():
    return VendorOnboarding.objects.select_related("environment", "vendor").prefetch_related(
        "ticks__ticked_by", "steps__actor", "steps__access_request", "steps__grants"
    )
