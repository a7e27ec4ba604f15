"""The routing section's forms: a rule (with the reason for the change), deleting one, and the tester."""

from __future__ import annotations

from typing import Any

from django import forms

from requests_app.catalogue import request_type_choices
from requests_app.models import Environment, Stack, Vendor


def _any_type() -> list[tuple[str, str]]:
    return [("", "Any type"), *request_type_choices()]


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="Reason for this change",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Kept in the change history with your name.",
    )


class RoutingRuleForm(ReasonForm):
    request_type = forms.ChoiceField(label="Request type", choices=_any_type, required=False)
    environment = forms.ModelChoiceField(
        label="Environment", queryset=Environment.objects.all(), required=False, empty_label="Any environment"
    )
    stack = forms.ModelChoiceField(label="Stack", queryset=Stack.objects.all(), required=False, empty_label="Any stack")
    vendor = forms.ModelChoiceField(
        label="Send to vendor",
        queryset=Vendor.objects.all(),
        help_text="Work goes to the vendor only in environments where it is live; elsewhere the rule is passed over.",
    )
    is_active = forms.BooleanField(label="Active", required=False, initial=True)
    note = forms.CharField(label="Note", max_length=200, required=False)

    field_order = ["request_type", "environment", "stack", "vendor", "is_active", "note", "reason"]

    def rule_fields(self) -> dict[str, Any]:
        return {name: value for name, value in self.cleaned_data.items() if name != "reason"}


class RoutingTestForm(forms.Form):
    request_type = forms.ChoiceField(label="Request type", choices=request_type_choices)
    environment = forms.ModelChoiceField(label="Environment", queryset=Environment.objects.all())
    stack = forms.ModelChoiceField(label="Stack", queryset=Stack.objects.all(), required=False, empty_label="No stack")
