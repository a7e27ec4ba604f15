"""The form renderer's written-out widgets give the HTML of Django's templates, byte for byte."""

from __future__ import annotations

from typing import Any

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from portal import form_renderer
from portal.form_renderer import FormRenderer


class Everything(forms.Form):
    """One field of each widget the renderer writes out, with the awkward values: markup, quotes, lazy text."""

    plain = forms.ChoiceField(choices=[("", "Any"), ("a&b", 'A <b> & "c"'), ("x", gettext_lazy("Lazy"))])
    required_select = forms.ChoiceField(choices=[("1", "One"), ("2", "Two")], widget=forms.Select(attrs={"class": "s"}))
    grouped = forms.ChoiceField(
        choices=[("", "None"), ("Group <1>", [("g1", "G one"), ("g2", "G two")]), ("solo", "Solo")], required=False
    )
    numbers = forms.TypedChoiceField(choices=[(1, "1"), (2, "2")], coerce=int, required=False)
    safe = forms.ChoiceField(choices=[(mark_safe("s&amp;"), mark_safe("<em>safe</em>"))], required=False)
    quick = forms.ChoiceField(choices=[("", "All"), ("mine", "Mine"), ("a&b", "A&B")], widget=forms.RadioSelect)
    text = forms.CharField(max_length=20, help_text="Some help", required=False)
    hidden = forms.CharField(widget=forms.HiddenInput, required=False)
    flag = forms.BooleanField(required=False)
    flag_on = forms.BooleanField(required=False, initial=True)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 2, "data-x": 'q"uote'}), required=False)
    empty_body = forms.CharField(widget=forms.Textarea, required=False)
    number = forms.IntegerField(required=False, min_value=0)
    email = forms.EmailField(required=False)
    when = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    multi = forms.MultipleChoiceField(choices=[("a", "A"), ("b", "B")], required=False)
    boxes = forms.MultipleChoiceField(choices=[("a", "A")], widget=forms.CheckboxSelectMultiple, required=False)


def _both(form_class: type[forms.Form], **kwargs: Any) -> tuple[list[str], list[str]]:
    """Every widget (and every radio/checkbox option) of the form, rendered by Django's templates and by ours."""
    out = []
    for renderer in (DjangoTemplates(), FormRenderer()):
        form = form_class(renderer=renderer, **kwargs)
        rendered = []
        for field in form:
            rendered.append(field.as_widget())
            rendered.append(str(field))
            rendered += [option.tag() for option in field.subwidgets]
            rendered += [option.tag(wrap_label=True) for option in field.subwidgets]
        rendered.append(form.as_div())
        out.append(rendered)
    return out[0], out[1]


@pytest.mark.parametrize(
    "data",
    [
        None,
        {"plain": "a&b", "required_select": "2", "grouped": "g2", "numbers": "2", "quick": "a&b"},
        {"text": 'x"<y>&', "hidden": "'h'&", "flag": "on", "body": "<script>&amp;", "number": "12345", "multi": ["b"]},
        {"plain": "not a choice", "number": "nan", "email": "bad", "when": "2026-12-04T10:00"},
    ],
)
def test_written_widgets_render_what_the_templates_render(data: dict[str, Any] | None) -> None:
    templates, written = _both(Everything, data=data, initial={"plain": "x", "hidden": 7, "number": 1234567})
    assert written == templates


class _Counting(FormRenderer):
    """Notes each template the renderer had to load."""

    def __init__(self) -> None:
        self.loaded: list[str] = []

    def get_template(self, template_name: str) -> Any:
        self.loaded.append(template_name)
        return super().get_template(template_name)


def test_widgets_are_written_out_rather_than_rendered_from_templates() -> None:
    # The speed-up is the point: the common widgets must not reach the template engine at all.
    renderer = _Counting()
    form = Everything(renderer=renderer)
    for name in ("plain", "grouped", "text", "hidden", "flag", "body"):
        form[name].as_widget()
    for option in form["quick"]:
        option.tag()
    assert renderer.loaded == []
    form["quick"].as_widget()  # the radio list's wrapper is still a template
    assert renderer.loaded == ["django/forms/widgets/radio.html"]


def test_a_value_the_templates_would_localise_goes_to_the_templates() -> None:
    with pytest.raises(form_renderer._Fallback):
        form_renderer._text(1234567)
