"""The report API's JSON is written directly (`portal.api.plain`): the same bytes as its DRF serializers give, for
every kind of report reader, filter, zone and section (`incidents` holds grants, hypercare windows and reviews)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.utils import timezone
from rest_framework import serializers

from portal.api.plain import plain_representer
from reports.api.serializers import DeliveryMetricsSerializer, WeeklyReportSerializer
from reports.api.views import DELIVERY_METRICS, WEEKLY_REPORT
from reports.metrics import delivery_metrics
from reports.selectors import report_weekly

from .conftest import NOW
from .test_incident_sections import incidents  # noqa: F401 — the fixture, used by name

pytestmark = pytest.mark.django_db

ZONES = ["Asia/Kolkata", "America/St_Johns", "UTC"]


def _written(data) -> tuple[object, str]:
    """The values (of their types: a key 1 is not "1") and the JSON in the order the renderer writes it."""
    return data, json.dumps(data)


@pytest.mark.parametrize("zone", ZONES)
def test_weekly_reports_are_the_serializers_json(incidents, zone):  # noqa: F811 — the fixture above
    world = incidents.world
    readers = [world.pm, world.approver, world.vendor_lead]
    filters = [{}, {"vendor": "optit"}, {"environment": "bihar"}, {"priority": "P2"}, {"request_type": "Release"}]
    checked = 0
    with timezone.override(zone):
        for user in readers:
            for week in ("2026-W47", "2026-W46", "2026-W48"):
                for given in filters:
                    report = report_weekly(user=user, week=week, now=NOW, **given)
                    assert _written(WEEKLY_REPORT(report)) == _written(WeeklyReportSerializer(report).data)
                    checked += len(report.breaches) + len(report.break_glass) + len(report.hypercare)
    assert checked > 20  # sections with rows were among them


@pytest.mark.parametrize("zone", ZONES)
def test_delivery_metrics_are_the_serializers_json(incidents, zone):  # noqa: F811
    world = incidents.world
    with timezone.override(zone):
        for user in (world.pm, world.vendor_lead):
            for given in ({}, {"vendor": "optit"}, {"priority": "P1"}):
                metrics = delivery_metrics(user=user, date_from="2026-10-01", date_to="2026-11-30", now=NOW, **given)
                assert _written(DELIVERY_METRICS(metrics)) == _written(DeliveryMetricsSerializer(metrics).data)


class _Child(serializers.Serializer):
    when = serializers.DateTimeField(allow_null=True)
    flag = serializers.BooleanField()


class _Odd(serializers.Serializer):
    """Fields the fast path writes itself, and ones it hands back to DRF (a choice, a renamed source)."""

    text = serializers.CharField()
    number = serializers.IntegerField()
    ratio = serializers.FloatField(allow_null=True)
    state = serializers.ChoiceField(choices=[("a", "A"), (1, "one")])
    counts = serializers.DictField(child=serializers.IntegerField(allow_null=True))
    names = serializers.ListField(child=serializers.CharField(allow_null=True))
    child = _Child(allow_null=True)
    children = _Child(many=True)


class _Renamed(serializers.Serializer):
    shown = serializers.CharField(source="hidden")


@pytest.mark.parametrize("zone", ZONES)
def test_odd_values_are_written_as_drf_writes_them(zone):
    instance = {
        "text": 12,
        "number": "7",
        "ratio": None,
        "state": 1,
        "counts": {1: 2, "b": None},
        "names": ["x", None, 3],
        "child": None,
        "children": [
            {"when": datetime(2026, 12, 6, 5, 30, tzinfo=UTC), "flag": 1},
            {"when": None, "flag": "false"},
            {"when": datetime(2026, 3, 29, 0, 30, tzinfo=UTC), "flag": False},
        ],
    }
    with timezone.override(zone):
        assert _written(plain_representer(_Odd)(instance)) == _written(_Odd(instance).data)
        assert _written(plain_representer(_Renamed)({"hidden": "h"})) == _written(_Renamed({"hidden": "h"}).data)
