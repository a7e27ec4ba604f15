"""Forms of the account pages, and how any form shows a service's `PortalError`."""

from __future__ import annotations

from django import forms

from .exceptions import PortalError
from .tokens import DEFAULT_DAYS, MAX_DAYS


def apply_portal_error(form: forms.Form, error: PortalError) -> None:
    """Put a service's field messages on the form's fields; anything else becomes a form-wide error."""
    placed = False
    for name, messages in error.fields.items():
        if name in form.fields:
            for message in messages:
                form.add_error(name, message)
            placed = True
    if not placed or any(name not in form.fields for name in error.fields):
        form.add_error(None, error.message)


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
