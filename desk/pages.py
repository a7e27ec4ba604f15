"""What every desk list page shares: its default view, filter bar, quick filters, sort, saved views and bulk bar."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from django.core.paginator import Page
from django.db.models import Model, QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect

from portal.compiled import CompiledList
from portal.exceptions import ValidationFailed
from portal.http import AuthenticatedHttpRequest
from requests_app.compiled_scope import markers, scope_of, stand_in
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
    vendor_column: bool = True  # False where every row is the viewer's own vendor's


# The saved views a list offers, compiled once per list and kind of user (a vendor's people see their vendor's
# shared views too): `SavedView.objects.visible_to(user).filter(list_name=…).select_related("owner", "team",
# "vendor")`, with the related rows holding what the page shows of them (names).
_VIEW_FIELDS = [f.attname for f in SavedView._meta.concrete_fields]
_RELATED_FIELDS = {
    "owner": ["id", "username", "first_name", "last_name"],
    "team": ["id", "name"],
    "vendor": ["id", "name"],
}
_VIEWS: dict[tuple[str, bool], CompiledList] = {}


def _views_query(user: Any, list_name: str) -> QuerySet[SavedView]:
    return SavedView.objects.visible_to(user).filter(list_name=list_name)


def saved_views(user: Any, list_name: str) -> list[SavedView]:
    """The saved views of `list_name` that `user` may open (theirs, their teams', their vendor's)."""
    if scope_of(user) is None:
        return list(_views_query(user, list_name).select_related("owner", "team", "vendor"))
    vendor = bool(user.vendor_id)
    compiled = _VIEWS.get((list_name, vendor))
    if compiled is None:
        someone = stand_in("vendor" if vendor else "member", vendor=vendor)
        related = [f"{name}__{field}" for name, fields in _RELATED_FIELDS.items() for field in fields]
        compiled = _VIEWS[list_name, vendor] = CompiledList(
            lambda **_: _views_query(someone, list_name).values_list(*_VIEW_FIELDS, *related),
            markers("vendor" if vendor else "member", vendor=vendor),
        )
    views = []
    for values in compiled.rows(user=user.pk, vendor=user.vendor_id):
        view = SavedView.from_db("default", _VIEW_FIELDS, values[: len(_VIEW_FIELDS)])
        rest = list(values[len(_VIEW_FIELDS) :])
        for name, fields in _RELATED_FIELDS.items():
            found, rest = rest[: len(fields)], rest[len(fields) :]
            model = cast(type[Model], SavedView._meta.get_field(name).related_model)
            setattr(view, name, None if found[0] is None else model.from_db("default", fields, found))
        views.append(view)
    return views


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
    views = saved_views(user, list_name)
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
        vendor_column=not user.vendor_id,
    )
