"""The forms of the Calendars section; each one ends in a reason, which the service requires."""

from __future__ import annotations

from typing import Any

from django import forms

from portal.timefmt import timezone_choices
from requests_app.models import Environment
from sla.calendars import WEEKDAYS
from sla.holidays_source import category_label, subdivision_names
from sla.models import BusinessCalendar

from .calendar_import import MAX_IMPORT_BYTES


def reason_field(help_text: str = "Kept in the change history with your name.") -> forms.CharField:
    return forms.CharField(label="Reason", max_length=500, help_text=help_text)


class DateInput(forms.DateInput):
    input_type = "date"


class _OnTheCalendarPage(forms.Form):
    """One of the forms the calendar's page shows together, whose fields share names (date, reason): each form's
    ids start with its own `ids`, so every label, hint and error names its own form's field."""

    ids: str

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"{self.ids}-%s")
        super().__init__(*args, **kwargs)


class DayAddForm(_OnTheCalendarPage):
    ids = "add-day"
    date = forms.DateField(label="Date", widget=DateInput)
    name = forms.CharField(label="Holiday name", max_length=100, help_text="As people know it, e.g. “Chhath Puja”.")
    reason = reason_field()


class DayRemoveForm(_OnTheCalendarPage):
    ids = "remove-day"
    date = forms.DateField(
        label="Date", widget=DateInput, help_text="A holiday on this calendar; it becomes a working day."
    )
    reason = reason_field()


class ClosureForm(_OnTheCalendarPage):
    ids = "closure"
    starts_on = forms.DateField(label="First day closed", widget=DateInput)
    ends_on = forms.DateField(label="Last day closed", widget=DateInput)
    reason = forms.CharField(
        label="Reason", max_length=200, help_text="Shown on the year view, e.g. “State-wide bandh”."
    )


class ClosureRemoveForm(forms.Form):
    reason = reason_field()


class SettingsForm(forms.Form):
    """Time zone, state, holiday lists and the working hours of each weekday."""

    timezone = forms.ChoiceField(label="Time zone")
    subdivision = forms.ChoiceField(label="State", required=False)
    categories = forms.MultipleChoiceField(
        label="Holiday lists",
        widget=forms.CheckboxSelectMultiple,
        help_text="The holidays package's lists this calendar closes on. State offices follow the government "
        "offices' list.",
    )

    def __init__(self, *args: Any, calendar: BusinessCalendar, categories: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = timezone_choices()  # type: ignore[attr-defined]
        if calendar.round_the_clock or not calendar.country:
            del self.fields["subdivision"], self.fields["categories"]
        else:
            states = sorted(subdivision_names(calendar.country).items(), key=lambda pair: pair[1])
            self.fields["subdivision"].choices = [("", "Whole country")] + [  # type: ignore[attr-defined]
                (code, f"{name} ({code})") for code, name in states
            ]
            self.fields["categories"].choices = [(c, category_label(c).capitalize()) for c in categories]  # type: ignore[attr-defined]
            for day, name in enumerate(WEEKDAYS):
                self.fields[f"hours_{day}"] = forms.CharField(
                    label=f"{name} hours",
                    required=False,
                    max_length=100,
                    help_text="Like 09:30-18:00, or 09:30-13:00, 14:00-18:00; empty for a day off." if day == 0 else "",
                )
        self.fields["reason"] = reason_field()

    def weekly_hours(self) -> dict[int, str]:
        return {day: self.cleaned_data.get(f"hours_{day}", "") or "" for day in range(7)}


class ImportForm(forms.Form):
    file = forms.FileField(
        label="Holiday file",
        help_text=f"An iCalendar file (.ics) or a CSV file with lines like 2026-11-15,Chhath Puja; at most "
        f"{MAX_IMPORT_BYTES // 1024} KB. You will see what it adds before anything changes.",
    )
    reason = reason_field()


class ImportConfirmForm(forms.Form):
    """The file's text carried from the preview to the confirmation; it is read again, never trusted as parsed."""

    content = forms.CharField(widget=forms.HiddenInput, strip=False, max_length=MAX_IMPORT_BYTES)
    filename = forms.CharField(widget=forms.HiddenInput, max_length=200, required=False)
    format = forms.CharField(widget=forms.HiddenInput, max_length=8)
    reason = reason_field()


class EnvironmentLinkForm(forms.Form):
    environment = forms.ModelChoiceField(label="Environment", queryset=Environment.objects.order_by("name"))
    calendar = forms.ModelChoiceField(
        label="Calendar", queryset=BusinessCalendar.objects.order_by("name"), to_field_name="slug"
    )
    reason = reason_field()
