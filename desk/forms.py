"""The desk's filter bar and its save-a-view and bulk forms: input shape only; selectors and services decide."""

from __future__ import annotations

import copy
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, ClassVar, cast

from django import forms
from django.http import QueryDict

from portal.forms import fields_shared
from requests_app.catalogue import request_type_choices
from requests_app.choices import Priority, RequestState
from sla.selectors import SLA_STATUS_CHOICES, STATE_GROUP_CHOICES

from .models import Sharing
from .selectors import QUICK_FILTERS, FilterChoices, filter_choices, sort_key
from .services import BULK_ACTIONS

if TYPE_CHECKING:
    from portal.models import User


@fields_shared
class DeskFilterForm(forms.Form):
    """The filters of a list (GET). Vendors, engineers and teams offered are only those the user may see."""

    search = forms.CharField(label="Search", required=False, max_length=200)
    quick = forms.ChoiceField(
        label="Quick filter", required=False, widget=forms.RadioSelect, choices=[("", "All"), *QUICK_FILTERS.items()]
    )
    state = forms.ChoiceField(label="State", required=False, choices=[("", "Any state"), *RequestState.choices])
    priority = forms.ChoiceField(label="Priority", required=False, choices=[("", "Any priority"), *Priority.choices])
    type = forms.ChoiceField(label="Type", required=False, choices=lambda: [("", "Any type"), *request_type_choices()])
    environment = forms.ChoiceField(label="Environment", required=False)
    vendor = forms.ChoiceField(label="Vendor", required=False)
    assignee = forms.ChoiceField(label="Assignee", required=False)
    team = forms.ChoiceField(label="Team", required=False)
    sla_status = forms.ChoiceField(label="SLA", required=False, choices=[("", "Any SLA status"), *SLA_STATUS_CHOICES])
    sort = forms.CharField(required=False, widget=forms.HiddenInput)
    # Reached only through links (the dashboard's tiles): kept as hidden inputs while the bar is used.
    state_group = forms.ChoiceField(
        label="Open or backlog", required=False, choices=[("", "Open, closed or any"), *STATE_GROUP_CHOICES]
    )
    created_after = forms.CharField(label="Filed from", required=False, max_length=40)

    LINK_ONLY = ("state_group", "created_after")

    # The fields with the choices a user is offered and without the list's hidden ones, made once for each such
    # set (a few hundred kept) and shared by the forms that offer it: copying the fields and setting their choices
    # for every page was ~0.4 ms of its CPU. Nothing changes a field once it is here.
    _prepared: ClassVar[OrderedDict[tuple[Any, ...], dict[str, forms.Field]]] = OrderedDict()
    PREPARED_KEPT = 256

    def __init__(
        self, data: QueryDict, *, user: User, hide: tuple[str, ...] = (), choices: FilterChoices | None = None
    ) -> None:
        """`choices` is `filter_choices(user)` when the caller has already read them (the desk page, for its bulk
        bar too)."""
        super().__init__(data)
        choices = filter_choices(user) if choices is None else choices
        offered = {
            "environment": [("", "Any environment"), *choices.environments],
            "vendor": [("", "Any vendor"), *choices.vendors],
            "assignee": [("", "Anyone"), *choices.engineers],
            "team": [("", "Any team"), *choices.teams],
        }
        key = (hide, *(tuple(options) for options in offered.values()))
        fields = self._prepared.get(key)
        if fields is None:
            fields = copy.deepcopy(dict(self.base_fields))
            for name, options in offered.items():
                cast(forms.ChoiceField, fields[name]).choices = options
            for name in hide:
                del fields[name]
            self._prepared[key] = fields
            while len(self._prepared) > self.PREPARED_KEPT:
                self._prepared.popitem(last=False)
        self.fields = dict(fields)

    def params(self) -> QueryDict:
        """The valid filters as the list selector's parameters (an invalid one is shown as an error, not applied).

        `search` is the full-text search (`ServiceRequestQuerySet.search_text`): with no sort chosen, best match
        first; otherwise the default sort is urgency."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        params = QueryDict(mutable=True)
        for name, value in data.items():
            if value and name != "sort":
                params[name] = value
        if data.get("sort") or not data.get("search"):
            params["sort"] = sort_key(data.get("sort"))
        return params

    def carried(self) -> list[Any]:
        """Link-only filters in force, as hidden inputs of the filter bar."""
        return [self[name] for name in self.LINK_ONLY if name in self.fields and self[name].value()]

    @property
    def is_filtered(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return any(data.get(name) for name in self.fields if name != "sort")

    @property
    def detail_fields(self) -> list[Any]:
        return [self[name] for name in self.fields if name not in ("search", "quick", "sort", *self.LINK_ONLY)]

    @property
    def detail_filters_set(self) -> int:
        """How many of `detail_fields` hold a value (a phone shows them folded away unless one does)."""
        return sum(1 for field in self.detail_fields if field.value())


@fields_shared
class SavedViewForm(forms.Form):
    name = forms.CharField(label="View name", max_length=80)
    sharing = forms.ChoiceField(label="Share with", choices=Sharing.choices, initial=Sharing.PRIVATE)
    is_default = forms.BooleanField(label="Open this view by default", required=False)
    query = forms.CharField(widget=forms.HiddenInput, required=False, max_length=1000)
    list_name = forms.CharField(widget=forms.HiddenInput)
    next = forms.CharField(widget=forms.HiddenInput, required=False)


@fields_shared
class BulkForm(forms.Form):
    action = forms.ChoiceField(label="Action", choices=list(BULK_ACTIONS.items()))
    priority = forms.ChoiceField(label="Priority", required=False, choices=[("", "Keep priority"), *Priority.choices])
    vendor = forms.CharField(label="Vendor", required=False, max_length=64)
    assignee = forms.CharField(label="Engineer", required=False, max_length=150)
    reason = forms.CharField(label="Reason", required=False, max_length=2000)
    next = forms.CharField(widget=forms.HiddenInput, required=False)

    @property
    def references(self) -> list[str]:
        """The ticked rows, as given: the service says which of them it can act on."""
        return [str(value) for value in cast(QueryDict, self.data).getlist("references")]
