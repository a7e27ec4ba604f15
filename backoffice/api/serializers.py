from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.api import fields as portal_fields
from portal.models import User
from requests_app.choices import Priority
from sla.choices import ClockKind, GoalUnit, PauseReason, pause_reasons_in_order
from sla.models import SlaPolicy
from sla.services import POLICY_FIELDS

from ..models import ChangeRecord
from ..policies import ApplyTo, WhatIf


class ChangeRecordSerializer(portal_fields.ModelSerializer):
    actor: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        read_only=True, slug_field="username", allow_null=True
    )

    class Meta:
        model = ChangeRecord
        fields = ["id", "area", "action", "object_type", "object_id", "object_repr", "reason", "before", "after",
                  "actor", "at"]  # fmt: skip
        read_only_fields = fields


class SlaPolicySerializer(portal_fields.ModelSerializer):
    """One revision of a priority's policy."""

    created_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        read_only=True, slug_field="username", allow_null=True
    )
    pause_reasons = serializers.ListField(
        child=serializers.ChoiceField(choices=PauseReason.choices),
        read_only=True,
        help_text="Which pause reasons stop the clocks of this priority's requests.",
    )

    class Meta:
        model = SlaPolicy
        fields = ["id", "priority", "version", "is_current", *POLICY_FIELDS, "note", "created_by", "created_at"]
        read_only_fields = fields


class SlaPolicyDraftSerializer(serializers.Serializer):
    """A draft revision's goals; settings left out keep the current revision's value."""

    priority = serializers.ChoiceField(choices=Priority.choices)
    response_goal = serializers.DecimalField(max_digits=7, decimal_places=2, required=False)
    response_unit = serializers.ChoiceField(choices=GoalUnit.choices, required=False)
    response_clock = serializers.ChoiceField(choices=ClockKind.choices, required=False)
    resolution_goal = serializers.DecimalField(
        max_digits=7, decimal_places=2, required=False, allow_null=True, help_text="null: due at the needed-by date."
    )
    resolution_unit = serializers.ChoiceField(choices=GoalUnit.choices, required=False)
    resolution_clock = serializers.ChoiceField(choices=ClockKind.choices, required=False)
    at_risk_ratio = serializers.DecimalField(max_digits=3, decimal_places=2, required=False)
    pause_reasons = serializers.ListField(
        child=serializers.ChoiceField(choices=PauseReason.choices),
        required=False,
        help_text="Which pause reasons stop the clocks (waiting_on_requester, waiting_on_third_party, "
        "change_freeze, blocked); [] for none.",
    )

    def policy_fields(self) -> dict[str, Any]:
        fields = {name: self.validated_data[name] for name in POLICY_FIELDS if name in self.validated_data}
        if "pause_reasons" in fields:
            fields["pause_reasons"] = pause_reasons_in_order(fields["pause_reasons"])
        return fields


class SlaPolicyRevisionSerializer(SlaPolicyDraftSerializer):
    reason = serializers.CharField(max_length=2000, help_text="Why; kept in the change history.")
    apply_to = serializers.ChoiceField(
        choices=ApplyTo.CHOICES,
        default=ApplyTo.NEW,
        help_text="new: new requests only; open: also retarget the clocks of the priority's open requests.",
    )
    based_on_version = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="The version the draft was made from; 409 if it is no longer current.",
    )


class ComplianceSerializer(serializers.Serializer):
    met = serializers.IntegerField()
    breached = serializers.IntegerField()
    percent = serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True)


class MeasureComplianceSerializer(serializers.Serializer):
    before = ComplianceSerializer(help_text="Under the revisions the requests ran under.")
    after = ComplianceSerializer(help_text="Under the draft.")


class ClockChangeSerializer(serializers.Serializer):
    reference = serializers.CharField()
    clock = serializers.CharField()
    measure = serializers.CharField()
    due_before = portal_fields.DateTimeField(allow_null=True)
    due_after = portal_fields.DateTimeField(allow_null=True)
    earlier = serializers.BooleanField()


class WhatIfSerializer(serializers.Serializer):
    """What the draft would have done to the last quarter's requests of its priority, and to open clocks now."""

    priority = serializers.CharField()
    current_version = serializers.IntegerField(source="current.version")
    since = portal_fields.DateTimeField()
    until = portal_fields.DateTimeField()
    requests = serializers.IntegerField(help_text="Requests of the priority filed in the period, replayed.")
    compliance = serializers.SerializerMethodField()
    open_clocks_changed = serializers.IntegerField(source="changed")
    open_clocks_earlier = serializers.IntegerField(source="earlier")
    open_clocks_later = serializers.IntegerField(source="later")
    changes = ClockChangeSerializer(many=True)

    @extend_schema_field(
        serializers.DictField(child=MeasureComplianceSerializer(), help_text="Keyed by measure: response, resolution.")
    )
    def get_compliance(self, what_if: WhatIf) -> dict[str, Any]:
        return {
            measure: MeasureComplianceSerializer(
                {"before": what_if.before[measure], "after": what_if.after[measure]}
            ).data
            for measure in what_if.before
        }


class RevisionSerializer(serializers.Serializer):
    policy = SlaPolicySerializer()
    applied_to = serializers.CharField()
    retargeted = serializers.ListField(child=serializers.CharField(), help_text="Open requests moved onto it.")
