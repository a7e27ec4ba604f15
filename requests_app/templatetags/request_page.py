"""The request page's action forms, form fields, timeline entries and sidebar cards, written out in Python.

The request page was template-bound: rendering was ~78 % of the program manager's page, most of it an
`{% include "requests_app/partials/form_field.html" %}` per field of the action, comment and link forms (34 includes
a page), the due-times card's loops and some 420 variable lookups (bench/RESULTS.md, "pages2"). Each tag below writes
exactly what the template span it replaced rendered, byte for byte, from the same values: the actions
(`partials/action_form.html` per form, which the approvals list still renders), a form's fields (`form_field.html`
per field, unchanged for every other page; also the attachment card's upload form), the timeline's entries, and the
due-times and details cards (the follow card is `conversations`' `follow_card` tag).
`requests_app/tests/test_request_page_html.py` renders whole pages both ways, the old templates being kept in
`requests_app/tests/reference_templates/`, for every kind of viewer and every state of a request. Every value is
escaped here as `{{ }}` escapes it (`_text`) or is already safe HTML (`field_body`, `time_html`, `linebreaksbr`,
`Form.as_div`, the CSRF input).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, cast

from django import template
from django.forms import BaseForm
from django.template.defaultfilters import linebreaksbr
from django.template.defaulttags import CsrfTokenNode
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from portal.timefmt import format_iso, format_time, time_html
from requests_app.models import ServiceRequest

from .portico import (
    _text,
    clocks_for,
    field_body,
    is_final,
    sla_explanation,
    sla_extension_lines,
    sla_paused_lines,
    state_class,
)
from .portico import time_left as _time_left

register = template.Library()


def _csrf_input(context: template.Context) -> str:
    """What `{% csrf_token %}` writes in this context (the same token the rest of the page carries)."""
    return CsrfTokenNode().render(context)


def non_field_errors_html(form: BaseForm) -> str:
    """`{% for error in form.non_field_errors %}<p class="field-error" role="alert">{{ error }}</p>{% endfor %}`."""
    return "".join(f'<p class="field-error" role="alert">{_text(error)}</p>' for error in form.non_field_errors())


# The HTML of unbound forms that write the same HTML on every page, per form class, set of fields and language. A
# form class opts in with `same_html_unbound = True` (the comment, link, extension and upload forms: fixed choices,
# no initial values of their own); one with initial values, a prefix or ids of its own is written afresh.
_UNBOUND_HTML: dict[tuple[type, str, tuple[str, ...], str | None], str] = {}


def _written_once(form: BaseForm, how: str, write: Callable[[BaseForm], str]) -> str:
    """`write(form)`, kept per process for an unbound form whose class says its HTML does not change."""
    if (
        form.is_bound
        or not getattr(type(form), "same_html_unbound", False)
        or any(value not in (None, "") for value in form.initial.values())
        or form.prefix
        or form.auto_id != "id_%s"
    ):
        return write(form)
    key = (type(form), how, tuple(form.fields), get_language())
    written = _UNBOUND_HTML.get(key)
    if written is None:
        written = _UNBOUND_HTML[key] = write(form)
    return written


def _fields_html(form: BaseForm) -> str:
    return "".join(f"\n\n{field_body(field)}\n\n" for field in form)


def fields_html(form: BaseForm) -> str:
    """`{% for field in form %}{% include "requests_app/partials/form_field.html" %}{% endfor %}` (without
    `validate`: the include writes two newlines either side of the field)."""
    return _written_once(form, "fields", _fields_html)


@register.simple_tag
def form_errors(form: BaseForm) -> SafeString:
    return mark_safe(non_field_errors_html(form))  # escaped by _text


@register.simple_tag
def form_fields(form: BaseForm) -> SafeString:
    return mark_safe(fields_html(form))  # field_body escapes every value


def action_form_html(form: Any, *, reference: str, csrf_input: str, next_path: str = "") -> str:
    """`partials/action_form.html` for one `TransitionForm`."""
    action = _text(reverse("request-transition", args=[reference, form.name]))
    style = _text(form.spec.style)
    label = _text(form.spec.label)
    button = f'<button type="submit" class="button button--{style}">{label}</button>'
    confirmation = form.confirmation
    out = [f'\n<form method="post" action="{action}" class="action" novalidate']
    if confirmation:
        out.append(
            f'\n  data-confirm="{_text(confirmation.consequence)}" data-confirm-title="{_text(confirmation.title)}"'
            f' data-confirm-yes="{_text(confirmation.yes)}"'
        )
    out += [">\n  ", csrf_input, "\n  "]
    if confirmation:
        out.append('<input type="hidden" name="confirmed" value="">')
    out.append("\n  ")
    if next_path:
        out.append(f'<input type="hidden" name="next" value="{_text(next_path)}">')
    out.append("\n  ")
    if form.fields:
        out += [
            '\n  <details class="action__details"',
            " open" if form.is_bound else "",
            f'>\n    <summary class="button button--{style}">{label}</summary>\n    <div class="action__body">\n      ',
            non_field_errors_html(form),
            "\n      ",
            fields_html(form),
            f"\n      {button}\n    </div>\n  </details>\n  ",
        ]
    else:
        out.append(f"\n  {button}\n  ")
    out.append("\n</form>\n")
    return "".join(out)


@register.simple_tag(takes_context=True)
def action_forms(context: template.Context, forms: Iterable[Any]) -> SafeString:
    """`{% for form in actions %}{% include "requests_app/partials/action_form.html" %}{% endfor %}` on the
    request page (`service_request` and `next` from the context, as the include read them)."""
    reference = context["service_request"].reference
    csrf_input = _csrf_input(context)
    next_path = context.get("next") or ""
    return mark_safe(  # every value escaped in action_form_html
        "".join(
            action_form_html(form, reference=reference, csrf_input=csrf_input, next_path=next_path) for form in forms
        )
    )


def _when(value: Any) -> str:
    return time_html(value)


def _clock_html(clock: Any, *, final: bool, state: str, sr: ServiceRequest) -> str:
    """One `<div class="clock">` of the due-times card, with the whitespace the template's loop body wrote."""
    if final:
        head = f'<span class="clock__ended">{"Met" if clock.met_at else "Stopped"}</span>\n            '
    elif clock.status != "stopped":
        label = f'<span class="sla__label">{_text(clock.label)}</span>'
        head = f'<span class="sla sla--{_text(clock.status)}">{label}</span>'
    else:
        head = ""
    if final:
        met = f"Met {_when(clock.met_at)}" if clock.met_at else f"Not met: stopped when the request was {state}."
        met = f'\n                <p class="clock__met">{met}</p>\n              '
        due = f'<p class="clock__due">Was due {_when(clock.due_at)}</p>' if clock.due_at else ""
        body = f"\n              {met}\n              {due}\n            "
    elif clock.due_at:
        paused = clock.status == "paused"
        if clock.running or paused:
            left = (
                f'\n                <p class="clock__left"><strong data-countdown="{_text(format_iso(clock.due_at))}"'
                f' title="Due {_text(format_time(clock.due_at, "long"))}"{" data-paused" if paused else ""}>'
                f"{_text(_time_left(clock.remaining_seconds))}</strong>{' (paused)' if paused else ''}</p>"
                "\n              "
            )
        elif clock.met_at:
            left = f'\n                <p class="clock__met">Met {_when(clock.met_at)}</p>\n              '
        else:
            left = ""
        env = sr.environment
        there = _text(format_time(clock.due_at, "long", tz=env.timezone))
        zone = f"{there} in {_text(env.name)} ({_text(env.timezone)})"
        body = (
            f"\n              {left}\n"
            f'              <p class="clock__due">Due {_when(clock.due_at)}</p>\n'
            f'              <p class="clock__tz">{zone}</p>\n            '
        )
    else:
        p4 = " (P4 without a needed-by date)" if sr.priority == "P4" and not sr.needed_by else ""
        body = f'\n              <p class="muted">No due time{p4}.</p>\n            '
    return (
        f'\n        <div class="clock">\n          <dt>{_text(clock.name)}\n            {head}</dt>\n'
        f"          <dd>\n            {body}\n          </dd>\n        </div>\n        "
    )


def _lines(lines: list[str], ul: str) -> str:
    if not lines:
        return ""
    items = "".join(f"<li>{_text(line)}</li>" for line in lines)
    return f"\n      {ul}{items}</ul>\n      "


@register.simple_tag(takes_context=True)
def due_times(context: template.Context, sr: ServiceRequest, extend_form: BaseForm | None = None) -> SafeString:
    """The due-times card (`<section>` to `</section>`): the clocks, their pauses and extensions, the program
    manager's extension form, and how the clock was counted."""
    final = is_final(sr)
    state = _text(sr.get_state_display().lower())
    ended = ""
    if final:
        closed = f", {_when(sr.closed_at)}" if sr.closed_at else ""
        ended = (
            '<p class="clocks__ended" data-testid="clocks-ended">The clocks stopped when the request was '
            f"{state}{closed}.</p>"
        )
    clocks = "".join(_clock_html(clock, final=final, state=state, sr=sr) for clock in clocks_for(sr))
    out = [
        '<section class="card" aria-labelledby="due-heading">\n      <h2 id="due-heading">Due times</h2>\n'
        "      \n      \n      ",
        ended,
        f'\n      <dl class="clocks">\n        {clocks}\n      </dl>\n      \n      ',
        _lines(sla_paused_lines(sr), '<ul class="clock-holds" data-testid="clock-holds">'),
        "\n      \n      ",
        _lines(sla_extension_lines(sr), '<ul class="clock-extensions" data-testid="clock-extensions">'),
        "\n      ",
    ]
    if extend_form:
        action = _text(reverse("request-extend", args=[sr.reference]))
        extend_html = _written_once(extend_form, "div", lambda form: form.as_div())
        out.append(
            '\n      <details class="clock-extend">\n        <summary>Extend a due time</summary>\n'
            f'        <form method="post" action="{action}" data-testid="extend-form">\n'
            f"          {_csrf_input(context)}\n          {extend_html}\n"
            '          <button type="submit" class="button button--secondary">Extend</button>\n'
            "        </form>\n      </details>\n      "
        )
    out.append("\n      \n      ")
    explanation = sla_explanation(sr)
    if explanation:
        items = "".join(f"<li>{_text(line)}</li>" for line in explanation)
        out.append(
            '\n      <details class="clock-explain">\n        <summary>How the clock was counted</summary>\n'
            f"        <ul>{items}</ul>\n      </details>\n      "
        )
    out.append("\n    </section>")
    return mark_safe("".join(out))  # every value escaped above or safe HTML


def _fact(term: str, value: str, testid: str = "") -> str:
    attrs = f' data-testid="{testid}"' if testid else ""
    return f"\n        <div><dt>{term}</dt><dd{attrs}>{value}</dd></div>"


@register.simple_tag
def request_details(sr: ServiceRequest) -> SafeString:
    """The details card (`<section>` to `</section>`)."""
    out = [
        '<section class="card" aria-labelledby="details-heading">\n      <h2 id="details-heading">Details</h2>\n'
        '      <dl class="facts">',
        _fact("Reference", _text(sr.reference)),
        _fact("Type", _text(sr.get_request_type_display())),
        _fact("Environment", _text(sr.environment)),
        _fact("Stack", _text(sr.stack or "—")),
        _fact("Team", _text(sr.team)),
        _fact("Requester", _text(sr.requester)),
        _fact("Vendor", _text(sr.vendor or "Not routed yet"), "vendor"),
        _fact("Assignee", _text(sr.assignee or "Nobody yet"), "assignee"),
        "\n        ",
    ]
    if sr.needed_by:
        out.append(f"<div><dt>Needed by</dt><dd>{_text(format_time(sr.needed_by, 'date'))}</dd></div>")
    out.append("\n        ")
    if sr.detected_at:
        out.append(f'<div><dt>Detected</dt><dd data-testid="detected-at">{_when(sr.detected_at)}</dd></div>')
    out.append(_fact("Filed", _when(sr.created_at)))
    out.append("\n        ")
    if sr.jira_key:
        out.append(f"<div><dt>Jira</dt><dd>{_text(sr.jira_key)}</dd></div>")
    out.append("\n      </dl>\n    </section>")
    return mark_safe("".join(out))  # every value escaped above or safe HTML


_INTERNAL = '<span class="badge badge--internal">Internal</span>'


def _event_html(event: Any, reference: str) -> str:
    """One `<li>` of the timeline, with the whitespace the template's loop body wrote."""
    kind = event.kind
    internal = event.internal
    said = "commented" if kind == "comment" else _text(event.get_kind_display().lower())
    moved = ""
    if event.to_state and event.to_state != event.from_state:
        moved = (
            '\n          <span aria-hidden="true">→</span><span class="visually-hidden">, now</span>\n'
            f'          <span class="{_text(state_class(event.to_state))}">{_text(event.get_to_state_display())}</span>'
            "\n        "
        )
    attachment = event.payload.get("attachment") if isinstance(event.payload, dict) else None
    if kind == "attachment_added" and attachment:
        url = _text(reverse("attachment-get", args=[reference, attachment]))
        body = f'<div class="event__body"><a href="{url}" download>{_text(event.message)}</a></div>\n      '
    elif event.message:
        body = f'<div class="event__body">{linebreaksbr(event.message, autoescape=True)}</div>'
    else:
        body = ""
    return (
        f'\n    <li class="event event--{_text(kind)}{" event--internal" if internal else ""}">\n'
        '      <div class="event__head">\n'
        f"        <strong>{_text(event.actor_label)}</strong>\n"
        f'        <span class="event__kind">{said}</span>\n'
        f"        {moved}\n"
        f"        {_INTERNAL if internal else ''}\n"
        f'        <span class="event__time">{time_html(event.created_at, "short")}</span>\n'
        f"      </div>\n      {body}\n    </li>\n    "
    )


@register.simple_tag
def timeline_events(events: list[Any], service_request: ServiceRequest) -> SafeString:
    """The timeline's `<li>`s (`{% for event in events %}…{% empty %}…{% endfor %}` in `partials/timeline.html`)."""
    if not events:
        return mark_safe('\n    <li class="event">Nothing yet.</li>\n    ')
    reference = cast(str, service_request.reference)
    return mark_safe("".join(_event_html(event, reference) for event in events))  # escaped in _event_html
