"""What the transition forms of one page share: routing suggestions and the vendors live in an environment.

The triage inbox builds a triage form per row, and each asked the routing rules (twice, with the row's own
suggestion column) and listed the environment's live vendors through a cursor: three queries a row, 88 for a page
of 25. Requests of one page share a handful of (type, environment, stack) combinations, so one `FormChoices` per
response asks each question once. It lives for one response only: rules and onboardings change.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django import forms
from django.forms.models import ModelChoiceIterator

from .models import ServiceRequest, Vendor
from .routing import live_vendors, routing_suggest


class FormChoices:
    """Routing suggestions by (type, environment, stack) and live vendors by environment, each read once."""

    def __init__(self) -> None:
        self._suggestions: dict[tuple[str, int, int | None], Vendor | None] = {}
        self._live: dict[int, list[Vendor]] = {}

    def suggestion(self, service_request: ServiceRequest) -> Vendor | None:
        """`routing_suggest(service_request)`."""
        key = (service_request.request_type, service_request.environment_id, service_request.stack_id)
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
        for obj in self.field.listed:
            yield self.choice(obj)

    def __len__(self) -> int:
        return len(self.field.listed) + (self.field.empty_label is not None)

    def __bool__(self) -> bool:
        return self.field.empty_label is not None or bool(self.field.listed)


class ListedModelChoiceField(forms.ModelChoiceField):
    """A `ModelChoiceField` that offers `listed` (already read, in order) and still validates a submitted value
    against its queryset, as the plain field does."""

    iterator = _ListedIterator

    def __init__(self, *, listed: list[Any], **kwargs: Any) -> None:
        self.listed = listed
        super().__init__(**kwargs)
