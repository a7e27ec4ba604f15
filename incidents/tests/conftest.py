"""Fixtures of the paging and break-glass tests: vendor A's rota and a clock standing still at NOW."""

from __future__ import annotations

from datetime import date, time

import pytest
import time_machine

from incidents.models import OnCallMember, OnCallRota

from .helpers import NOW


@pytest.fixture
def rota(world) -> OnCallRota:
    """Vendor A's weekly rota: at NOW its engineer is primary (with a phone for SMS) and its lead secondary."""
    rota = OnCallRota.objects.create(
        vendor=world.vendor_a, environment=world.environment, starts_on=date(2026, 1, 5), handover_time=time(9, 0),
        timezone="Asia/Kolkata", shift_days=7,
    )  # fmt: skip
    OnCallMember.objects.create(rota=rota, user=world.vendor_lead, position=1)
    OnCallMember.objects.create(rota=rota, user=world.vendor_engineer, position=2, phone="+919800000001")
    return rota


@pytest.fixture
def traveller():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller
