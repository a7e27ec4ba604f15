"""Enumerations of the SLA engine."""

from collections.abc import Iterable

from django.db import models


class ClockKind(models.TextChoices):
    """Which calendar a goal is measured on."""

    ROUND_THE_CLOCK = "24x7", "24×7"
    WORKING = "working", "Environment's working calendar"


class GoalUnit(models.TextChoices):
    HOURS = "hours", "hours"
    WORKING_DAYS = "working_days", "working days"


class Clock(models.TextChoices):
    """Two views of the same work: the requester's SLA and the vendor's OLA."""

    SLA = "sla", "SLA"
    OLA = "ola", "OLA"


class Measure(models.TextChoices):
    RESPONSE = "response", "Response"
    RESOLUTION = "resolution", "Resolution"


class LedgerKind(models.TextChoices):
    START = "start", "Started"
    PAUSE = "pause", "Paused"
    RESUME = "resume", "Resumed"
    STOP = "stop", "Stopped"
    REOPEN = "reopen", "Reopened"
    RETARGET = "retarget", "Retargeted"
    VENDOR_CHANGE = "vendor_change", "Vendor changed"
    CANCEL = "cancel", "Ended without result"
    EXTEND = "extend", "Due time extended"


class PauseReason(models.TextChoices):
    """Why a clock may stand still; the SLA policy says which of these pause its clocks (`SlaPolicy.pause_reasons`)."""

    WAITING_ON_REQUESTER = "waiting_on_requester", "waiting on requester"
    WAITING_ON_THIRD_PARTY = "waiting_on_third_party", "waiting on a third party"
    CHANGE_FREEZE = "change_freeze", "change freeze"
    BLOCKED = "blocked", "blocked"


# Not a pause the policy decides: the time between resolving and reopening never counts (the resolution clock is
# met, then runs again), and the request page shows it with the pauses under this label.
REOPEN_GAP = "resolved_then_reopened"
REOPEN_GAP_LABEL = "resolved, then reopened"


def pause_reason_label(reason: str) -> str:
    """The words for a pause reason as stored in the ledger (older rows hold the words themselves)."""
    if reason == REOPEN_GAP:
        return REOPEN_GAP_LABEL
    if reason in PauseReason.values:
        return str(PauseReason(reason).label)
    return reason or str(PauseReason.WAITING_ON_REQUESTER.label)


def pause_reasons_in_order(chosen: Iterable[str]) -> list[str]:
    """The chosen reasons in the one order pages and the API show them."""
    picked = set(chosen)
    return [reason for reason in PauseReason.values if reason in picked]


def default_pause_reasons() -> list[str]:
    return [PauseReason.WAITING_ON_REQUESTER.value]


class ClockStatus(models.TextChoices):
    ON_TRACK = "on_track", "On track"
    AT_RISK = "at_risk", "At risk"
    BREACHED = "breached", "Breached"
    MET = "met", "Met"
    PAUSED = "paused", "Paused"
    NOT_STARTED = "not_started", "Not started"
    ENDED = "ended", "Ended"
    # Running with nothing to run out against: a P4 without a needed-by date (data from before the rule). Shown as
    # needing attention, never as "on track".
    NO_DUE_DATE = "no_due_date", "No due date"


class CalendarDayKind(models.TextChoices):
    HOLIDAY = "holiday", "Extra holiday (closed)"
    WORKING_DAY = "working_day", "Extra working day (open)"
