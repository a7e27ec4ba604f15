"""Filters over request lists, shared by the API (and any page that wants them)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import django_filters
import django_filters.constants
from django.core.exceptions import ValidationError
from django.db.models import QuerySet, Subquery
from django.utils import timezone
from django_filters.fields import IsoDateTimeField

from sla.selectors import (
    SLA_STATUS_CHOICES,
    STATE_GROUP_CHOICES,
    requests_in_state_group,
    requests_with_sla_status,
)

from .catalogue import TYPE_CHOICES
from .choices import Priority, RequestState
from .models import ServiceRequest
from .querysets import ServiceRequestQuerySet

SLA_FILTER_CHOICES = SLA_STATUS_CHOICES


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 instant, handed to the database in UTC.

    PostgreSQL refuses UTC offsets beyond ±15:59 that ISO 8601 allows (and an error inside a transaction poisons
    it), and years far out of range cannot be stored at all; both are a 400 here, never a database error."""

    def to_python(self, value: str | datetime | date | None) -> datetime | None:
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


class KeyFilter(django_filters.CharFilter):
    """A related row named by its key (code, slug, username), matched by id through a scalar subquery.

    The database resolves the key once and then uses the request table's own indexes (vendor, state, due);
    joining the related table to compare keys kept it from doing so, as joins run in the order Django writes
    them (portal/settings/base.py). An unknown key matches nothing, as the join did."""

    def __init__(self, *, key: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.key = key

    def filter(self, queryset: QuerySet[ServiceRequest], value: str) -> QuerySet[ServiceRequest]:
        if value in django_filters.constants.EMPTY_VALUES:
            return queryset
        related = ServiceRequest._meta.get_field(self.field_name).related_model
        # The keys are unique: the model's ordering would only sort the one row, in every list's SQL.
        match = related.objects.filter(**{self.key: value}).order_by().values("pk")[:1]
        return queryset.filter(**{f"{self.field_name}_id": Subquery(match)})


class ServiceRequestFilterSet(django_filters.FilterSet):
    """state, priority and type take several values (`?state=queued&state=in_progress`); keys are codes."""

    state = django_filters.MultipleChoiceFilter(choices=RequestState.choices, distinct=False)
    priority = django_filters.MultipleChoiceFilter(choices=Priority.choices, distinct=False)
    type = django_filters.MultipleChoiceFilter(field_name="request_type", choices=TYPE_CHOICES, distinct=False)
    environment = KeyFilter(field_name="environment", key="code", help_text="Environment code.")
    stack = KeyFilter(field_name="stack", key="code", help_text="Stack code.")
    vendor = KeyFilter(field_name="vendor", key="slug", help_text="Vendor slug.")
    assignee = KeyFilter(field_name="assignee", key="username", help_text="Assignee's username.")
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
    state_group = django_filters.ChoiceFilter(
        choices=STATE_GROUP_CHOICES,
        method="filter_state_group",
        help_text="open: not yet resolved; backlog: not closed, rejected or cancelled (the dashboard's figures).",
    )
    search = django_filters.CharFilter(
        method="filter_search",
        help_text="Full-text search over reference, Jira key, title, description and comments (internal notes only "
        'where you may read them). Web search syntax: "a phrase", -excluded, this or that. Without `ordering`: '
        "best match first among the list's newest 500 matches (every other filter applied first; "
        "`PORTICO_SEARCH_RANK_WINDOW`), and older matches are left out, so `count` is at most that. With "
        "`ordering` (or `pagination=cursor`): every match, in that order.",
    )

    class Meta:
        model = ServiceRequest
        fields: list[str] = []

    def filter_sla_status(self, queryset: ServiceRequestQuerySet, name: str, value: str) -> QuerySet[ServiceRequest]:
        return requests_with_sla_status(queryset, value, timezone.now())

    def filter_state_group(self, queryset: ServiceRequestQuerySet, name: str, value: str) -> QuerySet[ServiceRequest]:
        return requests_in_state_group(queryset, value, timezone.now())

    def filter_search(self, queryset: ServiceRequestQuerySet, name: str, value: str) -> ServiceRequestQuerySet:
        user = getattr(self.request, "user", None)  # the API always sets a request; None finds nothing
        # Ranked by the list once every filter is in (`desk.lists.requests_list`), over the rows it shows.
        return queryset.search_text(value, user=user, ranked=False) if user is not None else queryset.none()

    def filter_text(self, queryset: ServiceRequestQuerySet, name: str, value: str) -> ServiceRequestQuerySet:
        return queryset.search(value)
