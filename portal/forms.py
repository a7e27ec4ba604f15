"""Forms of the account pages, and how any form shows a service's `PortalError`."""

from __future__ import annotations

from typing import Any, TypeVar

from django import forms

from .choices import TokenScope
from .exceptions import PortalError
from .models import DEFAULT_TOKEN_SCOPES
from .timefmt import timezone_choices
from .tokens import DEFAULT_DAYS, MAX_DAYS


class SharedFields(dict):
    """A form class's fields, shared by its forms instead of deep-copied for each (`Form.__init__` deep-copies
    `base_fields`: for the three forms of a desk list page, ~0.4 ms of CPU). Only for a form whose fields no
    instance changes: the instance's `fields` is a new dict of the same field objects."""

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        return dict(self)


FormClass = TypeVar("FormClass", bound=type[forms.Form])


def fields_shared(form_class: FormClass) -> FormClass:
    """Make `form_class`'s forms share its fields (`SharedFields`); a subclass gets its own, copied again."""
    form_class.base_fields = SharedFields(form_class.base_fields)
    return form_class


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
    """Name a new API token, choose how long it lives (at most `max_days`, the owner's role's limit) and its scopes."""

    name = forms.CharField(
        label="Name", max_length=100, help_text="What it is for, so you recognise it later, e.g. “CI pipeline”."
    )
    expires_in_days = forms.IntegerField(label="Expires after (days)")
    scopes = forms.MultipleChoiceField(
        label="What it may do",
        choices=TokenScope.choices,
        initial=DEFAULT_TOKEN_SCOPES.split(),
        widget=forms.CheckboxSelectMultiple,
        help_text="Give a script only what it needs. A token that may create tokens can grant only its own scopes.",
    )

    def __init__(self, *args: Any, max_days: int = MAX_DAYS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["expires_in_days"] = forms.IntegerField(
            label="Expires after (days)",
            min_value=1,
            max_value=max_days,
            initial=min(DEFAULT_DAYS, max_days),
            help_text=f"1 to {max_days} days. The token stops working after that; create a new one then.",
        )


class TimezoneForm(forms.Form):
    """The zone every time is shown in; empty means the portal's default."""

    timezone = forms.ChoiceField(
        label="Time zone",
        required=False,
        help_text="Every time in Portico (pages, e-mails, reports) is shown in this zone, with its name.",
    )

    def __init__(self, *args: Any, default_zone: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["timezone"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101 — declared above; narrows the type for mypy
        field.choices = [("", f"Portal default ({default_zone})"), *timezone_choices()]
