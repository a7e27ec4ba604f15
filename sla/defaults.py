"""The calendars of the first environments and version 1 of each priority's policy (DOMAIN.md's table).

Used by the data migration and, lazily, whenever a database lacks them (a flushed test database, say)."""

from __future__ import annotations

from datetime import time
from typing import Any

CALENDARS = [
    # slug, name, subdivision, round the clock
    ("24x7", "24×7", "", True),
    ("india", "India (national holidays)", "", False),
    ("punjab", "Punjab", "PB", False),
    ("andhra-pradesh", "Andhra Pradesh", "AP", False),
    ("bihar", "Bihar", "BR", False),
]

POLICIES = {
    "P0": (4, "hours", "24x7", 24, "hours", "24x7"),
    "P1": (2, "hours", "24x7", 12, "hours", "24x7"),
    "P2": (1, "working_days", "working", 3, "working_days", "working"),
    "P3": (2, "working_days", "working", 10, "working_days", "working"),
    "P4": (5, "working_days", "working", None, "working_days", "working"),
}


def ensure_defaults(calendar_model: Any = None, hours_model: Any = None, policy_model: Any = None) -> None:
    """Create whatever default calendar or policy is missing (idempotent); models may be migration models."""
    if calendar_model is None:
        from .models import BusinessCalendar as calendar_model
        from .models import SlaPolicy as policy_model
        from .models import WorkingHours as hours_model
    for slug, name, subdivision, round_the_clock in CALENDARS:
        calendar, created = calendar_model.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "timezone": "Asia/Kolkata",
                "country": "" if round_the_clock else "IN",
                "subdivision": subdivision,
                "round_the_clock": round_the_clock,
            },
        )
        if created and not round_the_clock:
            hours_model.objects.bulk_create(
                hours_model(calendar=calendar, weekday=day, starts=time(9, 30), ends=time(18, 0)) for day in range(5)
            )
    for priority, (rg, ru, rc, sg, su, sc) in POLICIES.items():
        if policy_model.objects.filter(priority=priority).exists():
            continue
        policy_model.objects.create(
            priority=priority,
            version=1,
            is_current=True,
            response_goal=rg,
            response_unit=ru,
            response_clock=rc,
            resolution_goal=sg,
            resolution_unit=su,
            resolution_clock=sc,
            note="Defaults from the organisation's priority table",
        )
