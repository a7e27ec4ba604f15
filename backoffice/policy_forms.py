"""The SLA policy section's two forms: the draft's goals, then (after the what-if) whom it applies to and why."""

from __future__ import annotations

from typing import Any

from django import forms

from sla.choices import ClockKind, GoalUnit, PauseReason, pause_reasons_in_order
from sla.services import POLICY_FIELDS

from .policies import ApplyTo

GOAL: dict[str, Any] = {"max_digits": 7, "decimal_places": 2, "min_value": 0.01}


class SlaPolicyDraftForm(forms.Form):
    """A revision's goals; the model's own rules (`SlaPolicy.clean`) are applied by the service."""

    response_goal = forms.DecimalField(label="Response goal", **GOAL)
    response_unit = forms.ChoiceField(label="Response goal in", choices=GoalUnit.choices)
    response_clock = forms.ChoiceField(
        label="Response measured on",
        choices=ClockKind.choices,
        help_text="The environment's working calendar counts only working hours; 24×7 counts every hour.",
    )
    resolution_goal = forms.DecimalField(
        label="Resolution goal",
        required=False,
        help_text="Leave empty to make requests due at the needed-by date they give.",
        **GOAL,
    )
    resolution_unit = forms.ChoiceField(label="Resolution goal in", choices=GoalUnit.choices)
    resolution_clock = forms.ChoiceField(label="Resolution measured on", choices=ClockKind.choices)
    at_risk_ratio = forms.DecimalField(
        label="At risk after this share of the goal",
        max_digits=3,
        decimal_places=2,
        min_value=0.01,
        max_value=0.99,
        help_text="0.75: a request is at risk once three quarters of its goal has passed.",
    )
    pause_reasons = forms.MultipleChoiceField(
        label="The clocks pause while the request is",
        choices=[(str(reason), str(reason.label).capitalize()) for reason in PauseReason],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Waiting on the requester, or escalated for a third party, a change freeze or another blocker.",
    )
    based_on_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def policy_fields(self) -> dict[str, Any]:
        fields = {name: self.cleaned_data[name] for name in POLICY_FIELDS}
        fields["pause_reasons"] = pause_reasons_in_order(fields["pause_reasons"])
        return fields


class SlaPolicyConfirmForm(forms.Form):
    """Asked on the what-if page, once the figures are known."""

    apply_to = forms.ChoiceField(
        label="Apply to", choices=ApplyTo.CHOICES, initial=ApplyTo.NEW, widget=forms.RadioSelect
    )
    reason = forms.CharField(
        label="Why this change",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Kept in the change history; its first 200 characters become the revision's note.",
    )
