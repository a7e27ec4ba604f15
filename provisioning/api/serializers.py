"""Render runs with their steps, and parse the start body; the rules live in the services."""

from __future__ import annotations

from rest_framework import serializers

from portal.models import User
from provisioning.models import ProvisioningRun, ProvisioningStep


class ProvisioningStepSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProvisioningStep
        fields = [
            "position",
            "key",
            "title",
            "status",
            "started_at",
            "finished_at",
            "output_text",
            "output",
            "external_id",
            "link",
        ]


class ProvisioningRunSerializer(serializers.ModelSerializer):
    request = serializers.CharField(source="service_request.reference", read_only=True)
    created_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    steps = ProvisioningStepSerializer(many=True, read_only=True)

    class Meta:
        model = ProvisioningRun
        fields = [
            "id",
            "request",
            "action",
            "status",
            "parameters",
            "attempts",
            "retries",
            "dry_run",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "error_message",
            "external_ids",
            "links",
            "steps",
        ]


class RunStartSerializer(serializers.Serializer):
    action = serializers.CharField(
        required=False, allow_blank=True, max_length=64, help_text="Catalogue action; default: the type's only one."
    )

    def to_internal_value(self, data: object) -> dict:
        value = super().to_internal_value(data)
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: ["Unknown field; this endpoint takes: action."] for name in unknown}
                )
        return value
