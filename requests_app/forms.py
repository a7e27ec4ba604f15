"""Browser forms: they parse and check input shape; the services hold every business rule."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.conf import settings
from django.utils import timezone
from rest_framework import serializers as drf_serializers

from portal.exceptions import PortalError
from portal.forms import apply_portal_error
from sla.policies import priority_choices
from sla.selectors import STATE_GROUP_CHOICES, requests_in_state_group, requests_with_sla_status

from . import permissions as perms
from .catalogue import actions_for, catalogue_actions, request_type_choices, schema_description, types_offering
from .choices import Priority, RequestState
from .filtersets import SLA_FILTER_CHOICES
from .models import Environment, ServiceRequest, Stack, Team
from .routing import live_vendors, routing_suggest
from .services import TransitionSpec

if TYPE_CHECKING:
    from portal.models import User


class ServiceRequestFilterForm(forms.Form):
    """The search and filter bar over a list of requests (GET)."""

    search = forms.CharField(label="Search", required=False, max_length=200)
    q = forms.CharField(label="Reference or title", required=False, max_length=200)
    state_group = forms.ChoiceField(
        label="Open or backlog", required=False, choices=[("", "Open, closed or any"), *STATE_GROUP_CHOICES]
    )
    state = forms.ChoiceField(label="State", required=False, choices=[("", "Any state"), *RequestState.choices])
    priority = forms.ChoiceField(label="Priority", required=False, choices=[("", "Any priority"), *Priority.choices])
    request_type = forms.ChoiceField(
        label="Type", required=False, choices=lambda: [("", "Any type"), *request_type_choices()]
    )
    environment = forms.ModelChoiceField(
        label="Environment",
        required=False,
        queryset=Environment.objects.all(),
        empty_label="Any environment",
        to_field_name="code",
    )
    sla_status = forms.ChoiceField(label="SLA", required=False, choices=[("", "Any SLA status"), *SLA_FILTER_CHOICES])
    created_after = forms.DateTimeField(label="Filed from", required=False)

    # Rendered by the template itself (the search box) or only reached through links (the dashboard's tiles).
    NOT_IN_FILTER_BAR = ("search", "q", "state_group", "created_after")

    def filter(self, queryset: Any, *, user: Any) -> Any:
        """Narrow `queryset` (already visible to `user`) by the valid filters; a search ranks best match first."""
        if not self.is_valid():
            return queryset
        data = self.cleaned_data
        queryset = queryset.search(data["q"] or "").search_text(data["search"] or "", user=user)
        for name in ("state", "priority", "request_type", "environment"):
            if data.get(name):
                queryset = queryset.filter(**{name: data[name]})
        if data.get("created_after"):
            queryset = queryset.filter(created_at__gte=data["created_after"])
        now = timezone.now()
        if data.get("state_group"):
            queryset = requests_in_state_group(queryset, data["state_group"], now)
        if data.get("sla_status"):
            queryset = requests_with_sla_status(queryset, data["sla_status"], now)
        return queryset

    def filter_bar(self) -> list[Any]:
        """The fields the filter bar shows as drop-downs."""
        return [field for field in self if field.name not in self.NOT_IN_FILTER_BAR]

    def carried(self) -> list[Any]:
        """Link-only filters in force (from a dashboard tile), kept as hidden inputs when the bar is submitted."""
        return [self[name] for name in self.NOT_IN_FILTER_BAR if name != "search" and self[name].value()]

    @property
    def is_filtered(self) -> bool:
        return self.is_valid() and any(self.cleaned_data.get(name) for name in self.fields)


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
    label = spec["name"].replace("_", " ").capitalize()
    common = {"label": label, "required": False, "help_text": spec["help_text"]}
    if spec["choices"]:
        return forms.ChoiceField(choices=[("", "—"), *[(c, c) for c in spec["choices"]]], **common)
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
        teams = user.teams.all()
        if teams.count() > 1:
            cast(forms.ModelChoiceField, self.fields["team"]).queryset = teams
        else:
            del self.fields["team"]
        self.automation: list[dict[str, Any]] = []
        for action in catalogue_actions():
            names = []
            for spec in schema_description(action):
                name = f"{action.name}__{spec['name']}"
                self.fields[name] = _parameter_field(action.schema().fields[spec["name"]], spec)
                names.append(name)
            self.automation.append({"action": action, "types": types_offering(action), "field_names": names})

    def automation_groups(self) -> list[dict[str, Any]]:
        """Each catalogue action with its bound fields, for the template's fieldsets."""
        return [{**group, "fields": [self[name] for name in group["field_names"]]} for group in self.automation]

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


class CommentForm(forms.Form):
    """A comment on the timeline; the internal checkbox is offered only to staff and the request's vendor."""

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


def _extra_field(name: str, service_request: ServiceRequest, user: User, transition: str) -> forms.Field | None:
    """Build the form field a transition spec asks for, or None when this user may not set it."""
    from portal.models import User as UserModel

    if name == "vendor":
        if transition == "reassign" and not perms.is_program_manager(user):
            return None  # only the program manager moves work to another vendor
        suggestion = routing_suggest(service_request) if transition == "triage" else None
        return forms.ModelChoiceField(
            label="Vendor",
            queryset=live_vendors(service_request.environment_id),
            required=transition == "reassign",
            initial=(suggestion or service_request.vendor),
            empty_label="Routing suggestion" if transition == "triage" else None,
            help_text=f"Suggested by routing: {suggestion}." if suggestion else "No routing rule matches.",
        )
    if name == "assignee":
        if perms.is_program_manager(user):
            vendors = live_vendors(service_request.environment_id)
            engineers = UserModel.objects.filter(vendor__in=vendors, is_active=True)
        elif service_request.vendor_id is None:
            engineers = UserModel.objects.none()  # no vendor yet, so no engineer to pick
        else:
            engineers = UserModel.objects.filter(vendor_id=service_request.vendor_id, is_active=True)
        return forms.ModelChoiceField(
            label="Assignee",
            queryset=engineers.select_related("vendor").order_by("vendor__name", "username"),
            required=False,
            initial=service_request.assignee_id,
            empty_label="Unassigned (back to the queue)",
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
    raise ValueError(f"No form field for transition field {name!r}")


DEFAULT_REASON_LABEL = TransitionSpec.__dataclass_fields__["reason_label"].default


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
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("prefix", name)
        super().__init__(*args, **kwargs)
        self.name = name
        self.spec = spec
        if spec.reason_required or spec.fields or spec.reason_label != DEFAULT_REASON_LABEL:
            self.fields["reason"].label = spec.reason_label
            self.fields["reason"].required = spec.reason_required
        else:
            del self.fields["reason"]  # a one-click action: just the button
        for field_name in spec.fields:
            built = _extra_field(field_name, service_request, user, name)
            if built is not None:
                self.fields[field_name] = built

    def service_arguments(self) -> dict[str, Any]:
        """Keyword arguments for the spec's service; empty choices mean 'leave as is'."""
        return {key: value for key, value in self.cleaned_data.items() if value not in ("", None)}
