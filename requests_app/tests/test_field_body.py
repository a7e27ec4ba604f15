"""The `field_body` tag writes a form field exactly as the template it replaced (`ORIGINAL`, the old
`partials/form_field_body.html`) rendered it: random labels, hints and errors with markup in them, required or not,
checkboxes, selects, text areas, bound and unbound, and every form of the request page for each kind of viewer."""

from __future__ import annotations

import random

import pytest
from django import forms
from django.template import Context, Template
from django.test import Client
from django.utils.safestring import mark_safe

from requests_app.forms import CommentForm, ExtendDueForm, LinkForm, ServiceRequestForm
from requests_app.templatetags.portico import field_body
from requests_app.testing.workflow import walk_to
from requests_app.views import _action_forms

ORIGINAL = (
    "{% comment %}A field's label, hint, errors and input; Django links the input to the hint and errors with\n"
    "aria-describedby (`<id>_helptext`, `<id>_error`) and sets aria-invalid.{% endcomment %}\n"
    '<div class="field{% if field.errors %} field--error{% endif %}'
    "{% if field.widget_type == 'checkbox' %} field--checkbox{% endif %}\">\n"
    "  {% if field.widget_type == 'checkbox' %}\n"
    "    {{ field.as_widget }}\n"
    '    <label for="{{ field.id_for_label }}">{{ field.label }}</label>\n'
    "  {% else %}\n"
    '    <label for="{{ field.id_for_label }}">{{ field.label }}{% if field.field.required %}\n'
    '      <span class="required" aria-hidden="true">*</span><span class="visually-hidden"> (required)</span>'
    "{% endif %}</label>\n"
    "  {% endif %}\n"
    '  {% if field.help_text %}<p class="hint" id="{{ field.auto_id }}_helptext">{{ field.help_text }}</p>'
    "{% endif %}\n"
    "  {% if field.errors %}\n"
    '    <p class="field-error" id="{{ field.auto_id }}_error"><span class="visually-hidden">Error: </span>'
    '{{ field.errors|join:" " }}</p>\n'
    "  {% endif %}\n"
    "  {% if field.widget_type != 'checkbox' %}{{ field.as_widget }}{% endif %}\n"
    "</div>\n"
)
TEMPLATE = Template(ORIGINAL)
NEW = Template("{% load portico %}\n{% field_body field %}\n")
NASTY = ["plain", "<b>bold</b>", "quote \" and ' apostrophe", "a & b", "", "über ✓"]


def _same(form: forms.BaseForm) -> None:
    for field in form:
        expected = TEMPLATE.render(Context({"field": field}))
        assert NEW.render(Context({"field": field})) == expected, field.name
        assert "\n" + field_body(field) + "\n" == expected


def _random_form(rng: random.Random) -> forms.Form:
    kinds = [
        lambda **kw: forms.CharField(**kw),
        lambda **kw: forms.BooleanField(**kw),
        lambda **kw: forms.ChoiceField(choices=[("a", "<A>"), ("b", "B & b")], **kw),
        lambda **kw: forms.CharField(widget=forms.Textarea, **kw),
        lambda **kw: forms.IntegerField(**kw),
        lambda **kw: forms.DateField(**kw),
    ]
    fields = {}
    for index in range(rng.randint(1, 6)):
        help_text = rng.choice(NASTY)
        fields[f"f{index}"] = rng.choice(kinds)(
            label=rng.choice([*NASTY[:4], None]),
            help_text=mark_safe(help_text) if rng.random() < 0.3 else help_text,
            required=rng.random() < 0.5,
        )
    form_class = type("RandomForm", (forms.Form,), dict(fields))  # the metaclass takes the dict apart
    if rng.random() < 0.5:
        return form_class(auto_id=rng.choice(["id_%s", "x_%s_1", False]))
    data = {name: rng.choice(["", "a", "12", "2026-13-40", "<script>"]) for name in fields}
    form = form_class(data)
    form.is_valid()
    for name in fields:
        if rng.random() < 0.3:
            form.add_error(name, rng.choice(NASTY[1:4]))
    return form


def test_field_body_equals_its_template_on_random_forms():
    rng = random.Random(17)
    for _ in range(300):
        _same(_random_form(rng))


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["requester", "vendor_engineer", "pm", "approver"])
def test_field_body_equals_its_template_on_the_request_pages_forms(world, rf, username):
    user = world.users[username]
    service_request = walk_to(world, "in_progress")
    request = rf.get("/")
    request.user = user
    _same(CommentForm(service_request=service_request, user=user))
    _same(CommentForm({"body": ""}, service_request=service_request, user=user))
    _same(LinkForm())
    bound = LinkForm({"relation": "nonsense", "other": "<b>"})
    bound.is_valid()
    _same(bound)
    extend = ExtendDueForm({"measure": "response"})
    extend.is_valid()
    _same(extend)
    for form in _action_forms(request, service_request):
        _same(form)
    if username == "requester":
        _same(ServiceRequestForm(user=user))
        invalid = ServiceRequestForm({"title": "", "priority": "P4"}, user=user)
        invalid.is_valid()
        _same(invalid)


@pytest.mark.django_db
def test_the_new_request_forms_checks_render_through_the_tag(world):
    client = Client()
    client.force_login(world.requester)
    response = client.post("/requests/new/validate/?field=title", {"title": ""})
    assert response.status_code == 200
    assert response.content.decode().startswith('\n<div class="field field--error">')


def test_a_group_of_inputs_is_a_fieldset_named_by_its_legend_and_described_by_its_hint():
    class GroupForm(forms.Form):
        days = forms.MultipleChoiceField(
            label="Days", help_text="Pick <any>.", choices=[("mon", "Monday"), ("tue", "<Tue>")],
            widget=forms.CheckboxSelectMultiple,
        )  # fmt: skip
        shift = forms.ChoiceField(label="Shift", choices=[("a", "Early"), ("b", "Late")], widget=forms.RadioSelect)
        none = forms.MultipleChoiceField(label="None", required=False, choices=[], widget=forms.CheckboxSelectMultiple)

    form = GroupForm({"days": ["sun"]})
    form.is_valid()
    days, shift, none = field_body(form["days"]), field_body(form["shift"]), field_body(form["none"])
    assert days.startswith(
        '<fieldset class="field field--group field--error" aria-describedby="id_days_helptext id_days_error">\n'
        '  <legend>Days\n      <span class="required"'
    )
    assert '<p class="hint" id="id_days_helptext">Pick &lt;any&gt;.</p>' in days and 'id="id_days_error">' in days
    assert '<label for="id_days_1">&lt;Tue&gt;</label></div>' in days and days.endswith("</fieldset>")
    assert 'aria-invalid="true"' in days and 'name="days" value="mon"' in days
    assert shift.startswith('<fieldset class="field field--group field--error" aria-describedby="id_shift_error">')
    assert 'type="radio" name="shift" value="b"' in shift
    assert none == (
        '<fieldset class="field field--group">\n  <legend>None</legend>\n  <p class="muted">None yet.</p>\n</fieldset>'
    )
    for html in (days, shift, none):
        assert 'for=""' not in html
