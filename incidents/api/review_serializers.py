"""Hypercare windows and post-incident reviews as the API shows and takes them."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from requests_app.choices import Priority, RequestType

from ..hypercare import MAX_DAYS, MIN_DAYS, priority_counts


class HypercareIssueSerializer(serializers.Serializer):
    reference = serializers.CharField(source="service_request.reference")
    title = serializers.CharField(source="service_request.title")
    state = serializers.CharField(source="service_request.state")
    priority = serializers.CharField(source="service_request.priority", help_text="Its priority now.")
    filed_priority = serializers.CharField()
    raised_to = serializers.CharField(help_text="Empty when hypercare left the priority alone.")
    linked_at = serializers.DateTimeField()


class HypercareWindowSerializer(serializers.Serializer):
    """A window, the issues in it the caller may see, and how many of those have each priority."""

    id = serializers.IntegerField(source="pk")
    request = serializers.CharField(source="service_request.reference")
    request_title = serializers.CharField(source="service_request.title")
    environment = serializers.CharField(source="environment.code")
    stack = serializers.CharField(source="stack.code", allow_null=True, default=None)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    raise_priority = serializers.BooleanField()
    issues = HypercareIssueSerializer(source="visible_links", many=True)
    counts_by_priority = serializers.SerializerMethodField()

    @extend_schema_field(serializers.DictField(child=serializers.IntegerField()))
    def get_counts_by_priority(self, window) -> dict[str, int]:
        return priority_counts(window)


class HypercareOpenSerializer(serializers.Serializer):
    request = serializers.CharField(help_text="The resolved release or deployment support request's reference.")
    days = serializers.IntegerField(min_value=MIN_DAYS, max_value=MAX_DAYS, required=False)
    raise_priority = serializers.BooleanField(default=True)


class ActionItemSerializer(serializers.Serializer):
    reference = serializers.CharField(source="follow_up.reference")
    title = serializers.CharField(source="follow_up.title")
    state = serializers.CharField(source="follow_up.state")
    owner = serializers.CharField(source="owner.username", allow_null=True, default=None)
    team = serializers.CharField(source="follow_up.team.slug")
    due_on = serializers.DateField()


class TimelineEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    kind = serializers.CharField()
    text = serializers.CharField()


class ReviewSerializer(serializers.Serializer):
    """A post-incident review: its pre-filled timeline, findings, status and action items."""

    request = serializers.CharField(source="service_request.reference")
    status = serializers.CharField()
    timeline = TimelineEntrySerializer(many=True)
    comment_count = serializers.IntegerField()
    root_cause = serializers.CharField()
    impact = serializers.CharField()
    went_well = serializers.CharField()
    went_badly = serializers.CharField()
    published_at = serializers.DateTimeField(allow_null=True)
    published_by = serializers.CharField(source="published_by.username", allow_null=True, default=None)
    action_items = ActionItemSerializer(many=True, source="action_items.all")


class ReviewUpdateSerializer(serializers.Serializer):
    root_cause = serializers.CharField(required=False, allow_blank=True, max_length=20_000)
    impact = serializers.CharField(required=False, allow_blank=True, max_length=20_000)
    went_well = serializers.CharField(required=False, allow_blank=True, max_length=20_000)
    went_badly = serializers.CharField(required=False, allow_blank=True, max_length=20_000)


class ActionItemCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=20_000)
    due_on = serializers.DateField(help_text="Also the follow-up request's needed-by date.")
    owner = serializers.CharField(required=False, allow_null=True, help_text="The owner's username.")
    team = serializers.CharField(required=False, allow_null=True, help_text="The filing team's slug.")
    request_type = serializers.ChoiceField(choices=RequestType.choices, default=RequestType.TROUBLESHOOTING)
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.P3)
