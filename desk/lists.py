"""One list of requests from a query string: the saved view it names, its filters, its sort."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from django.db.models import QuerySet
from django.http import QueryDict

from portal.exceptions import ValidationFailed
from requests_app.models import ServiceRequest
from requests_app.querysets import ServiceRequestQuerySet

from .filtersets import DeskFilterSet
from .models import SavedView
from .params import merged
from .selectors import requests_ordered

if TYPE_CHECKING:
    from portal.models import User


def view_for(user: User, view_id: str | None) -> SavedView | None:
    """The saved view `view_id` if the user may use it; a 400 otherwise (never someone else's private view)."""
    if not view_id:
        return None
    view = SavedView.objects.visible_to(user).filter(pk=view_id).first() if view_id.isdigit() else None
    if view is None:
        raise ValidationFailed(f"No saved view {view_id} that you can use.", fields={"view": "Unknown view."})
    return view


def list_params(user: User, given: QueryDict) -> QueryDict:
    """The parameters a list shows: `given`, over those of the saved view it names (`view=`)."""
    view = view_for(user, given.get("view"))
    return merged(view.query, given) if view else given


def filters_invalid(errors: Mapping[str, Any]) -> ValidationFailed:
    """The 400 for a list's invalid filters (a filter set's or its form's `errors`)."""
    return ValidationFailed(
        "Invalid filters.", fields={name: [str(error) for error in errors] for name, errors in errors.items()}
    )


def requests_list(
    queryset: QuerySet[ServiceRequest], params: QueryDict, *, request: Any, by_rank: bool = True
) -> QuerySet[ServiceRequest]:
    """`queryset` (already `visible_to` the user) filtered and sorted by `params`; invalid filters are a 400.
    A full-text `search` with no sort given keeps its best-match-first order, unless `by_rank` is off (a cursor
    walks a column order only: the rank is computed, not indexed)."""
    filterset = DeskFilterSet(params, queryset=queryset, request=request)
    if not filterset.is_valid():
        raise filters_invalid(filterset.errors)
    sort = params.get("ordering") or params.get("sort")
    if by_rank and params.get("search") and not sort:
        return cast(ServiceRequestQuerySet, filterset.qs).search_best_first(str(params["search"]), user=request.user)
    return requests_ordered(filterset.qs, sort)
