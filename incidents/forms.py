from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils import timezone

from portal.timefmt import timezone_choices
from requests_app.models import Environment, Vendor

from .models import OnCallRota, OverrideSlot
from .services import vendor_people

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj)


class RotaSettingsForm(forms.Form):
    shift_days = forms.IntegerField(label="Shift length (days)", min_value=1, max_value=28, initial=7)
    starts_on = forms.DateField(
        label="First shift starts on", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    handover_time = forms.TimeField(
        label="Handover time", initial="09:00", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    timezone = forms.ChoiceField(label="Time zone", choices=timezone_choices, initial="Asia/Kolkata")

    def settings_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "shift_days": data["shift_days"],
            "starts_on": data["starts_on"],
            "handover_time": data["handover_time"],
            "zone": data["timezone"],
        }


class RotaCreateForm(RotaSettingsForm):
    vendor = forms.ModelChoiceField(label="Vendor", queryset=Vendor.objects.all())
    environment = forms.ModelChoiceField(label="Environment", queryset=Environment.objects.all())
    field_order = ["vendor", "environment"]

    def __init__(self, *args: Any, choose_vendor: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["starts_on"].initial = timezone.localdate()
        if not choose_vendor:  # a vendor lead's rota is always for their own vendor
            del self.fields["vendor"]


class RotaForm(RotaSettingsForm):
    """The rota's settings and its members in order, one drop-down per place."""

    def __init__(self, *args: Any, rota: OnCallRota, **kwargs: Any) -> None:
        current = [member.user for member in rota.members.all()]
        initial = {
            "shift_days": rota.shift_days,
            "starts_on": rota.starts_on,
            "handover_time": rota.handover_time,
            "timezone": rota.timezone,
            **{f"member_{n}": user.pk for n, user in enumerate(current, 1)},
        }
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        people = vendor_people(rota.vendor)
        for n in range(1, people.count() + 1):
            label = "1st (primary on the first shift)" if n == 1 else f"Place {n}"
            self.fields[f"member_{n}"] = PersonChoiceField(
                label=label, queryset=people, required=False, empty_label="Nobody"
            )

    def members(self) -> list[Any]:
        return [value for name, value in self.cleaned_data.items() if name.startswith("member_") and value]


class OverrideForm(forms.Form):
    """Times are read in the rota's own zone, the zone its handover is in."""

    member = PersonChoiceField(label="Who covers", queryset=Vendor.objects.none())  # replaced per rota
    slot = forms.ChoiceField(label="Covers", choices=OverrideSlot.choices)
    starts_at = forms.DateTimeField(
        label="From", input_formats=[DATETIME_FORMAT],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT),
    )  # fmt: skip
    ends_at = forms.DateTimeField(
        label="Until", input_formats=[DATETIME_FORMAT],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT),
    )  # fmt: skip
    reason = forms.CharField(label="Reason", max_length=200)

    def __init__(self, *args: Any, rota: OnCallRota, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.zone = rota.timezone
        cast(forms.ModelChoiceField, self.fields["member"]).queryset = vendor_people(rota.vendor)
        self.fields["starts_at"].label = f"From ({rota.timezone})"
        self.fields["ends_at"].label = f"Until ({rota.timezone})"

    def full_clean(self) -> None:
        with timezone.override(self.zone):
            super().full_clean()
