"""The report page's filter form: it only renders the choices; the selector validates what comes back."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from requests_app.catalogue import request_type_choices
from requests_app.choices import Priority
from requests_app.models import Environment, Vendor


class ReportFilterForm(forms.Form):
    """Week and slice of the weekly report."""

    week = forms.CharField(
        label="ISO week",
        help_text="Like 2026-W47.",
        widget=forms.TextInput(attrs={"pattern": r"\d{4}-W\d{2}", "inputmode": "text", "autocomplete": "off"}),
    )
    vendor = forms.ChoiceField(label="Vendor", required=False)
    environment = forms.ChoiceField(label="Environment", required=False)
    priority = forms.ChoiceField(label="Priority", required=False, choices=[("", "All"), *Priority.choices])
    type = forms.ChoiceField(label="Type", required=False, choices=lambda: [("", "All"), *request_type_choices()])

    def __init__(self, *args: Any, vendor_locked: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["vendor"]).choices = [
            ("", "All"),
            *Vendor.objects.values_list("slug", "name"),
        ]
        cast(forms.ChoiceField, self.fields["environment"]).choices = [
            ("", "All"),
            *Environment.objects.values_list("code", "name"),
        ]
        if vendor_locked:
            # A vendor lead's report is always their own vendor's; the selector enforces it, the form just hides it.
            del self.fields["vendor"]


class MetricsFilterForm(forms.Form):
    """Date range and slice of the delivery metrics; `from` (a Python keyword) is added in __init__."""

    to = forms.CharField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    vendor = forms.ChoiceField(label="Vendor", required=False)
    environment = forms.ChoiceField(label="Environment", required=False)
    priority = forms.ChoiceField(label="Priority", required=False, choices=[("", "All"), *Priority.choices])
    type = forms.ChoiceField(label="Type", required=False, choices=lambda: [("", "All"), *request_type_choices()])

    def __init__(self, *args: Any, vendor_locked: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        first = forms.CharField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
        self.fields = {"from": first, **self.fields}
        cast(forms.ChoiceField, self.fields["vendor"]).choices = [
            ("", "All"),
            *Vendor.objects.values_list("slug", "name"),
        ]
        cast(forms.ChoiceField, self.fields["environment"]).choices = [
            ("", "All"),
            *Environment.objects.values_list("code", "name"),
        ]
        if vendor_locked:
            del self.fields["vendor"]
