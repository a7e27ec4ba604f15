"""Filters over request lists, shared by the API (and any page that wants them)."""

from __future__ import annotations

from datetime import UTC, datetime

import django_filters
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_filters.fields import IsoDateTimeField

from .choices import Priority, RequestState, RequestType
from .models import ServiceRequest
from .querysets import ServiceRequestQuerySet

SLA_FILTER_CHOICES = [
    ("on_track", "On track"),
    ("at_risk", "At risk"),
    ("breached", "Breached"),
    ("paused", "Paused"),
    ("met", "Met"),
]


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 instant, handed to the database in UTC.

    PostgreSQL refuses UTC offsets beyond ±15:59 that ISO 8601 allows (and an error inside a transaction poisons
    it), and years far out of range cannot be stored at all; both are a 400 here, never a database error."""

    def to_python(self, value: object) -> datetime | None:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            instant = parsed.astimezone(UTC)
        except (OverflowError, ValueError) as exc:
            raise ValidationError("The date-time is out of range.", code="invalid") from exc
        if not 1 <= instant.year <= 9999:
            raise ValidationError("The date-time is out of range.", code="invalid")
        return instant


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class ServiceRequestFilterSet(django_filters.FilterSet):
    """state, priority and type take several values (`?state=queued&state=in_progress`); keys are codes."""

    state = django_filters.MultipleChoiceFilter(choices=RequestState.choices, distinct=False)
    priority = django_filters.MultipleChoiceFilter(choices=Priority.choices, distinct=False)
    type = django_filters.MultipleChoiceFilter(field_name="request_type", choices=RequestType.choices, distinct=False)
    environment = django_filters.CharFilter(field_name="environment__code", help_text="Environment code.")
    stack = django_filters.CharFilter(field_name="stack__code", help_text="Stack code.")
    vendor = django_filters.CharFilter(field_name="vendor__slug", help_text="Vendor slug.")
    assignee = django_filters.CharFilter(field_name="assignee__username", help_text="Assignee's username.")
    created_after = UtcIsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", help_text="ISO 8601 date or date-time (inclusive)."
    )
    created_before = UtcIsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt", help_text="ISO 8601 date or date-time (exclusive)."
    )
    q = django_filters.CharFilter(method="filter_text", help_text="Free text over the reference and the title.")
    sla_status = django_filters.ChoiceFilter(
        choices=SLA_FILTER_CHOICES, method="filter_sla_status", help_text="Where the requester-facing SLA stands now."
    )

    class Meta:
        model = ServiceRequest
        fields: list[str] = []

    def filter_sla_status(self, queryset: ServiceRequestQuerySet, name: str, value: str) -> ServiceRequestQuerySet:
        return queryset.with_sla_status(value, timezone.now())

    def filter_text(self, queryset: ServiceRequestQuerySet, name: str, value: str) -> ServiceRequestQuerySet:
        return queryset.search(value)
