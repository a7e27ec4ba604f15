"""Template helpers for the browser UI: SLA clocks, countdown wording and small labels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import template
from django.forms import BoundField
from django.template.defaultfilters import join
from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

from requests_app.catalogue import request_type_label
from requests_app.choices import FINAL_STATES, Priority, RequestState
from requests_app.models import ServiceRequest
from sla.choices import Measure
from sla.selectors import describe_holds, sla_explain, sla_extensions, sla_holds, sla_summary

register = template.Library()

STATUS_LABELS = {
    "on_track": "On track",
    "at_risk": "At risk",
    "breached": "Breached",
    "met": "Met",
    "paused": "Paused",
    "stopped": "Stopped",
    "not_started": "Not started",
    "no_due_date": "No due date",
}


@dataclass(frozen=True)
class ClockView:
    """One SLA clock as the page shows it."""

    name: str
    due_at: datetime | None
    met_at: datetime | None
    status: str
    remaining_seconds: int | None

    @property
    def label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status.replace("_", " ").capitalize())

    @property
    def running(self) -> bool:
        return self.status in ("on_track", "at_risk", "breached") and self.due_at is not None and self.met_at is None


def clocks_for(service_request: ServiceRequest, now: datetime | None = None) -> list[ClockView]:
    """The requester-facing response and resolution clocks, as the SLA engine reads them now."""
    summary = sla_summary(service_request, now=now or timezone.now(), ola=False)["sla"]
    clocks = []
    for name, key in (("Response", "response"), ("Resolution", "resolution")):
        reading = summary[key]
        status = {"ended": "stopped"}.get(reading["status"], reading["status"])
        clocks.append(ClockView(name, reading["due_at"], reading["met_at"], status, reading["remaining_seconds"]))
    return clocks


def _holds(service_request: ServiceRequest) -> dict[str, Any]:
    """`sla_holds`, worked out once per request object: the page shows the pauses and the explanation, which both
    need them (each read the whole ledger)."""
    if "_sla_holds" not in service_request.__dict__:
        service_request.__dict__["_sla_holds"] = sla_holds(service_request)
    return service_request.__dict__["_sla_holds"]


@register.simple_tag
def sla_explanation(service_request: ServiceRequest) -> list[str]:
    """The clocks in plain words (what counted, pauses, holidays and weekends not counted)."""
    return sla_explain(service_request, holds=_holds(service_request))


@register.simple_tag
def sla_paused_lines(service_request: ServiceRequest) -> list[str]:
    """`Resolution: paused 5 h 20 min: waiting on a third party 3 h, waiting on requester 2 h 20 min` per clock
    that stood still, the reopen gap included."""
    holds = _holds(service_request)
    return [
        f"{Measure(measure).label}: {describe_holds(holds[measure])}"
        for measure in (Measure.RESPONSE, Measure.RESOLUTION)
        if holds.get(measure)
    ]


@register.simple_tag
def sla_extension_lines(service_request: ServiceRequest) -> list[str]:
    return sla_extensions(service_request)


@register.simple_tag
def sla_clocks(service_request: ServiceRequest) -> list[ClockView]:
    return clocks_for(service_request)


@register.simple_tag
def sla_current(service_request: ServiceRequest) -> ClockView:
    """The clock that matters now: response until pick-up, then resolution."""
    response, resolution = clocks_for(service_request)
    if response.met_at is None and response.status != "stopped":
        return response
    return resolution


def _span(seconds: int) -> str:
    minutes = max(abs(seconds) // 60, 0)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min"
    return "less than a minute"


@register.filter
def time_left(seconds: int | None) -> str:
    """'in 3 h 20 min' before the due time, 'overdue by 2 h' after it (the page's script keeps it fresh)."""
    if seconds is None:
        return ""
    if seconds >= 0:
        return f"in {_span(seconds)}"
    return f"overdue by {_span(seconds)}"


# Labels by value, built once: `get_<field>_display` flattens and hashes the field's choices on every call, and a list
# asked it three times a row (bench/RESULTS.md, "Signed-in request: profile").
_STATE_LABELS: dict[str, str] = dict(RequestState.choices)
_PRIORITY_LABELS: dict[str, str] = dict(Priority.choices)


@register.filter
def state_label(state: str) -> str:
    """What `get_state_display` says, for list rows."""
    return _STATE_LABELS.get(state, state)


@register.filter
def priority_label(priority: str) -> str:
    """What `get_priority_display` says, for list rows."""
    return _PRIORITY_LABELS.get(priority, priority)


@register.filter
def type_label(request_type: str) -> str:
    """What `get_request_type_display` says (the catalogue's label), for list rows."""
    return request_type_label(request_type)


@register.filter
def state_class(state: str) -> str:
    return f"badge badge--state-{state.replace('_', '-')}"


@register.simple_tag
def is_final(service_request: ServiceRequest) -> bool:
    """Closed, rejected or cancelled: its clocks have stopped for good, so the page says how they ended."""
    return service_request.state in FINAL_STATES


_REQUIRED = '\n      <span class="required" aria-hidden="true">*</span><span class="visually-hidden"> (required)</span>'


def _text(value: Any) -> str:
    """`{{ value }}` in an autoescaping template: text as it is, anything else as str(), escaped unless safe."""
    return conditional_escape(value if isinstance(value, str) else str(value))


@register.simple_tag
def field_body(field: BoundField) -> str:
    """A form field's label, hint, errors and input, as `partials/form_field_body.html` rendered them (from its
    `<div>` to its `</div>`), written in Python: a page renders a dozen fields (the request page's comment, link and
    action forms), and the template's variable lookups were ~0.15 ms a field. Django links the input to the hint
    and errors with aria-describedby (`<id>_helptext`, `<id>_error`) and sets aria-invalid.
    `test_field_body_equals_its_template` holds the two to the same HTML. A group of inputs (checkboxes, radios),
    which that template wrote with an empty `<label for="">`, is `_group_body`'s."""
    if field.use_fieldset:
        return _group_body(field)
    checkbox = field.widget_type == "checkbox"
    errors = field.errors
    out = ['<div class="field', " field--error" if errors else "", " field--checkbox" if checkbox else "", '">\n  ']
    label = f'<label for="{_text(field.id_for_label)}">{_text(field.label)}'
    if checkbox:
        out += ["\n    ", _text(field.as_widget()), "\n    ", label, "</label>\n  "]
    else:
        out += ["\n    ", label, _REQUIRED if field.field.required else "", "</label>\n  "]
    out.append("\n  ")
    out.append(_hint(field))
    out.append("\n  ")
    if errors:
        out += ["\n    ", _errors(field), "\n  "]
    out.append("\n  ")
    if not checkbox:
        out.append(_text(field.as_widget()))
    out.append("\n</div>")
    return mark_safe("".join(out))  # every value above is escaped or already safe


def _hint(field: BoundField) -> str:
    if not field.help_text:
        return ""
    return f'<p class="hint" id="{_text(field.auto_id)}_helptext">{_text(field.help_text)}</p>'


def _errors(field: BoundField) -> str:
    return (
        f'<p class="field-error" id="{_text(field.auto_id)}_error"><span class="visually-hidden">Error: </span>'
        f"{_text(join(field.errors, ' ', autoescape=True))}</p>"
    )


def _group_body(field: BoundField) -> str:
    """A group of inputs (checkboxes, radios): there is no one input for a label to name, so a fieldset's legend
    names it and the hint and errors describe the fieldset; each choice is a row of its own, input then label."""
    described = field.aria_describedby
    out = ['<fieldset class="field field--group', " field--error" if field.errors else "", '"']
    if described:
        out.append(f' aria-describedby="{_text(described)}"')
    out += [">\n  <legend>", _text(field.label), _REQUIRED if field.field.required else "", "</legend>\n  "]
    if field.help_text:
        out += [_hint(field), "\n  "]
    if field.errors:
        out += [_errors(field), "\n  "]
    choices = [
        f'<div class="field--checkbox">{_text(choice.tag())}'
        f'<label for="{_text(choice.id_for_label)}">{_text(choice.choice_label)}</label></div>'
        for choice in field
    ]
    out.append("".join(choices) or '<p class="muted">None yet.</p>')
    out.append("\n</fieldset>")
    return mark_safe("".join(out))  # every value above is escaped or already safe
