"""The runs panel's one form with input: cancelling a run asks for confirmation and, optionally, why."""

from __future__ import annotations

from django import forms

REASON_MAX_LENGTH = 500


class RunCancelForm(forms.Form):
    """Cancel a run: the confirm button sends `confirm=yes`, so a stray POST cancels nothing."""

    confirm = forms.ChoiceField(choices=[("yes", "Yes")], error_messages={"required": "Confirm the cancellation."})
    reason = forms.CharField(required=False, max_length=REASON_MAX_LENGTH, strip=True)
