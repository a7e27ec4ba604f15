"""Parse and render requests, comments, events and reference data; every rule lives in the services."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.api import fields as portal_fields
from portal.models import User
from requests_app.catalogue import TYPE_CHOICES
from requests_app.choices import RATING_MAX, RATING_MIN, Priority, RequestState, VendorRole
from requests_app.models import Environment, RequestEvent, ServiceRequest, Stack, Team, Vendor
from requests_app.permissions import team_slugs
from requests_app.roles import Role, role_of
from requests_app.services import ESCALATION_REASONS
from requests_app.services.links import RELATION_CHOICES
from sla.choices import ClockStatus
from sla.selectors import sla_summary

MAX_TEXT = settings.PORTICO_MAX_TEXT_LENGTH
STATE_REFUSED = "The state changes only through a transition: POST /api/v1/requests/{reference}/transitions/{name}/."


class KeyRelatedField(serializers.SlugRelatedField):
    """A related object named by its code, slug or username; anything but a string is refused up front."""

    def __init__(self, *, noun: str, **kwargs: Any) -> None:
        slug_field = kwargs["slug_field"]
        kwargs.setdefault("error_messages", {})
        kwargs["error_messages"].setdefault("does_not_exist", f"No {noun} with {slug_field} “{{value}}”.")
        kwargs["error_messages"].setdefault("invalid", f"Give the {noun}'s {slug_field} as a string.")
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictSerializer(serializers.Serializer):
    """Input that names a field we do not take is refused (400), never silently ignored."""

    refused_messages: dict[str, str] = {"state": STATE_REFUSED}

    def unknown_message(self, name: str) -> str:
        return self.refused_messages.get(name, f"Unknown field; this endpoint takes: {', '.join(self.fields)}.")

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        unknown: dict[str, list[str]] = {}
        if isinstance(data, Mapping):
            unknown = {str(key): [self.unknown_message(str(key))] for key in data if key not in self.fields}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                detail: dict[Any, Any] = {**exc.detail, **unknown}  # field names, as DRF keys them
                raise serializers.ValidationError(detail) from exc
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


# --- requests ---------------------------------------------------------------------------------------------
class SlaClockSerializer(serializers.Serializer):
    due_at = portal_fields.DateTimeField(allow_null=True)
    met_at = portal_fields.DateTimeField(allow_null=True, help_text="When it was picked up / resolved.")
    status = serializers.ChoiceField(
        choices=ClockStatus.choices,
        help_text="at_risk once the policy's share (75 % by default) of the goal is used; paused while waiting "
        "on the requester; ended when the request was cancelled or rejected before the clock was met; no_due_date "
        "while it runs with nothing to fall due against (a P4 without a needed-by date: set one).",
    )
    remaining_seconds = serializers.IntegerField(
        allow_null=True,
        help_text="Running: seconds until due (negative once overdue). Paused: working seconds left. Else null.",
    )


class SlaSerializer(serializers.Serializer):
    response = SlaClockSerializer(help_text="From filing until an engineer picks the request up.")
    resolution = SlaClockSerializer(help_text="From filing until the vendor resolves it; resumes on reopen.")
    paused = serializers.BooleanField(help_text="True while the request waits on the requester.")
    policy_version = serializers.IntegerField(allow_null=True, help_text="The SLA policy version in force.")


class OlaSerializer(SlaSerializer):
    vendor = serializers.CharField(allow_null=True, help_text="The vendor the OLA holds to account (slug).")


_DATETIME = portal_fields.DateTimeField()


def _datetime_text(value: Any, zone: tzinfo | None) -> Any:
    """`_DATETIME.to_representation(value)` (None for None), with the database's own values (aware, in UTC) written
    directly when `zone` is the zone it writes in (None: ask the field): ~1.7 µs less a value, ~500 values a list."""
    if value is None:
        return None
    if zone is not None and type(value) is datetime and value.tzinfo is UTC:
        try:
            return portal_fields.iso_in_zone(value, zone)
        except OverflowError:
            pass  # the field says so, as a validation error
    return _DATETIME.to_representation(value)


def _iso_zone() -> tzinfo | None:
    """The zone `_DATETIME` writes aware values in when it writes them as `iso_in_zone` does; None otherwise."""
    return timezone.get_default_timezone() if _DATETIME.writes_iso() else None


def sla_block(summary: dict[str, Any], zone: tzinfo | None = None) -> dict[str, Any]:
    """What `SlaSerializer` / `OlaSerializer` render for one block of `sla_summary`, built directly: through the
    serializers it was ~45 field lookups a request, the largest share of a list page's time. The serializers
    still describe it in the schema, and a test holds the two to the same output. `zone`: `_iso_zone()`, when the
    caller has it."""
    zone = zone or _iso_zone()

    def reading(clock: dict[str, Any]) -> dict[str, Any]:
        return {
            "due_at": _datetime_text(clock["due_at"], zone),
            "met_at": _datetime_text(clock["met_at"], zone),
            "status": clock["status"],
            "remaining_seconds": clock["remaining_seconds"],
        }

    block = {
        "response": reading(summary["response"]),
        "resolution": reading(summary["resolution"]),
        "paused": bool(summary["paused"]),
        "policy_version": summary["policy_version"],
    }
    if "vendor" in summary:
        block["vendor"] = summary["vendor"]
    return block


class ServiceRequestSerializer(portal_fields.ModelSerializer):
    """A request as the API shows it, with where its SLA clocks stand now."""

    environment: serializers.SlugRelatedField[Environment] = serializers.SlugRelatedField(
        read_only=True, slug_field="code"
    )
    stack: serializers.SlugRelatedField[Stack] = serializers.SlugRelatedField(
        read_only=True, slug_field="code", allow_null=True
    )
    team: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(read_only=True, slug_field="slug")
    requester: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(read_only=True, slug_field="username")
    vendor: serializers.SlugRelatedField[Vendor] = serializers.SlugRelatedField(
        read_only=True, slug_field="slug", allow_null=True
    )
    assignee: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        read_only=True, slug_field="username", allow_null=True
    )
    sla = serializers.SerializerMethodField()
    ola = serializers.SerializerMethodField()

    class Meta:
        model = ServiceRequest
        fields = [
            "reference",
            "title",
            "description",
            "request_type",
            "priority",
            "state",
            "environment",
            "stack",
            "team",
            "requester",
            "vendor",
            "assignee",
            "needed_by",
            "affects_production",
            "jira_key",
            "created_at",
            "updated_at",
            "triaged_at",
            "detected_at",
            "resolved_at",
            "closed_at",
            "reopen_count",
            "resolution_note",
            "rating",
            "rating_comment",
            "rated_at",
            "parameters",
            "sla",
            "ola",
        ]
        read_only_fields = fields

    def _summary(self, service_request: ServiceRequest) -> dict[str, Any]:
        # The context is the dict the view passed in; DRF's stubs type it as a read-only Mapping.
        cache = self.context.setdefault("sla_summaries", {})  # type: ignore[attr-defined]
        if service_request.pk not in cache:
            snapshots = self.context.get("clocks")  # a list's clocks, read in one query by the view
            cache[service_request.pk] = sla_summary(
                service_request,
                now=self.context.get("now") or timezone.now(),
                clocks=None if snapshots is None else snapshots.get(service_request.pk, []),
            )
        return cache[service_request.pk]

    @extend_schema_field(SlaSerializer)
    def get_sla(self, service_request: ServiceRequest) -> dict[str, Any]:
        """The end-to-end SLA the requester sees, measured from submission."""
        return sla_block(self._summary(service_request)["sla"])

    @extend_schema_field(OlaSerializer)
    def get_ola(self, service_request: ServiceRequest) -> dict[str, Any]:
        """The vendor's OLA, from routing to that vendor, without approval or requester waits."""
        return sla_block(self._summary(service_request)["ola"])


class ServiceRequestFileSerializer(StrictSerializer):
    """What filing a request takes."""

    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=MAX_TEXT)
    request_type = serializers.ChoiceField(choices=TYPE_CHOICES)
    priority = serializers.ChoiceField(choices=Priority.choices)
    # With its calendar: filing starts the SLA clock on it at once.
    environment = KeyRelatedField(
        noun="environment", slug_field="code", queryset=Environment.objects.select_related("calendar")
    )
    stack = KeyRelatedField(
        noun="stack", slug_field="code", queryset=Stack.objects.all(), required=False, allow_null=True
    )
    team = KeyRelatedField(
        noun="team",
        slug_field="slug",
        queryset=Team.objects.all(),
        required=False,
        allow_null=True,
        help_text="Needed only when you belong to several teams.",
    )
    needed_by = serializers.DateField(
        required=False,
        allow_null=True,
        help_text=f"Required for P4, at least {settings.PORTICO_P4_MIN_NOTICE_DAYS} days ahead.",
    )
    affects_production = serializers.BooleanField(required=False, default=False)
    parameters = serializers.DictField(
        required=False,
        default=dict,
        help_text="Automation parameters for the type's catalogue action (e.g. namespace, cpu, memory for "
        "InfraProvision); checked when filing, errors come back as `parameters.<field>`. Omit for manual work.",
    )


class ServiceRequestUpdateSerializer(StrictSerializer):
    """What editing a request may change (never its state); `reason` is required for priority or type."""

    title = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(max_length=MAX_TEXT, required=False)
    stack = KeyRelatedField(
        noun="stack", slug_field="code", queryset=Stack.objects.all(), required=False, allow_null=True
    )
    needed_by = serializers.DateField(required=False, allow_null=True)
    affects_production = serializers.BooleanField(required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False, help_text="Program manager only.")
    request_type = serializers.ChoiceField(choices=TYPE_CHOICES, required=False, help_text="Program manager only.")
    parameters = serializers.DictField(
        required=False, help_text="Automation parameters for the type's action ({} makes the work manual again)."
    )
    reason = serializers.CharField(max_length=MAX_TEXT, required=False, allow_blank=True, write_only=True)


# --- workflow ---------------------------------------------------------------------------------------------
class TransitionSerializer(serializers.Serializer):
    """A transition the user may run now, and what it asks for."""

    name = serializers.CharField()
    # `label` and `fields` shadow Field.label and Serializer.fields only in the stubs: DRF's metaclass pops declared
    # fields off the class.
    label = serializers.CharField()  # type: ignore[assignment]
    reason_label = serializers.CharField()
    reason_required = serializers.BooleanField()
    fields = serializers.ListField(  # type: ignore[assignment]
        child=serializers.CharField(), help_text="Extra fields the transition takes."
    )


class TransitionInputSerializer(StrictSerializer):
    """A transition's input: a reason plus the fields that transition takes (context["fields"])."""

    reason = serializers.CharField(max_length=MAX_TEXT, required=False, allow_blank=True)
    vendor = KeyRelatedField(noun="vendor", slug_field="slug", queryset=Vendor.objects.all(), required=False)
    assignee = KeyRelatedField(
        noun="vendor engineer",
        slug_field="username",
        queryset=User.objects.filter(vendor__isnull=False, is_active=True),
        required=False,
    )
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    request_type = serializers.ChoiceField(choices=TYPE_CHOICES, required=False)
    affects_production = serializers.BooleanField(required=False)
    rating = serializers.IntegerField(
        min_value=RATING_MIN,
        max_value=RATING_MAX,
        required=False,
        allow_null=True,
        help_text="Confirm only: how satisfied the requester is, 1 (very dissatisfied) to 5 (very satisfied).",
    )
    rating_comment = serializers.CharField(
        max_length=MAX_TEXT, required=False, allow_blank=True, help_text="Confirm only: a comment with the rating."
    )
    pause_reason = serializers.ChoiceField(
        choices=[(str(r), str(r.label)) for r in ESCALATION_REASONS],
        required=False,
        help_text="Escalate: what the work waits on (default blocked); the SLA policy decides whether it pauses.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        taken = {"reason", *self.context.get("fields", ())}
        for name in [name for name in self.fields.keys() if name not in taken]:  # noqa: SIM118 (the stubs iterate values)
            del self.fields[name]


# --- links -----------------------------------------------------------------------------------------------
class LinkedRequestSerializer(serializers.Serializer):
    """The other request of a link: enough to recognise it."""

    reference = serializers.CharField()
    title = serializers.CharField()
    state = serializers.ChoiceField(choices=RequestState.choices)


class LinkSerializer(serializers.Serializer):
    """A link as read from this request's side."""

    id = serializers.IntegerField(source="link.pk")
    relation = serializers.ChoiceField(choices=RELATION_CHOICES, help_text="From this request's side.")
    # `label` shadows Field.label only in the stubs: DRF's metaclass pops declared fields off the class.
    label = serializers.CharField()  # type: ignore[assignment]
    request = LinkedRequestSerializer(source="other")
    created_at = serializers.DateTimeField(source="link.created_at")


class LinkInputSerializer(StrictSerializer):
    """A new link: how this request relates to the other one, and the other's reference."""

    relation = serializers.ChoiceField(choices=RELATION_CHOICES)
    other = serializers.CharField(max_length=16, help_text="The other request's reference, e.g. REQ-000123.")


class ExtensionInputSerializer(StrictSerializer):
    """The program manager's extension of one SLA due time: `by` a duration or `until` a new instant, with why."""

    measure = serializers.ChoiceField(choices=[("response", "Response"), ("resolution", "Resolution")])
    by = serializers.DurationField(
        required=False, help_text='How much later, e.g. "P2D" or "2 00:00:00" (two days); or give `until`.'
    )
    until = portal_fields.DateTimeField(required=False, help_text="The new due time (later than the current one).")
    reason = serializers.CharField(max_length=300)


# --- timeline ---------------------------------------------------------------------------------------------
class EventSerializer(portal_fields.ModelSerializer):
    """One line of the timeline."""

    actor: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        read_only=True, slug_field="username", allow_null=True, help_text="null means Portico."
    )
    # "" for events that change no state (comments); declared so the schema admits it.
    from_state = serializers.ChoiceField(choices=RequestState.choices, allow_blank=True, read_only=True)
    to_state = serializers.ChoiceField(choices=RequestState.choices, allow_blank=True, read_only=True)

    class Meta:
        model = RequestEvent
        fields = ["id", "kind", "actor", "from_state", "to_state", "message", "internal", "payload", "created_at"]
        read_only_fields = fields


class CommentSerializer(portal_fields.ModelSerializer):
    author: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        source="actor", read_only=True, slug_field="username", allow_null=True
    )
    body = serializers.CharField(source="message", read_only=True)

    class Meta:
        model = RequestEvent
        fields = ["id", "author", "body", "internal", "created_at"]
        read_only_fields = fields


class CommentInputSerializer(StrictSerializer):
    body = serializers.CharField(max_length=MAX_TEXT)
    internal = serializers.BooleanField(
        required=False, default=False, help_text="Only eGov DevOps, the PM and the vendor see internal notes."
    )


# --- reference data ---------------------------------------------------------------------------------------
class EnvironmentSerializer(portal_fields.ModelSerializer):
    class Meta:
        model = Environment
        fields = ["code", "name", "timezone", "jira_project_key"]
        read_only_fields = fields


class StackSerializer(portal_fields.ModelSerializer):
    class Meta:
        model = Stack
        fields = ["code", "name"]
        read_only_fields = fields


class TeamSerializer(portal_fields.ModelSerializer):
    class Meta:
        model = Team
        fields = ["slug", "name"]
        read_only_fields = fields


class VendorSerializer(portal_fields.ModelSerializer):
    # A plain string: the address may be empty, which an `email` format would reject.
    contact_email = serializers.CharField(read_only=True, help_text="An e-mail address, or empty.")
    environments = serializers.SerializerMethodField(help_text="Codes of the environments the vendor is live in.")

    class Meta:
        model = Vendor
        fields = ["slug", "name", "contact_email", "environments"]
        read_only_fields = fields

    def get_environments(self, vendor: Vendor) -> list[str]:
        # `live_onboardings` is prefetched by the viewset (Prefetch to_attr), which the model's type cannot know;
        # typing the parameter WithAnnotations[...] instead would break drf-spectacular's get_type_hints().
        return [onboarding.environment.code for onboarding in vendor.live_onboardings]  # type: ignore[attr-defined]


# --- the signed-in user -----------------------------------------------------------------------------------
class MeSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="get_full_name", read_only=True)
    role = serializers.SerializerMethodField()
    teams: serializers.RelatedField[Team, str, str] | serializers.ManyRelatedField = serializers.SlugRelatedField(
        many=True, read_only=True, slug_field="slug"
    )
    vendor: serializers.SlugRelatedField[Vendor] = serializers.SlugRelatedField(
        read_only=True, slug_field="slug", allow_null=True
    )
    # Declared so the schema admits "" (not a vendor member); ModelSerializer drops allow_blank on read-only fields.
    vendor_role = serializers.ChoiceField(choices=VendorRole.choices, allow_blank=True, read_only=True)

    class Meta:
        model = User
        fields = ["username", "name", "email", "role", "teams", "vendor", "vendor_role"]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=Role.choices))
    def get_role(self, user: User) -> str:
        return role_of(user).value


def me_representation(user: User) -> dict[str, Any]:
    """What MeSerializer renders for `user`, built directly: DRF built the serializer's nine fields (two of them by
    model introspection) on every call of the API's smallest endpoint. A test holds the two to the same output."""
    return {
        "username": user.username,
        "name": user.get_full_name(),
        "email": user.email,
        "role": role_of(user).value,
        "teams": team_slugs(user),
        "vendor": user.vendor.slug if user.vendor is not None else None,
        "vendor_role": user.vendor_role,
    }


@functools.cache
def _request_fields() -> tuple[tuple[str, Any, str | None, bool], ...]:
    """ServiceRequestSerializer's own fields in its order, once per process: (name, to_representation, None, is a
    plain datetime) of each column, (name, None, slug field, False) of each related object, (name, None, None, False)
    of the SLA and OLA. A plain datetime is a `portal_fields.DateTimeField` with no format or zone of its own, which
    writes as `_DATETIME` does."""
    fields: list[tuple[str, Any, str | None, bool]] = []
    for name, field in ServiceRequestSerializer().fields.items():
        if isinstance(field, serializers.SerializerMethodField):
            fields.append((name, None, None, False))
        elif isinstance(field, serializers.SlugRelatedField):
            fields.append((name, None, field.slug_field, False))
        else:
            plain = (
                type(field) is portal_fields.DateTimeField
                and not hasattr(field, "format")
                and not hasattr(field, "timezone")
            )
            fields.append((name, field.to_representation, None, plain))
    return tuple(fields)


def request_representation(
    service_request: ServiceRequest, *, now: Any, clocks: list[Any] | None = None
) -> dict[str, Any]:
    """What ServiceRequestSerializer renders for `service_request` (its SLA and OLA at `now`, from `clocks` when
    the caller read them, as the serializer's `clocks` context), built directly with the serializer's own fields:
    DRF's per-field machinery (get_attribute, the serializer's copy of its fields) was most of an API list's and
    detail's CPU. A test holds the two to the same output."""
    summary = sla_summary(service_request, now=now, clocks=clocks)
    zone = _iso_zone()
    out: dict[str, Any] = {}
    for name, represent, slug_field, plain_datetime in _request_fields():
        if represent is not None:
            value = getattr(service_request, name)
            if plain_datetime:
                out[name] = _datetime_text(value, zone)
            else:
                out[name] = None if value is None else represent(value)
        elif slug_field is not None:
            other = getattr(service_request, name)
            out[name] = None if other is None else getattr(other, slug_field)
        else:
            out[name] = sla_block(summary[name], zone)
    return out
