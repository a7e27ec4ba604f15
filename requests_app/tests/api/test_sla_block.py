"""The list's hand-built SLA/OLA blocks say exactly what the schema's serializers would."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from rest_framework import serializers

from portal.api.fields import DateTimeField
from requests_app.api.serializers import OlaSerializer, SlaSerializer, sla_block
from sla.choices import ClockStatus

INSTANTS = [None, datetime(2026, 3, 29, 0, 30, tzinfo=UTC), datetime(2026, 11, 22, 12, 0, 5, 123456, tzinfo=UTC)]


def readings():
    for due, met, status, remaining in itertools.product(INSTANTS, INSTANTS, ClockStatus.values, [None, -90, 0, 3600]):
        yield {"due_at": due, "met_at": met, "status": status, "remaining_seconds": remaining}


@pytest.mark.parametrize("vendor", [None, "optit"])
def test_sla_block_matches_the_serializers(vendor: str | None) -> None:
    pairs = list(itertools.islice(itertools.pairwise(readings()), 0, None, 7))
    assert len(pairs) > 20
    for (response, resolution), paused, version in itertools.product(pairs, [True, False], [None, 3]):
        summary = {"response": response, "resolution": resolution, "paused": paused, "policy_version": version}
        assert sla_block(summary) == SlaSerializer().to_representation(summary)
        with_vendor = {**summary, "vendor": vendor}
        assert sla_block(with_vendor) == OlaSerializer().to_representation(with_vendor)


def test_datetime_field_renders_like_drf_in_the_site_timezone() -> None:
    for instant in INSTANTS[1:]:
        assert DateTimeField().to_representation(instant) == serializers.DateTimeField().to_representation(instant)
        assert DateTimeField().to_representation(instant).endswith("+05:30")  # Asia/Kolkata, the default
