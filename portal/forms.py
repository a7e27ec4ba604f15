"""Forms of the account pages."""

from __future__ import annotations

from django import forms

from .tokens import DEFAULT_DAYS, MAX_DAYS


class ApiTokenForm(forms.Form):
    """Name a new API token and choose how long it lives."""

    name = forms.CharField(
        label="Name", max_length=100, help_text="What it is for, so you recognise it later, e.g. “CI pipeline”."
    )
    expires_in_days = forms.IntegerField(
        label="Expires after (days)",
        min_value=1,
        max_value=MAX_DAYS,
        initial=DEFAULT_DAYS,
        help_text=f"1 to {MAX_DAYS} days. The token stops working after that; create a new one then.",
    )
