"""Browser forms: they parse and check input shape; the services hold every business rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.conf import settings
from rest_framework import serializers as drf_serializers

from portal.exceptions import PortalError
from portal.forms import apply_portal_error
from sla.choices import PauseReason
from sla.policies import priority_choices

from . import permissions as perms
from .catalogue import (
    actions_for,
    catalogue_actions,
    request_type_choices,
    request_type_label,
    schema_description,
    types_offering,
)
from .choices import RATING_CHOICES
from .form_choices import Assignees, FormChoices, ListedModelChoiceField
from .models import Environment, ServiceRequest, Stack, Team
from .routing import live_vendors
from .services import ESCALATION_REASONS, RELATION_CHOICES, TransitionSpec

if TYPE_CHECKING:
    from portal.models import User


class KeyValueField(forms.CharField):
    """`NAME=value` per line, as a dict (CI variables, job parameters)."""

    widget = forms.Textarea(attrs={"rows": 3})

    def to_python(self, value: Any) -> Any:
        """The text as a `dict[str, str]` (typed Any, as Django's own JSONField, a CharField too, does)."""
        text = super().to_python(value) or ""
        pairs: dict[str, str] = {}
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            if "=" not in line:
                raise forms.ValidationError(f"Line {number}: write NAME=value.")
            key, _, item = line.partition("=")
            pairs[key.strip()] = item.strip()
        return pairs


def _parameter_field(schema_field: Any, spec: dict[str, Any]) -> forms.Field:
    """A form field for one catalogue parameter; the catalogue's schema stays the one validator."""
    label = schema_field.label or spec["name"].replace("_", " ").capitalize()
    common = {"label": label, "required": False, "help_text": spec["help_text"]}
    if spec["choices"]:
        shown = getattr(schema_field, "choices", {})
        return forms.ChoiceField(choices=[("", "—"), *[(c, shown.get(c, c)) for c in spec["choices"]]], **common)
    if isinstance(schema_field, drf_serializers.DictField):
        return KeyValueField(**common)
    if isinstance(schema_field, drf_serializers.IntegerField):
        return forms.IntegerField(**common)
    return forms.CharField(max_length=200, **common)


class ServiceRequestForm(forms.Form):
    """Filing a new request; `team` is asked only of people in several teams."""

    title = forms.CharField(label="Title", max_length=200, help_text="One line that says what you need.")
    description = forms.CharField(
        label="Description",
        max_length=settings.PORTICO_MAX_TEXT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="What, where and why: names, links, sizes, error messages.",
    )
    request_type = forms.ChoiceField(
        label="Request type", choices=lambda: [("", "Choose a type"), *request_type_choices()]
    )
    priority = forms.ChoiceField(label="Priority", choices=lambda: [("", "Choose a priority"), *priority_choices()])
    environment = forms.ModelChoiceField(
        label="Environment", queryset=Environment.objects.all(), empty_label="Choose an environment"
    )
    stack = forms.ModelChoiceField(label="Stack", queryset=Stack.objects.all(), required=False, empty_label="None")
    team = forms.ModelChoiceField(label="Team", queryset=Team.objects.none(), empty_label="Choose your team")
    needed_by = forms.DateField(
        label="Needed by",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=f"Required for P4, at least {settings.PORTICO_P4_MIN_NOTICE_DAYS} days from today.",
    )
    affects_production = forms.BooleanField(
        label="Affects production",
        required=False,
        help_text="Production releases and fixes wait for eGov DevOps approval.",
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        team = cast(forms.ModelChoiceField, self.fields["team"])
        if perms.is_staff_side(user):
            # The program manager and eGov DevOps file on behalf of any team (as the API lets them).
            team.queryset = Team.objects.order_by("name")
            team.empty_label = "Choose the team this is for"
            team.label = "On behalf of team"
        elif user.teams.count() > 1:
            team.queryset = user.teams.all()
        else:
            del self.fields["team"]
        self.automation: list[dict[str, Any]] = []
        for action in catalogue_actions():
            names = []
            for spec in schema_description(action):
                name = f"{action.name}__{spec['name']}"
                self.fields[name] = _parameter_field(action.schema().fields[spec["name"]], spec)
                names.append(name)
            types = types_offering(action)
            self.automation.append(
                {
                    "action": action,
                    "types": types,
                    "type_labels": [request_type_label(code) for code in types],
                    "field_names": names,
                    "shown_when": getattr(action.schema, "SHOWN_WHEN", {}),
                }
            )

    def automation_groups(self) -> list[dict[str, Any]]:
        """Each catalogue action with its bound fields, for the template's fieldsets; a field that applies only
        to some values of another (GitLab-only fields of JIT access) names that field and those values."""
        groups = []
        for group in self.automation:
            prefix = f"{group['action'].name}__"
            fields = []
            for name in group["field_names"]:
                controller, values = group["shown_when"].get(name.removeprefix(prefix), ("", ()))
                shown_when = (
                    {"field": self[prefix + controller].html_name, "values": " ".join(values)} if controller else None
                )
                fields.append({"field": self[name], "shown_when": shown_when})
            groups.append({**group, "fields": fields})
        return groups

    def clean(self) -> dict[str, Any] | None:
        data = super().clean()
        if "team" not in self.fields and self.data.get("team"):
            # A hand-made POST naming a team: only staff file on behalf of another team; never ignore it silently.
            self.add_error(None, "You can file requests only for your own team.")
        return data

    def _action(self) -> Any:
        offered = actions_for(self.cleaned_data.get("request_type") or "")
        return offered[0] if offered else None

    def service_arguments(self) -> dict[str, Any]:
        """Keyword arguments for `services.request_file`: the filled-in parameters of the chosen type's action."""
        data = {name: value for name, value in self.cleaned_data.items() if "__" not in name}
        action = self._action()
        parameters: dict[str, Any] = {}
        if action is not None:
            for spec in schema_description(action):
                value = self.cleaned_data.get(f"{action.name}__{spec['name']}")
                if value not in (None, "", {}):
                    parameters[spec["name"]] = value
        data["parameters"] = parameters
        return data

    def add_service_error(self, error: PortalError) -> None:
        """A service's `parameters.<field>` messages land on the chosen action's field."""
        action = self._action() if hasattr(self, "cleaned_data") else None
        fields = {}
        for name, messages in error.fields.items():
            if action is not None and name.startswith("parameters."):
                name = f"{action.name}__{name.removeprefix('parameters.')}"
            fields[name] = messages
        apply_portal_error(self, PortalError(error.message, fields=fields))


def _form_error_fields(error: PortalError, rename: dict[str, str]) -> PortalError:
    fields = {rename.get(name, name): messages for name, messages in error.fields.items()}
    return PortalError(error.message, fields=fields)


class RequestEditForm(forms.Form):
    """Editing an open request's details; priority and type (with a reason) only for the program manager. The
    service decides who may change what (`request_editable_fields`); the form offers exactly that."""

    title = forms.CharField(label="Title", max_length=200)
    description = forms.CharField(
        label="Description", max_length=settings.PORTICO_MAX_TEXT_LENGTH, widget=forms.Textarea(attrs={"rows": 6})
    )
    needed_by = forms.DateField(
        label="Needed by",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=f"Required for P4, at least {settings.PORTICO_P4_MIN_NOTICE_DAYS} days from today.",
    )
    priority = forms.ChoiceField(label="Priority", choices=priority_choices)
    request_type = forms.ChoiceField(label="Type", choices=request_type_choices)
    reason = forms.CharField(
        label="Reason (required when priority or type changes)",
        required=False,
        max_length=settings.PORTICO_MAX_TEXT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Shown on the timeline with the change and how the due times moved.",
    )

    def __init__(self, *args: Any, service_request: ServiceRequest, editable: tuple[str, ...], **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {name: getattr(service_request, name) for name in ("title", "description", "needed_by", "priority",
                                                                 "request_type")},
        )  # fmt: skip
        super().__init__(*args, **kwargs)
        for name in [name for name in self.fields if name != "reason" and name not in editable]:
            del self.fields[name]
        if "priority" not in self.fields and "request_type" not in self.fields:
            del self.fields["reason"]

    def service_arguments(self) -> dict[str, Any]:
        """`changes` and `reason` for `services.request_update`; unchanged fields are dropped there."""
        changes = {name: value for name, value in self.cleaned_data.items() if name != "reason"}
        return {"changes": changes, "reason": self.cleaned_data.get("reason", "")}


class ParametersForm(forms.Form):
    """The automation parameters of a request, generated from its action's schema; the schema (the same one the
    API checks) stays the only validator, and its `parameters.<field>` errors land on the fields."""

    def __init__(self, *args: Any, action: Any, parameters: dict[str, Any], **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "parameters")
        kwargs.setdefault("initial", {name: _initial(value) for name, value in parameters.items()})
        super().__init__(*args, **kwargs)
        self.action = action
        schema = action.schema()
        for spec in schema_description(action):
            self.fields[spec["name"]] = _parameter_field(schema.fields[spec["name"]], spec)

    def parameters(self) -> dict[str, Any]:
        """The filled-in values, as the API would take them (empty means "not given")."""
        return {name: value for name, value in self.cleaned_data.items() if value not in (None, "", {})}

    def add_service_error(self, error: PortalError) -> None:
        rename = {f"parameters.{name}": name for name in self.fields}
        rename["parameters"] = "__all__"
        apply_portal_error(self, _form_error_fields(error, rename))


def _initial(value: Any) -> Any:
    if isinstance(value, dict):
        return "\n".join(f"{key}={item}" for key, item in value.items())
    return value


class CommentForm(forms.Form):
    """A comment on the timeline; the internal checkbox is offered only to staff and the request's vendor."""

    same_html_unbound = True  # unbound, its HTML is kept per process (requests_app/templatetags/request_page.py)

    body = forms.CharField(
        label="Comment", max_length=settings.PORTICO_MAX_TEXT_LENGTH, widget=forms.Textarea(attrs={"rows": 3})
    )
    internal = forms.BooleanField(
        label="Internal note (hidden from the requester)",
        required=False,
    )

    def __init__(self, *args: Any, service_request: ServiceRequest, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not perms.sees_internal_notes(service_request, user):
            del self.fields["internal"]


def _extra_field(
    name: str, service_request: ServiceRequest, user: User, transition: str, choices: FormChoices
) -> forms.Field | None:
    """Build the form field a transition spec asks for, or None when this user may not set it."""
    if name == "vendor":
        if transition == "reassign" and not perms.is_program_manager(user):
            return None  # only the program manager moves work to another vendor
        suggestion = choices.suggestion(service_request) if transition == "triage" else None
        environment_id = service_request.environment_id
        return ListedModelChoiceField(
            label="Vendor",
            queryset=lambda: live_vendors(environment_id),
            listed=lambda: choices.live_vendors(service_request.environment_id),
            required=transition == "reassign",
            initial=(suggestion or service_request.vendor),
            empty_label="Routing suggestion" if transition == "triage" else None,
            help_text=f"Suggested by routing: {suggestion}." if suggestion else "No routing rule matches.",
        )
    if name == "assignee":
        who = Assignees(
            program_manager=perms.is_program_manager(user),
            environment_id=service_request.environment_id,
            vendor_id=service_request.vendor_id,
            assignee_id=service_request.assignee_id,
        )
        return ListedModelChoiceField(
            label="Assignee",
            queryset=who.queryset,
            listed=lambda: choices.engineers(who),
            required=False,
            empty_label="Unassigned (back to the queue)",
        )
    if name == "rating":
        return forms.TypedChoiceField(
            label="How satisfied are you with the work? (optional)",
            choices=[("", "No rating"), *RATING_CHOICES],
            coerce=int,
            empty_value=None,
            required=False,
        )
    if name == "rating_comment":
        return forms.CharField(
            label="Comment on the work (optional, with a rating)",
            required=False,
            max_length=settings.PORTICO_MAX_TEXT_LENGTH,
            widget=forms.Textarea(attrs={"rows": 2}),
        )
    if name == "priority":
        return forms.ChoiceField(
            label="Priority", choices=priority_choices, initial=service_request.priority, required=False
        )
    if name == "request_type":
        return forms.ChoiceField(
            label="Type", choices=request_type_choices, initial=service_request.request_type, required=False
        )
    if name == "affects_production":
        return forms.BooleanField(
            label="Affects production", required=False, initial=service_request.affects_production
        )
    if name == "pause_reason":
        return forms.ChoiceField(
            label="The work waits on",
            choices=[(str(r), str(r.label).capitalize()) for r in ESCALATION_REASONS],
            initial=PauseReason.BLOCKED,
            required=False,
            help_text="The SLA policy decides whether the clocks pause for it.",
        )
    raise ValueError(f"No form field for transition field {name!r}")


DEFAULT_REASON_LABEL = TransitionSpec.__dataclass_fields__["reason_label"].default


@dataclass(frozen=True)
class Confirmation:
    """What a destructive action says before it runs: a question, what will happen, and the button's words."""

    title: str
    consequence: str
    yes: str


# The actions that end a request for good ask first (a dialog with JavaScript, a confirmation page without).
CONFIRMATIONS = {
    "cancel": Confirmation(
        "Cancel {reference}?",
        "The request is withdrawn: nobody works on it any more and its SLA clocks stop. It cannot be reopened.",
        "Yes, cancel the request",
    ),
    "reject": Confirmation(
        "Reject {reference}?",
        "The requester is told it will not be done, with your reason; its SLA clocks stop. It cannot be reopened.",
        "Yes, reject it",
    ),
    "deny": Confirmation(
        "Deny approval for {reference}?",
        "The change is not approved: the request ends as rejected, the requester and vendor see your reason, "
        "and its SLA clocks stop.",
        "Yes, deny it",
    ),
}


class TransitionForm(forms.Form):
    """One workflow action: a reason and the extra fields its spec asks for."""

    reason = forms.CharField(
        required=False, max_length=settings.PORTICO_MAX_TEXT_LENGTH, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(
        self,
        *args: Any,
        name: str,
        spec: TransitionSpec,
        service_request: ServiceRequest,
        user: User,
        choices: FormChoices | None = None,
        **kwargs: Any,
    ) -> None:
        """`choices`: shared by the forms of one page (a triage form per row) so each routing question and each
        environment's live vendors are read once."""
        kwargs.setdefault("prefix", name)
        super().__init__(*args, **kwargs)
        self.name = name
        self.spec = spec
        confirmation = CONFIRMATIONS.get(name)
        self.confirmation = (
            Confirmation(
                confirmation.title.format(reference=service_request.reference),
                confirmation.consequence,
                confirmation.yes,
            )
            if confirmation
            else None
        )
        if spec.reason_required or spec.fields or spec.reason_label != DEFAULT_REASON_LABEL:
            self.fields["reason"].label = spec.reason_label
            self.fields["reason"].required = spec.reason_required
        else:
            del self.fields["reason"]  # a one-click action: just the button
        choices = choices or FormChoices()
        for field_name in spec.fields:
            built = _extra_field(field_name, service_request, user, name, choices)
            if built is not None:
                self.fields[field_name] = built

    def service_arguments(self) -> dict[str, Any]:
        """Keyword arguments for the spec's service; empty choices mean 'leave as is'."""
        return {key: value for key, value in self.cleaned_data.items() if value not in ("", None)}


class LinkForm(forms.Form):
    """A new link from this request's side: how it relates, and the other request's reference."""

    same_html_unbound = True  # unbound, its HTML is kept per process (requests_app/templatetags/request_page.py)

    relation = forms.ChoiceField(label="This request", choices=[("", "Choose…"), *RELATION_CHOICES])
    other = forms.CharField(label="Other request", max_length=16, help_text="Its reference, e.g. REQ-000123.")


class ExtendDueForm(forms.Form):
    """The program manager moves one SLA due time later, by a duration or to a new instant, saying why."""

    same_html_unbound = True  # unbound, its HTML is kept per process (requests_app/templatetags/request_page.py)

    measure = forms.ChoiceField(label="Due time", choices=[("response", "Response"), ("resolution", "Resolution")])
    days = forms.IntegerField(label="Extend by days", min_value=0, max_value=365, required=False)
    hours = forms.IntegerField(label="and hours", min_value=0, max_value=23 * 365, required=False)
    until = forms.DateTimeField(
        label="Or to a new due time",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="In your time zone; leave empty when extending by days and hours.",
    )
    reason = forms.CharField(label="Why does it move?", max_length=300)

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        amount = timedelta(days=data.get("days") or 0, hours=data.get("hours") or 0)
        by = amount if (data.get("days") is not None or data.get("hours") is not None) else None
        return {"measure": data["measure"], "reason": data["reason"], "by": by, "until": data.get("until")}
