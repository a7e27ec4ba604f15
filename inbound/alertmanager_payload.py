"""Alertmanager's webhook payload (version 4), checked field by field into plain data.

The shape is Alertmanager's `notify/webhook` message: https://prometheus.io/docs/alerting/latest/configuration/
(`<webhook_config>`). Unknown extra fields are ignored, as Alertmanager may add some; missing or mistyped ones are
reported by their dotted path (`alerts.0.startsAt`) so the sender can see what is wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rest_framework import serializers

from portal.exceptions import ValidationFailed

SUPPORTED_VERSION = "4"
MAX_ALERTS = 1000


class _Labels(serializers.DictField):
    child = serializers.CharField(allow_blank=True, trim_whitespace=False)


class _Time(serializers.DateTimeField):
    """RFC 3339; Go's zero time ("0001-01-01T00:00:00Z", Alertmanager's "not ended") is None."""

    # None for the zero time: the stubs say a DateTimeField never gives None, which allow_null makes untrue.
    def to_internal_value(self, value: Any) -> datetime | None:  # type: ignore[override]
        if isinstance(value, str) and value.startswith("0001-01-01"):
            return None
        try:
            return super().to_internal_value(value)
        except (OverflowError, ValueError) as exc:  # a date at the edge of the calendar, shifted out of it
            raise serializers.ValidationError("Not a usable time.") from exc


class _AlertSerializer(serializers.Serializer):
    # Field names are Alertmanager's own (camelCase), so errors name the fields as the sender wrote them.
    status = serializers.ChoiceField(choices=("firing", "resolved"))
    labels = _Labels()
    annotations = _Labels(required=False, default=dict)
    startsAt = _Time()
    endsAt = _Time(required=False, allow_null=True, default=None)
    generatorURL = serializers.CharField(required=False, allow_blank=True, default="")
    fingerprint = serializers.CharField(required=False, allow_blank=True, default="")


class _PayloadSerializer(serializers.Serializer):
    version = serializers.CharField()
    groupKey = serializers.CharField(max_length=10_000)
    truncatedAlerts = serializers.IntegerField(required=False, default=0, min_value=0)
    status = serializers.ChoiceField(choices=("firing", "resolved"))
    receiver = serializers.CharField(allow_blank=True)
    groupLabels = _Labels(required=False, default=dict)
    commonLabels = _Labels(required=False, default=dict)
    commonAnnotations = _Labels(required=False, default=dict)
    externalURL = serializers.CharField(required=False, allow_blank=True, default="")
    alerts = serializers.ListField(child=_AlertSerializer(), min_length=1, max_length=MAX_ALERTS)

    def validate_version(self, value: str) -> str:
        if value != SUPPORTED_VERSION:
            raise serializers.ValidationError(f'Portico reads version "{SUPPORTED_VERSION}" of the webhook payload.')
        return value


@dataclass(frozen=True)
class Alert:
    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime | None
    ends_at: datetime | None
    generator_url: str
    fingerprint: str


@dataclass(frozen=True)
class Notification:
    status: str
    receiver: str
    group_key: str
    group_labels: dict[str, str]
    common_labels: dict[str, str]
    common_annotations: dict[str, str]
    external_url: str
    truncated_alerts: int
    alerts: tuple[Alert, ...]
    canonical: str  # the payload as canonical JSON: what a redelivery is recognised by

    @property
    def firing(self) -> tuple[Alert, ...]:
        return tuple(alert for alert in self.alerts if alert.status == "firing")


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for name, value in detail.items():
            out.update(_flatten(value, f"{prefix}.{name}" if prefix else str(name)))
        return out
    if isinstance(detail, list) and detail and not all(isinstance(item, str) for item in detail):
        out = {}
        for index, value in enumerate(detail):
            if value:
                out.update(_flatten(value, f"{prefix}.{index}" if prefix else str(index)))
        return out
    items = detail if isinstance(detail, list) else [detail]
    return {prefix or "body": [str(item) for item in items]}


def notification_parse(raw: bytes) -> Notification:
    """The notification in `raw`, or ValidationFailed saying which fields are wrong."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValidationFailed(
            "The body is not JSON.", fields={"body": f"Send Alertmanager's webhook JSON ({exc})."}
        ) from exc
    if not isinstance(data, dict):
        raise ValidationFailed("The body is not a JSON object.", fields={"body": "Send Alertmanager's webhook JSON."})
    serializer = _PayloadSerializer(data=data)
    if not serializer.is_valid():
        raise ValidationFailed("The payload is not Alertmanager's webhook payload.", fields=_flatten(serializer.errors))
    valid = serializer.validated_data
    alerts = tuple(
        Alert(
            status=alert["status"],
            labels=dict(alert["labels"]),
            annotations=dict(alert["annotations"]),
            starts_at=alert["startsAt"],
            ends_at=alert["endsAt"],
            generator_url=alert["generatorURL"],
            fingerprint=alert["fingerprint"],
        )
        for alert in valid["alerts"]
    )
    return Notification(
        status=valid["status"],
        receiver=valid["receiver"],
        group_key=valid["groupKey"],
        group_labels=dict(valid["groupLabels"]),
        common_labels=dict(valid["commonLabels"]),
        common_annotations=dict(valid["commonAnnotations"]),
        external_url=valid["externalURL"],
        truncated_alerts=valid["truncatedAlerts"],
        alerts=alerts,
        canonical=json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
    )
