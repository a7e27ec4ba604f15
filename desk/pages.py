"""What every desk list page shares: its default view, filter bar, quick filters, sort, saved views and bulk bar."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.paginator import Page
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect

from portal.exceptions import ValidationFailed
from portal.http import AuthenticatedHttpRequest
from requests_app.models import ServiceRequest
from requests_app.permissions import is_staff_side

from .forms import BulkForm, DeskFilterForm, SavedViewForm
from .lists import requests_list, view_for
from .models import SavedView
from .params import merged, view_query
from .rows import DeskSource
from .selectors import COLUMNS, QUICK_FILTERS, filter_choices
from .services import BULK_ACTIONS

LEGACY_NAMES = {"q": "search", "request_type": "type"}


@dataclass
class DeskList:
    """One list page's state, for its template."""

    list_name: str
    form: DeskFilterForm
    sort: str
    queryset: QuerySet[ServiceRequest] | None  # None: the list unfiltered, for its compiled query (`desk.rows`)
    views: list[SavedView]
    active_view: SavedView | None
    save_form: SavedViewForm
    bulk_form: BulkForm | None
    view_error: str = ""
    columns: dict[str, Any] = field(default_factory=lambda: COLUMNS)
    quick_filters: dict[str, str] = field(default_factory=lambda: QUICK_FILTERS)
    bulk_actions: dict[str, str] = field(default_factory=lambda: BULK_ACTIONS)
    page: Page | None = None
    vendors: list[tuple[str, str]] = field(default_factory=list)  # (slug, name)
    engineers: list[tuple[str, str]] = field(default_factory=list)  # (username, name)


def may_bulk(user: Any) -> bool:
    """Bulk actions are offered to the people who work queues: staff and vendors' people (each row is checked)."""
    return bool(is_staff_side(user) or user.vendor_id)


def desk_list(
    request: AuthenticatedHttpRequest,
    list_name: str,
    source: DeskSource,
    *,
    hide: tuple[str, ...] = (),
    compiled: bool = False,
) -> DeskList | HttpResponse:
    """The list `list_name` over `source` (what the user may see of it), or a redirect to the user's default view
    when they open the list with no parameters at all. With `compiled`, a list with no filter (a sort at most) is
    left to the caller's compiled query: `queryset` is None then."""
    user = request.user
    # One read for the views offered and the default (the page's query budget is tight: see the view tests).
    views = list(
        SavedView.objects.visible_to(user).filter(list_name=list_name).select_related("owner", "team", "vendor")
    )
    if not request.GET:
        default = next((v for v in views if v.owner_id == user.pk and v.is_default), None)
        if default is not None:
            return redirect(f"{request.path}?view={default.pk}")
    view_error = ""
    try:
        active = view_for(user, request.GET.get("view"))
    except ValidationFailed as exc:
        active, view_error = None, exc.message
    data = merged(active.query, request.GET) if active else request.GET.copy()
    for old, new in LEGACY_NAMES.items():  # links and bookmarks from before the desk
        if old in data and new not in data:
            data.setlist(new, data.getlist(old))
    # Read once for the filter bar and the bulk bar, which offer the same vendors and engineers.
    choices = filter_choices(user)
    form = DeskFilterForm(data, user=user, hide=hide, choices=choices)
    params = form.params()
    plain = compiled and set(params) <= {"sort"}
    rows = None if plain else requests_list(source.queryset(user), params, request=request)
    save_form = SavedViewForm(
        initial={"list_name": list_name, "query": view_query(params), "next": request.get_full_path()}
    )
    return DeskList(
        list_name=list_name,
        form=form,
        sort=params.get("sort", ""),  # none while a search ranks best match first
        queryset=rows,
        views=views,
        active_view=active,
        save_form=save_form,
        bulk_form=BulkForm(initial={"next": request.get_full_path()}) if may_bulk(user) else None,
        view_error=view_error,
        vendors=choices.vendors if may_bulk(user) else [],
        engineers=choices.engineers if may_bulk(user) else [],
    )
