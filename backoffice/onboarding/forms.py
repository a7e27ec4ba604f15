"""The onboarding page's forms: one per move the user may make, asking only what that move needs."""

from __future__ import annotations

from typing import Any

from django import forms

from provisioning.models import AccessGrant
from provisioning.services import access_grant_text
from requests_app.choices import OnboardingStatus
from requests_app.models import Environment

from . import machine
from .services import Document, MoveData, document_limits_text

ACTION = {
    OnboardingStatus.PAUSED: "Pause",
    OnboardingStatus.OFFBOARDED: "Offboard",
}


class GrantChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: AccessGrant) -> str:
        return f"{access_grant_text(obj)} ({obj.service_request.reference})"


class MoveForm(forms.Form):
    """Move to `target`, with a reason, and the data a forward move into that stage brings."""

    reason = forms.CharField(
        label="Reason",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Kept in the history and the change history.",
    )

    def __init__(
        self,
        *args: Any,
        target: OnboardingStatus,
        current: str | None,
        environment: Environment,
        grants: Any = None,
        **kwargs: Any,
    ) -> None:
        kwargs["prefix"] = target.value  # several move forms share the page: their fields must not collide
        super().__init__(*args, **kwargs)
        self.target = target
        forward = machine.is_forward(current, target)
        self.title = ACTION.get(target, f"Move on to {target.label}" if current else f"Start with {target.label}")
        if forward and target == OnboardingStatus.TRAINING:
            date_input = forms.DateInput(attrs={"type": "date"})
            self.fields["training_start"] = forms.DateField(label="First day of training", widget=date_input)
            self.fields["training_end"] = forms.DateField(label="Last day of training", widget=date_input)
        if forward and target == OnboardingStatus.NDA_SIGNED:
            self.fields["document"] = forms.FileField(label="Signed NDA", help_text=document_limits_text())
        if forward and target == OnboardingStatus.ACCESS_GRANTED:
            self.fields["access_request"] = forms.CharField(
                label="Access request",
                required=False,
                max_length=16,
                help_text=f"The reference of the access request whose grants gave the access in {environment}.",
            )
            self.fields["grants"] = GrantChoiceField(
                label="Or the grants themselves",
                required=False,
                queryset=grants if grants is not None else AccessGrant.objects.none(),
                widget=forms.CheckboxSelectMultiple,
            )

    def move_data(self) -> MoveData:
        data = self.cleaned_data
        upload = data.get("document")
        return MoveData(
            training_start=data.get("training_start"),
            training_end=data.get("training_end"),
            document=Document(upload.name, upload.read()) if upload else None,
            access_request=data.get("access_request") or "",
            grants=tuple(grant.pk for grant in data.get("grants") or ()),
        )


class ReasonForm(forms.Form):
    """A reason alone: for trying again to revoke an offboarded vendor's access."""

    reason = forms.CharField(label="Reason", max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
