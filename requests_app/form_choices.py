"""What the transition forms of one page share: routing suggestions and the vendors live in an environment.

The triage inbox builds a triage form per row, and each asked the routing rules (twice, with the row's own
suggestion column) and listed the environment's live vendors through a cursor: three queries a row, 88 for a page
of 25. Requests of one page share a handful of environments, and their routing is decided for the whole page at
once (`routing_suggest_many`, from the live vendors the page lists anyway), so one `FormChoices` per response asks each
question once. It lives for one response only: rules and onboardings change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.forms.models import ModelChoiceIterator

from portal.compiled import CompiledObjects

from .choices import OnboardingStatus
from .models import ServiceRequest, Vendor, VendorOnboarding
from .routing import COMPILED_UP_TO, live_vendors, routing_suggest, routing_suggest_many


def _onboardings_query(environments: list[int]) -> QuerySet[VendorOnboarding]:
    return (
        VendorOnboarding.objects.filter(environment_id__in=environments, status=OnboardingStatus.LIVE)
        .select_related("vendor")
        .order_by("vendor__name")  # as `live_vendors`
    )


# `_onboardings_query` compiled once per process and number of environments (a triage page's are a handful), as
# `routing.routing_rules_for` is; past COMPILED_UP_TO environments the queryset is built as before.
_ONBOARDINGS = CompiledObjects(
    lambda size, **m: _onboardings_query([m[f"environment{i}"] for i in range(size)]),
    {f"environment{i}": -7_700_000 - i for i in range(COMPILED_UP_TO)},
)


def _live_onboardings(environments: set[int]) -> list[VendorOnboarding]:
    """The live onboardings of `environments`, with their vendors, by vendor name."""
    if not environments:
        return []
    if len(environments) > COMPILED_UP_TO:
        return list(_onboardings_query(list(environments)))
    values: dict[str, Any] = {f"environment{i}": value for i, value in enumerate(environments)}
    return _ONBOARDINGS.objects(len(environments), **values)


class FormChoices:
    """Routing suggestions by (type, environment, stack) and live vendors by environment, each read once."""

    def __init__(self) -> None:
        self._suggestions: dict[tuple[str, int, int | None], Vendor | None] = {}
        self._live: dict[int, list[Vendor]] = {}

    def prime(self, service_requests: list[ServiceRequest]) -> None:
        """List a whole page's environments' live vendors, and decide its routing from them, at once: two queries
        however many rows and combinations it holds."""
        environments = {service_request.environment_id for service_request in service_requests}
        fresh = environments - set(self._live)
        for environment_id in fresh:
            self._live[environment_id] = []
        for onboarding in _live_onboardings(fresh):
            self._live[onboarding.environment_id].append(onboarding.vendor)
        live = {(vendor.pk, environment_id) for environment_id in environments for vendor in self._live[environment_id]}
        suggestions = routing_suggest_many(service_requests, live=live)
        for service_request in service_requests:
            self._suggestions[self._key(service_request)] = suggestions[service_request.pk]

    @staticmethod
    def _key(service_request: ServiceRequest) -> tuple[str, int, int | None]:
        return (service_request.request_type, service_request.environment_id, service_request.stack_id)

    def suggestion(self, service_request: ServiceRequest) -> Vendor | None:
        """`routing_suggest(service_request)`."""
        key = self._key(service_request)
        if key not in self._suggestions:
            self._suggestions[key] = routing_suggest(service_request)
        return self._suggestions[key]

    def live_vendors(self, environment_id: int) -> list[Vendor]:
        """`live_vendors(environment_id)`, as a list."""
        if environment_id not in self._live:
            self._live[environment_id] = list(live_vendors(environment_id))
        return self._live[environment_id]


class _ListedIterator(ModelChoiceIterator):
    """The field's options from the list it was given rather than from its queryset."""

    field: ListedModelChoiceField

    def __iter__(self) -> Iterator[Any]:
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.field.listed():
            yield self.choice(obj)

    def __len__(self) -> int:
        return len(self.field.listed()) + (self.field.empty_label is not None)

    def __bool__(self) -> bool:
        return self.field.empty_label is not None or bool(self.field.listed())


class ListedModelChoiceField(forms.ModelChoiceField):
    """A `ModelChoiceField` that offers what `listed()` returns (read when first shown, once; a form that is only
    validated never reads it) and still validates a submitted value against its queryset, as the plain field does.
    The plain field walks its queryset through a server-side cursor each time it is shown (DECLARE, FETCH, CLOSE)."""

    iterator = _ListedIterator

    def __init__(self, *, listed: Callable[[], Iterable[Any]], **kwargs: Any) -> None:
        self._read = listed
        self._listed: list[Any] | None = None
        super().__init__(**kwargs)

    def listed(self) -> list[Any]:
        if self._listed is None:
            self._listed = list(self._read())
        return self._listed
