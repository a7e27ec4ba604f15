from __future__ import annotations

from django import forms
from django.conf import settings

from requests_app.models import Environment, Vendor

from .models import Audience


class AnnouncementForm(forms.Form):
    title = forms.CharField(label="Title", max_length=200)
    body = forms.CharField(
        label="Message", max_length=settings.PORTICO_MAX_TEXT_LENGTH, widget=forms.Textarea(attrs={"rows": 5})
    )
    audience = forms.ChoiceField(
        label="Who sees it", choices=Audience.choices, initial=Audience.ALL_PARTNERS, widget=forms.RadioSelect
    )
    vendors = forms.ModelMultipleChoiceField(
        label="Vendors",
        queryset=Vendor.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="For chosen vendors and environments: these vendors' people.",
    )
    environments = forms.ModelMultipleChoiceField(
        label="Environments",
        queryset=Environment.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="For chosen vendors and environments: the people of every vendor working in these environments.",
    )
    expires_at = forms.DateTimeField(
        label="Show until",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Optional. After this it is no longer shown, acknowledged or not.",
    )


class AnnouncementEditForm(AnnouncementForm):
    reason = forms.CharField(
        label="Reason for this change",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Kept in the change history with your name.",
    )


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label="Reason for withdrawing it",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Kept in the change history with your name.",
    )
