"""What the transition forms of one page share: routing suggestions and the vendors live in an environment.

The triage inbox builds a triage form per row, and each asked the routing rules (twice, with the row's own
suggestion column) and listed the environment's live vendors through a cursor: three queries a row, 88 for a page
of 25. Requests of one page share a handful of environments, and their routing is decided for the whole page at
once (`routing_suggest_many`, from the live vendors the page lists anyway), so one `FormChoices` per response asks each
question once. It lives for one response only: rules and onboardings change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.forms.models import ModelChoiceIterator

from portal.compiled import CompiledObjects

from .choices import OnboardingStatus
from .models import ServiceRequest, Vendor, VendorOnboarding
from .routing import COMPILED_UP_TO, live_vendors, routing_suggest, routing_suggest_many

if TYPE_CHECKING:
    from portal.models import User


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


# Values no row holds, replaced by the real ones on every run.
_ENVIRONMENT, _VENDOR, _ASSIGNEE = -7_800_001, -7_800_003, -7_800_005


@dataclass(frozen=True)
class Assignees:
    """Whom the assignee field offers: the program manager any active engineer of a vendor live in the
    environment, anyone else the request's vendor's active engineers (nobody before it has a vendor); never the
    assignee it has, as reassigning to them changes nothing. By vendor name, then username."""

    program_manager: bool
    environment_id: int
    vendor_id: int | None
    assignee_id: int | None

    def queryset(self) -> QuerySet[Any]:
        return _assignable(self.program_manager, self.environment_id, self.vendor_id, self.assignee_id)


def _assignable(program_manager: bool, environment_id: Any, vendor_id: Any, assignee_id: Any) -> QuerySet[Any]:
    users = get_user_model().objects
    if program_manager:
        engineers = users.filter(vendor__in=live_vendors(environment_id), is_active=True)
    elif vendor_id is None:
        engineers = users.none()
    else:
        engineers = users.filter(vendor_id=vendor_id, is_active=True)
    if assignee_id:
        engineers = engineers.exclude(pk=assignee_id)
    return engineers.select_related("vendor").order_by("vendor__name", "username")


# `live_vendors` and `Assignees.queryset` compiled once per process (the same SQL, so the same rows in the same
# order): built and compiled for every request page, the program manager's two lists were ~1 ms of its CPU.
_LIVE_VENDORS = CompiledObjects(lambda shape, **m: live_vendors(m["environment"]), {"environment": _ENVIRONMENT})
_ENGINEERS = CompiledObjects(
    lambda shape, **m: _assignable(shape[0], m["environment"], m["vendor"], m["assignee"] if shape[1] else None),
    {"environment": _ENVIRONMENT, "vendor": _VENDOR, "assignee": _ASSIGNEE},
)


class FormChoices:
    """Routing suggestions by (type, environment, stack) and live vendors by environment, each read once."""

    def __init__(self) -> None:
        self._suggestions: dict[tuple[str, int, int | None], Vendor | None] = {}
        self._live: dict[int, list[Vendor]] = {}
        self._engineers: dict[Assignees, list[User]] = {}

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
            self._live[environment_id] = _LIVE_VENDORS.objects(None, environment=environment_id)
        return self._live[environment_id]

    def engineers(self, who: Assignees) -> list[User]:
        """`who.queryset()`, as a list."""
        if who not in self._engineers:
            if not who.program_manager and who.vendor_id is None:
                self._engineers[who] = []  # `none()`: nothing to ask the database
            else:
                shape = (who.program_manager, bool(who.assignee_id))
                self._engineers[who] = _ENGINEERS.objects(
                    shape, environment=who.environment_id, vendor=who.vendor_id, assignee=who.assignee_id
                )
        return self._engineers[who]


class _ListedIterator(ModelChoiceIterator):
    """The field's options from the list it was given rather than from its queryset (which it does not build)."""

    field: ListedModelChoiceField

    def __init__(self, field: ListedModelChoiceField) -> None:
        self.field = field

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
    The plain field walks its queryset through a server-side cursor each time it is shown (DECLARE, FETCH, CLOSE).
    `queryset` is a function that builds it, called when a value is validated: a page only shows the field, and
    building the program manager's vendor and engineer querysets was ~0.5 ms a page."""

    iterator = _ListedIterator

    def __init__(
        self, *, queryset: Callable[[], QuerySet[Any]], listed: Callable[[], Iterable[Any]], **kwargs: Any
    ) -> None:
        self._read = listed
        self._listed: list[Any] | None = None
        self._queryset: QuerySet[Any] | None = None
        super().__init__(queryset=None, **kwargs)
        self._build_queryset: Callable[[], QuerySet[Any]] | None = queryset  # after: setting None clears it

    def _get_queryset(self) -> QuerySet[Any] | None:
        if self._queryset is None and self._build_queryset is not None:
            self._queryset = self._build_queryset().all()
        return self._queryset

    def _set_queryset(self, queryset: QuerySet[Any] | None) -> None:
        self._build_queryset = None  # a queryset set later (a copy of the field) stands as given
        self._queryset = None if queryset is None else queryset.all()
        self.widget.choices = self.choices  # as ModelChoiceField's setter

    queryset = property(_get_queryset, _set_queryset)

    def listed(self) -> list[Any]:
        if self._listed is None:
            self._listed = list(self._read())
        return self._listed
