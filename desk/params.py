"""Query strings of the lists: what a saved view stores, and the one a page or the API filters with."""

from __future__ import annotations

from django.http import QueryDict

from portal.exceptions import ValidationFailed

from .filtersets import VIEW_PARAMETERS

# Not part of what a list shows: where it is paged to, and which view opened it.
TRANSIENT = frozenset({"page", "view", "format", "partial"})


def view_query(params: QueryDict) -> str:
    """The filters and sort of `params` as a stored query string: empty values, paging and the view dropped;
    `ordering` (the API's name) stored as `sort` (the page's), so one view serves both."""
    chosen: dict[str, list[str]] = {}
    for key in params:
        if key in TRANSIENT:
            continue
        if key not in VIEW_PARAMETERS:
            raise ValidationFailed(f"A view cannot hold “{key}”.", fields={"query": f"Unknown parameter “{key}”."})
        values = [value for value in params.getlist(key) if value.strip()]
        if values:
            chosen["sort" if key == "ordering" else key] = values
    kept = QueryDict(mutable=True)
    for key in sorted(chosen):
        kept.setlist(key, chosen[key])
    return kept.urlencode()


def merged(stored: str, given: QueryDict) -> QueryDict:
    """A view's stored parameters overlaid by the ones given now (a filter changed after opening the view)."""
    params = QueryDict(stored, mutable=True)
    for key in given:
        if key != "view":
            params.setlist(key, given.getlist(key))
    return params
