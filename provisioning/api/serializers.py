"""Render runs with their steps, and parse the start body; the rules live in the services."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from portal.models import User
from provisioning.forms import REASON_MAX_LENGTH
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
        # lease_expires_at past while the run is queued or running: its worker stopped reporting, and the sweeper
        # resumes it within 30 s (or the program manager or the vendor's engineers do, with /resume/).
        fields = [
            "id",
            "request",
            "action",
            "status",
            "parameters",
            "attempts",
            "retries",
            "resumes",
            "dry_run",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "heartbeat_at",
            "lease_expires_at",
            "error_message",
            "external_ids",
            "links",
            "steps",
        ]


class _StrictSerializer(serializers.Serializer):
    """A body that names a field the endpoint does not take is a 400, not silently ignored."""

    def to_internal_value(self, data: object) -> dict:
        value = super().to_internal_value(data)
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                takes = ", ".join(self.fields)
                raise serializers.ValidationError(
                    {name: [f"Unknown field; this endpoint takes: {takes}."] for name in unknown}
                )
        return value


class RunStartSerializer(_StrictSerializer):
    action = serializers.CharField(
        required=False, allow_blank=True, max_length=64, help_text="Catalogue action; default: the type's only one."
    )
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=REASON_MAX_LENGTH,
        help_text="Required to run an action again after it succeeded; shown on the timeline.",
    )


class RunCancelSerializer(_StrictSerializer):
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=REASON_MAX_LENGTH, help_text="Why; shown on the timeline."
    )


class PlannedStepSerializer(serializers.Serializer):
    """One planned step and the target-system calls the dry-run twins make for it."""

    key = serializers.CharField()
    title = serializers.CharField()
    calls = serializers.ListField(
        child=serializers.DictField(),
        help_text="Each call as the dry-run backend records it: adapter method, HTTP method, path and parameters.",
    )


class RunPlanSerializer(serializers.Serializer):
    """What the request's automation would do if it started now (`provisioning.selectors.run_plan`)."""

    action = serializers.CharField(source="action.name", allow_null=True, help_text="None: the type has no automation.")
    action_label = serializers.CharField(source="action.label", allow_null=True)
    parameters = serializers.DictField(help_text="The automation parameters as the run would use them.")
    steps = PlannedStepSerializer(many=True)
    problem = serializers.CharField(help_text="Why there is no plan (no or invalid parameters); empty when there is.")
    dry_run = serializers.BooleanField(help_text="True when no connection is configured: the run would only record.")
    systems = serializers.ListField(child=serializers.CharField())
    access_hours = serializers.IntegerField(allow_null=True, help_text="Just-in-time access: how many hours it lasts.")
    access_until = serializers.DateTimeField(allow_null=True, help_text="Just-in-time access: when it would end.")
    starts_on_approval = serializers.BooleanField(help_text="Approving the request starts the run at once.")


NO_AUTOMATION = "This request type has no automation; the vendor does the work by hand."


def run_plan_data(plan: Any) -> dict[str, Any]:
    """The plan as the API renders it; a type without automation gets an empty plan that says so."""
    if plan is None:
        empty: dict[str, Any] = {
            "action": None,
            "action_label": None,
            "parameters": {},
            "steps": [],
            "problem": NO_AUTOMATION,
        }
        return {**empty, "dry_run": True, "systems": [], "access_hours": None, "access_until": None,
                "starts_on_approval": False}  # fmt: skip
    return RunPlanSerializer(plan).data
