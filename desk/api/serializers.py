"""Saved views and bulk actions over the API: shapes only; the services hold the rules."""

from __future__ import annotations

from typing import Any

from django.http import QueryDict
from rest_framework import serializers

from requests_app.models import Team

from ..models import ListName, SavedView, Sharing
from ..params import view_query
from ..services import BULK_ACTIONS, BULK_LIMIT


class SavedViewSerializer(serializers.ModelSerializer):
    owner: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(read_only=True, slug_field="username")
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all(), required=False, allow_null=True)
    vendor: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        read_only=True, slug_field="slug", allow_null=True
    )
    query = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=1000,
        help_text="Filters and sort as a query string, e.g. `quick=breached&priority=P0&sort=-created`.",
    )
    mine = serializers.SerializerMethodField()

    class Meta:
        model = SavedView
        fields = ["id", "name", "list_name", "query", "sharing", "team", "vendor", "is_default", "owner", "mine"]
        read_only_fields = ["id", "vendor", "owner", "mine"]

    def get_mine(self, view: SavedView) -> bool:
        return view.owner_id == self.context["request"].user.pk

    def validate_query(self, value: str) -> str:
        return view_query(QueryDict(value))


class SavedViewInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    list_name = serializers.ChoiceField(choices=ListName.choices, default=ListName.REQUESTS)
    query = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")
    sharing = serializers.ChoiceField(choices=Sharing.choices, default=Sharing.PRIVATE)
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all(), required=False, allow_null=True)
    is_default = serializers.BooleanField(default=False)

    def validate_query(self, value: str) -> str:
        return view_query(QueryDict(value))


class BulkInputSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=list(BULK_ACTIONS.items()))
    references = serializers.ListField(child=serializers.CharField(max_length=16), min_length=1, max_length=BULK_LIMIT)
    params = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=2000),
        required=False,
        default=dict,
        help_text="triage: priority, vendor, reason; assign: assignee (username), reason; reassign: vendor, "
        "assignee, reason; cancel: reason.",
    )


class BulkRowSerializer(serializers.Serializer):
    reference = serializers.CharField()
    status = serializers.ChoiceField(choices=["done", "refused"])
    message = serializers.CharField()
    state = serializers.CharField(allow_null=True)


class BulkResultSerializer(serializers.Serializer):
    action = serializers.CharField()
    done = serializers.IntegerField()
    refused = serializers.IntegerField()
    results = BulkRowSerializer(many=True)


def bulk_result(action: str, outcomes: list[Any]) -> dict[str, Any]:
    rows = [
        {"reference": o.reference, "status": "done" if o.ok else "refused", "message": o.message, "state": o.state}
        for o in outcomes
    ]
    done = sum(1 for o in outcomes if o.ok)
    return {"action": action, "done": done, "refused": len(outcomes) - done, "results": rows}
