"""The request list's filters as the desk adds to them (quick filters, team), for the API and the pages alike."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

import django_filters
from django import forms
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone

from portal.forms import fields_shared
from requests_app.filtersets import KeyFilter, ServiceRequestFilterSet
from requests_app.models import ServiceRequest

from .selectors import QUICK_FILTERS, requests_quick

if TYPE_CHECKING:
    from portal.models import User


class DeskFilterSet(ServiceRequestFilterSet):
    """Every filter of the request list, plus `quick` and `team`."""

    quick = django_filters.ChoiceFilter(
        choices=list(QUICK_FILTERS.items()),
        method="filter_quick",
        help_text="mine, unassigned, at_risk, breached (open requests only), waiting (on the requester), blocked.",
    )
    team = KeyFilter(field_name="team", key="slug", help_text="Team slug.")

    # Built once per class: django-filter builds fresh fields and a new form class for every filterset, ~5 ms of
    # every list page and API list. Safe while no filter's field depends on the request (no queryset filters;
    # `test_filtersets_build_their_form_class_once` checks). Its forms share its fields too (`fields_shared`:
    # nothing changes them; copying them was ~0.2 ms of an API list).
    _form_classes: ClassVar[dict[type, type[forms.Form]]] = {}

    def get_form_class(self) -> type[forms.Form]:
        form_class = self._form_classes.get(type(self))
        if form_class is None:
            form_class = self._form_classes[type(self)] = fields_shared(super().get_form_class())
        return form_class

    @classmethod
    def cleaned(cls, params: QueryDict) -> dict[str, Any]:
        """The filters' values as `params` gives them (the form's `cleaned_data`, every filter named), validated as
        `is_valid()` validates them, without building a filter set: a 400 (`desk.lists.filters_invalid`) if invalid."""
        from .lists import filters_invalid

        form_class = cls._form_classes.get(cls) or cls(queryset=ServiceRequest.objects.none()).get_form_class()
        form = form_class(params, prefix=None)
        if not form.is_valid():
            raise filters_invalid(form.errors)
        return form.cleaned_data

    def filter_quick(self, queryset: QuerySet[ServiceRequest], name: str, value: str) -> QuerySet[ServiceRequest]:
        user = getattr(self.request, "user", None)
        if user is None or not user.is_authenticated:
            return queryset.none()  # lists are only ever for a signed-in user
        return requests_quick(queryset, value, user=cast("User", user), now=timezone.now())


# The parameters a saved view may hold: the filters above and the sort (`sort` in pages, `ordering` in the API).
VIEW_PARAMETERS = frozenset([*DeskFilterSet.base_filters, "search", "sort", "ordering"])
