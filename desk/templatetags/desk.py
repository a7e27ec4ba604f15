"""Template helpers of the desk's lists: the one SLA column and sortable column headers."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from requests_app.models import ServiceRequest
from requests_app.templatetags.portico import ClockView, _span, clocks_for

from ..selectors import COLUMNS

register = template.Library()

RUNNING = ("on_track", "at_risk", "breached")


@dataclass(frozen=True)
class NextClock:
    """The clock a queue row is ordered by, in words: "Response due in 2 h", "Resolution breached 3 h ago"."""

    status: str
    text: str
    due_at: datetime | None


def next_clock(clocks: list[ClockView]) -> NextClock:
    """The running clock that runs out first (the queue's order); else a paused one; else how the SLA ended."""
    running = [c for c in clocks if c.running and c.status in RUNNING and c.remaining_seconds is not None]
    if running:
        clock = min(running, key=lambda c: c.remaining_seconds or 0)
        seconds = clock.remaining_seconds or 0
        if seconds < 0:
            return NextClock("breached", f"{clock.name} breached {_span(seconds)} ago", clock.due_at)
        return NextClock(clock.status, f"{clock.name} due in {_span(seconds)}", clock.due_at)
    undated = [c for c in clocks if c.status == "no_due_date"]
    if undated:  # a P4 without a needed-by date: it never runs out by itself, so someone must set the date
        return NextClock("no_due_date", f"{undated[-1].name}: no due date, set a needed-by date", None)
    paused = [c for c in clocks if c.status == "paused"]
    if paused:
        clock = paused[-1]
        left = clock.remaining_seconds
        detail = f", {_span(left)} left" if left is not None and left >= 0 else ""
        return NextClock("paused", f"{clock.name} paused{detail}", clock.due_at)
    breached = [c for c in clocks if c.status == "breached"]
    if breached:
        return NextClock("breached", f"{breached[-1].name} met late", breached[-1].due_at)
    if any(c.status == "met" for c in clocks):
        return NextClock("met", "Met", None)
    return NextClock("stopped", "—", None)


@register.simple_tag
def sla_next(service_request: ServiceRequest, now: datetime | None = None) -> NextClock:
    return next_clock(clocks_for(service_request, now or timezone.now()))


@dataclass(frozen=True)
class SortHeader:
    label: str
    key: str
    next_sort: str
    direction: str  # "ascending", "descending" or "none" (aria-sort)


@register.simple_tag
def sort_header(current: str, key: str) -> SortHeader:
    """A column header's state and the sort its link switches to (same column again reverses it)."""
    column = COLUMNS[key]
    if current == key:
        return SortHeader(column.label, key, f"-{key}", "ascending")
    if current == f"-{key}":
        return SortHeader(column.label, key, key, "descending")
    return SortHeader(column.label, key, key, "none")


@register.simple_tag(takes_context=True)
def desk_rows(context: template.Context, page: Any, pick_up: bool = False) -> SafeString:
    """The rows of the desk table (`desk.rows.render_rows`): a tick box if the page offers bulk actions, a pick-up
    button on queued rows if `pick_up`."""
    from django.template.defaulttags import CsrfTokenNode

    from ..rows import render_rows

    request = context["request"]
    desk = context.get("desk")
    return render_rows(
        page,
        bulk=bool(desk and desk.bulk_form),
        pick_up=bool(pick_up),
        vendor=bool(desk and desk.vendor_column),
        next_path=request.get_full_path(),
        csrf_input=CsrfTokenNode().render(context) if pick_up else "",
        now=timezone.now(),
    )


@register.simple_tag(takes_context=True)
def triage_rows(context: template.Context, rows: Any) -> SafeString:
    """The triage inbox's rows (`desk.triage.render_triage_rows`), each with its triage form."""
    from django.template.defaulttags import CsrfTokenNode

    from ..triage import render_triage_rows

    return render_triage_rows(
        rows,
        next_path=context["request"].get_full_path(),
        csrf_input=CsrfTokenNode().render(context),
        now=timezone.now(),
    )


# Each header as written for a query string, current sort and column (a few thousand kept): its link's query string
# (`{% querystring %}` copies and re-encodes the request's parameters) was most of the ten headers' time.
_SORT_HEADERS: OrderedDict[tuple[str, str, str], SafeString] = OrderedDict()
SORT_HEADERS_KEPT = 2048


@register.simple_tag(takes_context=True)
def sort_th(context: template.Context, key: str) -> SafeString:
    """A sortable column's header, as `desk/partials/sort_th.html` writes it (its reference; `desk/tests/test_rows.py`
    renders both): included ten times a table, the template cost more than the rest of the header. The header is a
    function of the request's query string, the list's sort and the column, and kept per those three."""
    from django.template.defaulttags import querystring
    from django.utils.html import escape

    desk = context.get("desk")
    current = getattr(desk, "sort", "")
    kept_as = (context["request"].META.get("QUERY_STRING", ""), current, key)
    kept = _SORT_HEADERS.get(kept_as)
    if kept is not None:
        return kept
    header = sort_header(current, key)
    ascending = header.direction == "ascending"
    arrow = {"ascending": "▲", "descending": "▼"}.get(header.direction)
    arrow_html = f' <span aria-hidden="true">{arrow}</span>' if arrow else ""
    written = _SORT_HEADERS[kept_as] = mark_safe(  # every value escaped here
        f'<th scope="col" aria-sort="{escape(header.direction)}"><a class="sort-link" '
        f'href="{escape(querystring(context, sort=header.next_sort, page=None))}">{escape(header.label)}'
        f"{arrow_html}"
        f'<span class="visually-hidden">, sort{" descending" if ascending else ""}</span></a></th>\n'
    )
    while len(_SORT_HEADERS) > SORT_HEADERS_KEPT:
        _SORT_HEADERS.popitem(last=False)
    return written


# The filter bar as rendered for each set of inputs (a few hundred kept): its selects and radios were a tenth of a
# list page's time, and most pages open with the same filters over the same choices.
_TOOLBARS: OrderedDict[tuple[Any, ...], SafeString] = OrderedDict()
TOOLBARS_KEPT = 256


@register.simple_tag(takes_context=True)
def desk_toolbar(context: template.Context) -> SafeString:
    """`desk/partials/toolbar.html` for the page's filter form. The template is given only what the key holds (the
    path, the form and whether a view is open), so a rendering kept for the same key is the same HTML; the form's
    HTML is a function of its data, its fields and their choices."""
    from django.template.loader import get_template

    desk = context["desk"]
    form = desk.form
    path = context["request"].path
    key = (
        path,
        tuple((name, tuple(values)) for name, values in form.data.lists()),
        tuple((name, tuple(getattr(field, "choices", ()))) for name, field in form.fields.items()),
        desk.active_view is not None,
    )
    kept = _TOOLBARS.get(key)
    if kept is not None:
        return kept
    given = {"request": {"path": path}, "desk": {"form": form, "active_view": desk.active_view is not None}}
    html = _TOOLBARS[key] = mark_safe(get_template("desk/partials/toolbar.html").render(given))  # a template's output
    while len(_TOOLBARS) > TOOLBARS_KEPT:
        _TOOLBARS.popitem(last=False)
    return html


@register.simple_tag(takes_context=True)
def desk_bulk_bar(context: template.Context) -> SafeString:
    """`desk/partials/bulk_bar.html` (its reference; `desk/tests/test_rows.py` renders both) written out: the list
    pages' bulk bar, or nothing where the page offers no bulk actions. Through the template it was ~0.2 ms a page."""
    from django.template.defaulttags import CsrfTokenNode
    from django.urls import reverse
    from django.utils.html import conditional_escape as e

    desk: Any = context.get("desk")
    if not getattr(desk, "bulk_form", None):
        return mark_safe("\n\n")
    url = e(reverse("desk-bulk"))
    actions = "".join(f'<option value="{e(key)}">{e(label)}</option>' for key, label in desk.bulk_actions.items())
    vendors = "".join(f'<option value="{e(slug)}">{e(name)}</option>' for slug, name in desk.vendors)
    engineers = "".join(f'<option value="{e(username)}">{e(name)}</option>' for username, name in desk.engineers)
    no_vendor = "Routing suggestion" if desk.list_name == "triage" else "Keep vendor"
    return mark_safe(  # every value escaped here
        "\n\n"
        f'<form id="bulk-form" class="bulk-bar" method="post" action="{url}"\n'
        f'  hx-post="{url}" hx-target="#bulk-result" hx-swap="innerHTML">\n'
        f"  {CsrfTokenNode().render(context)}\n"
        f'  <input type="hidden" name="next" value="{e(context["request"].get_full_path())}">\n'
        '  <span class="bulk-bar__title">With the ticked requests:</span>\n'
        '  <label for="bulk-action">Action</label>\n'
        '  <select name="action" id="bulk-action">\n'
        f"    {actions}\n"
        "  </select>\n"
        '  <label for="bulk-priority">Priority</label>\n'
        '  <select name="priority" id="bulk-priority"><option value="">Keep priority</option>\n'
        "    <option>P0</option><option>P1</option><option>P2</option><option>P3</option><option>P4</option></select>\n"
        '  <label for="bulk-vendor">Vendor</label>\n'
        f'  <select name="vendor" id="bulk-vendor"><option value="">{no_vendor}</option>\n'
        f"    {vendors}</select>\n"
        '  <label for="bulk-assignee">Engineer</label>\n'
        '  <select name="assignee" id="bulk-assignee"><option value="">Nobody</option>\n'
        f"    {engineers}</select>\n"
        '  <label for="bulk-reason">Reason</label>\n'
        '  <input type="text" name="reason" id="bulk-reason" maxlength="2000">\n'
        '  <button type="submit" class="button button--primary">Apply to ticked</button>\n'
        "</form>\n"
        '<div id="bulk-result" aria-live="polite"></div>\n'
        "\n"
    )


@register.simple_tag(takes_context=True)
def desk_pagination(context: template.Context) -> SafeString:
    """`requests_app/partials/pagination.html` (its reference; `desk/tests/test_rows.py` renders both) written out
    for the desk's tables: the links to the previous and next pages, where the page is, and a note on a capped
    count."""
    from django.template.base import render_value_in_context
    from django.template.defaultfilters import cut, pluralize
    from django.template.defaulttags import querystring
    from django.utils.html import conditional_escape

    page = context["page"]
    paginator = page.paginator
    out = []
    if paginator.num_pages > 1:
        out.append('\n<nav class="pagination" aria-label="Pages">\n  ')
        if page.has_previous():
            link = conditional_escape(querystring(context, page=page.previous_page_number()))
            out.append(f'\n    <a class="button button--quiet" href="{link}" rel="prev">← Previous</a>\n  ')
        out.append(
            f'\n  <span class="pagination__status">Page {render_value_in_context(page.number, context)} of '
            f"{render_value_in_context(paginator.num_pages, context)}\n"
            f"    ({render_value_in_context(paginator.count_label, context)} "
            f"{render_value_in_context(context.get('noun') or 'request', context)}{pluralize(paginator.count)})"
            "</span>\n  "
        )
        if page.has_next():
            link = conditional_escape(querystring(context, page=page.next_page_number()))
            out.append(f'\n    <a class="button button--quiet" href="{link}" rel="next">Next →</a>\n  ')
        out.append("\n</nav>\n")
    out.append("\n")
    if getattr(paginator, "capped", False) and not page.has_next():
        label = render_value_in_context(cut(paginator.count_label, "+"), context)
        out.append(
            f'\n<p class="muted">Only the first {label} are listed here; narrow the list with the filters or the '
            "search.</p>\n"
        )
    out.append("\n")
    return mark_safe("".join(out))  # every value escaped here
