"""The form renderer: Django's own, with the few widget templates every page uses written out in Python.

Django renders each widget, and each `<option>` of a select, through a template (`select.html` includes
`select_option.html` and `attrs.html` per option). The desk's filter bar offers seven selects and the triage inbox
one per row, which made form widgets about a third of a list page's rendering (bench/RESULTS.md, "Desk pages:
service time"). The functions below produce the same HTML byte for byte (`portal/tests/test_form_renderer.py`
renders every case both ways); anything they do not recognise (another template, a label that is not text, an
option template of its own) goes to the templates as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django.forms.renderers import DjangoTemplates
from django.utils.functional import Promise
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeData

SELECT = "django/forms/widgets/select.html"
OPTION = "django/forms/widgets/select_option.html"
INPUTS = frozenset(
    f"django/forms/widgets/{name}.html"
    for name in ("input", "text", "hidden", "checkbox", "email", "number", "password", "url", "search", "date")
)
RADIO_OPTION = "django/forms/widgets/radio_option.html"
TEXTAREA = "django/forms/widgets/textarea.html"


class _Fallback(Exception):
    """A value the template language would render differently (localised numbers, dates): use the template."""


def _text(value: Any) -> str:
    """`{{ value }}` under autoescape, for the text values widgets carry."""
    if isinstance(value, str | Promise):
        return conditional_escape(cast(str, value))
    raise _Fallback


def _formatted(value: Any) -> str:
    """`{{ value|stringformat:'s' }}` under autoescape."""
    if isinstance(value, tuple):
        raise _Fallback
    return str(value) if isinstance(value, SafeData) else escape(f"{value}")


def _attrs(attrs: dict[str, Any]) -> str:
    """`django/forms/widgets/attrs.html`."""
    out = []
    for name, value in attrs.items():
        if value is False:
            continue
        out.append(f" {_text(name)}" if value is True else f' {_text(name)}="{_formatted(value)}"')
    return "".join(out)


def _input(widget: dict[str, Any]) -> str:
    value = "" if widget["value"] is None else f' value="{_formatted(widget["value"])}"'
    return f'<input type="{_text(widget["type"])}" name="{_text(widget["name"])}"{value}{_attrs(widget["attrs"])}>'


def _radio_option(widget: dict[str, Any]) -> str:
    if widget.get("wrap_label"):
        raise _Fallback  # a radio with its label around it: rare here, left to the template
    return _input(widget)


def _select(widget: dict[str, Any]) -> str:
    out = [f'<select name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, options, _index in widget["optgroups"]:
        if group_name:
            out.append(f'\n  <optgroup label="{_text(group_name)}">')
        for option in options:
            if option["template_name"] != OPTION:
                raise _Fallback
            out.append(
                f'\n  <option value="{_formatted(option["value"])}"{_attrs(option["attrs"])}>'
                f"{_text(option['label'])}</option>\n"
            )
        if group_name:
            out.append("\n  </optgroup>")
    out.append("\n</select>")
    return "".join(out)


def _textarea(widget: dict[str, Any]) -> str:
    body = _text(widget["value"]) if widget["value"] else ""
    return f'<textarea name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>\n{body}</textarea>'


_WRITTEN: dict[str, Callable[[dict[str, Any]], str]] = {
    SELECT: _select,
    RADIO_OPTION: _radio_option,
    TEXTAREA: _textarea,
    **dict.fromkeys(INPUTS, _input),
}


class FormRenderer(DjangoTemplates):
    """Django's template renderer, with the common widget templates written out (the same HTML, no template)."""

    def render(self, template_name: str, context: dict[str, Any], request: Any = None) -> str:
        written = _WRITTEN.get(template_name)
        if written is not None and "widget" in context:
            try:
                return written(context["widget"])
            except (_Fallback, KeyError):
                pass
        return super().render(template_name, context, request=request)
