"""Forms for hypercare windows and post-incident reviews."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.db.models import Q

from portal.models import User
from requests_app import permissions as perms
from requests_app.models import ServiceRequest

from .hypercare import MAX_DAYS, MIN_DAYS


class HypercareOpenForm(forms.Form):
    days = forms.IntegerField(
        label="Hypercare length (days)", min_value=MIN_DAYS, max_value=MAX_DAYS,
        help_text=f"From now; {MIN_DAYS} to {MAX_DAYS} days.",
    )  # fmt: skip
    raise_priority = forms.BooleanField(
        label="Raise production issues one priority level", required=False, initial=True,
        help_text="Issues filed for this environment and stack in the window go up one level (P2 to P1).",
    )  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["days"].initial = settings.PORTICO_HYPERCARE_DEFAULT_DAYS


def _text(label: str) -> forms.CharField:
    return forms.CharField(label=label, required=False, max_length=20_000, widget=forms.Textarea(attrs={"rows": 4}))


class ReviewForm(forms.Form):
    root_cause = _text("Root cause")
    impact = _text("Impact")
    went_well = _text("What went well")
    went_badly = _text("What went badly")


class OwnerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj)


class ActionItemForm(forms.Form):
    title = forms.CharField(label="Action", max_length=200)
    description = forms.CharField(
        label="Details", required=False, max_length=20_000, widget=forms.Textarea(attrs={"rows": 3})
    )
    owner = OwnerChoiceField(label="Owner", queryset=User.objects.none(), required=False, empty_label="Nobody yet")
    due_on = forms.DateField(label="Due on", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def __init__(self, *args: Any, service_request: ServiceRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The follow-up is the incident team's until a vendor takes it: its people and the PM can own it.
        pms = perms.program_managers().values("pk")
        owners = User.objects.filter(Q(teams=service_request.team_id) | Q(pk__in=pms), is_active=True)
        self.fields["owner"].queryset = owners.distinct().order_by("first_name", "last_name", "username")  # type: ignore[attr-defined]
