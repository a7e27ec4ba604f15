"""The triage inbox's rows as plain values, and its table body written out in Python.

The inbox built a model instance and a `TransitionForm` (with its four fields and a vendor select) per row and
rendered each row through the template language: most of the page's ~31 ms of CPU. Its rows are now read as the
desk table's are (`desk.rows`: a query compiled once per process, only the columns shown), the page's routing and
its environments' live vendors once per page (`requests_app.form_choices.FormChoices`), and each row, form controls
included, is the HTML `requests_app/partials/triage_rows.html` writes with the form per row, byte for byte
(`desk/tests/test_triage_rows.py` renders both), which stays as its reference. Only the page is rendered here: a
triage POST still goes through `TransitionForm` and `request_triage`, which validate and check as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import get_current_timezone

from portal.timefmt import time_html
from requests_app.form_choices import FormChoices
from requests_app.models import ServiceRequest, Vendor
from requests_app.templatetags.portico import clocks_for, type_label

from .rows import RowShape, _e, _label, _url_maker
from .templatetags.desk import next_clock

# What a row shows and what its form needs (routing: type, environment, stack; the vendor it may already have).
TRIAGE_FIELDS = (
    "id",
    "reference",
    "title",
    "priority",
    "request_type",
    "created_at",
    "team__name",
    "environment__name",
    "environment_id",
    "stack_id",
    "affects_production",
    "vendor_id",
)


@dataclass(slots=True)
class TriageRow:
    """One submitted request as the inbox shows it, with its routing suggestion and the vendors its form offers."""

    pk: int
    reference: str
    title: str
    priority: str
    request_type: str
    created_at: datetime
    team: str
    environment: str
    environment_id: int
    stack_id: int | None
    affects_production: bool
    vendor_id: int | None
    clock_snapshots: list[Any] = field(default_factory=list)
    suggestion: Vendor | None = None
    live_vendors: list[Vendor] = field(default_factory=list)


def triage_row_from_values(values: tuple[Any, ...]) -> TriageRow:
    return TriageRow(*values)


TRIAGE_ROWS = RowShape(TRIAGE_FIELDS, triage_row_from_values)


def triage_row_from_instance(service_request: ServiceRequest) -> TriageRow:
    """A row from a model instance (the filtered inbox still reads those), with its clocks if the view set them."""
    return TriageRow(
        service_request.pk,
        str(service_request.reference),
        service_request.title,
        service_request.priority,
        service_request.request_type,
        service_request.created_at,
        str(service_request.team),
        str(service_request.environment),
        service_request.environment_id,
        service_request.stack_id,
        service_request.affects_production,
        service_request.vendor_id,
        getattr(service_request, "clock_snapshots", None) or [],
    )


def triage_rows(page: Any) -> list[TriageRow]:
    """The page's rows (plain values from the compiled query, or model instances from a filtered one) with each
    row's routing suggestion and its environment's live vendors, read for the whole page at once."""
    rows = [row if isinstance(row, TriageRow) else triage_row_from_instance(row) for row in page]
    choices = FormChoices()
    choices.prime(rows)  # type: ignore[arg-type]  # reads type, environment, stack and pk only
    for row in rows:
        row.suggestion = choices.suggestion(row)  # type: ignore[arg-type]
        row.live_vendors = choices.live_vendors(row.environment_id)
    return rows


def _vendor_select(row: TriageRow, options: dict[tuple[int, str], str]) -> str:
    """`form.vendor.as_widget` of the row's triage form (`TransitionForm`'s vendor field: not required, help text
    set, so Django adds `aria-describedby`, which names the row's suggestion cell; the initial value is the
    suggestion, else the request's vendor, else the empty option). `options` keeps the options' HTML per
    (environment, selected value) for the page."""
    initial = row.suggestion.pk if row.suggestion is not None else row.vendor_id
    selected = "" if initial is None else str(initial)
    key = (row.environment_id, selected)
    body = options.get(key)
    if body is None:
        choices = [("", "Routing suggestion"), *((str(vendor.pk), str(vendor)) for vendor in row.live_vendors)]
        body = options[key] = "".join(
            f'\n  <option value="{_e(value)}"{" selected" if value == selected else ""}>{_e(label)}</option>\n'
            for value, label in choices
        )
    ident = f"id_triage-vendor_{row.pk}"
    return f'<select name="triage-vendor" aria-describedby="{ident}_helptext" id="{ident}">{body}\n</select>'


def render_triage_rows(rows: list[TriageRow], *, next_path: str, csrf_input: str, now: datetime) -> SafeString:
    """The inbox's `<tr>`s, as `requests_app/partials/triage_rows.html` writes them (`csrf_input`: what
    `{% csrf_token %}` writes)."""
    detail = _url_maker("request-detail")
    triage = _url_maker("request-transition", "triage")
    next_value = _e(next_path)
    options: dict[tuple[int, str], str] = {}
    zone = get_current_timezone()  # read once for the page's times, as `time_html` would read it for each
    out = []
    for row in rows:
        reference = _e(row.reference)
        priority = _e(row.priority)
        nxt = next_clock(clocks_for(row, now))  # type: ignore[arg-type]  # reads only `clock_snapshots`
        production = (
            '<input type="hidden" name="triage-affects_production" value="on">' if row.affects_production else ""
        )
        suggestion = _e(row.suggestion) if row.suggestion is not None else "No rule matches"
        filed = time_html(row.created_at, relative=True, tz=zone)
        out.append(
            "\n    <tr data-row>\n"
            f'      <td class="table__tick"><input type="checkbox" name="references" value="{reference}" '
            f'form="bulk-form" aria-label="Select {reference}"></td>\n'
            f'      <th scope="row"><a href="{detail(row.reference)}">{reference}</a></th>\n'
            f'      <td><span class="table__title">{_e(row.title)}</span>\n'
            f'        <span class="table__sub">{_label(row.team)} · filed {filed}'
            "</span></td>\n"
            f'      <td><span class="badge badge--{priority.lower()}">{priority}</span></td>\n'
            f"      <td>{_label(type_label(row.request_type))}</td>\n"
            f"      <td>{_label(row.environment)}</td>\n"
            f'      <td><span class="sla sla--{_label(nxt.status)}" data-sla-next>{_e(nxt.text)}</span></td>\n'
            f"      <td>{time_html(row.created_at, 'short', tz=zone)}</td>\n"
            f'      <td id="id_triage-vendor_{row.pk}_helptext">{suggestion}</td>\n'
            "      <td>\n"
            f'        <form method="post" action="{triage(row.reference)}" class="inline-form">\n'
            f"          {csrf_input}\n"
            f'          <input type="hidden" name="next" value="{next_value}">\n'
            f'          <input type="hidden" name="triage-priority" value="{priority}">\n'
            f'          <input type="hidden" name="triage-request_type" value="{_e(row.request_type)}">\n'
            f"          {production}\n"
            f'          <label class="visually-hidden" for="id_triage-vendor_{row.pk}">Vendor for {reference}</label>\n'
            f"          {_vendor_select(row, options)}\n"
            '          <button type="submit" class="button button--primary button--small">Triage'
            f'<span class="visually-hidden"> {reference}</span></button>\n'
            "        </form>\n"
            "      </td>\n"
            "    </tr>\n    "
        )
    return mark_safe("".join(out))  # every value escaped above
