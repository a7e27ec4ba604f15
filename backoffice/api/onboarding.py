"""Partner onboarding over the API, the same rules as the pages: a vendor's onboarding per environment (stage,
checklist, history), a move, and a checklist tick."""

from __future__ import annotations

import json
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from portal.api import fields as portal_fields
from portal.api.parsers import PortalJSONParser
from portal.api.schema import error_responses
from portal.exceptions import NotFound
from requests_app.choices import OnboardingStatus
from requests_app.models import VendorOnboarding

from ..models import OnboardingStep
from ..onboarding import machine
from ..onboarding.selectors import checklist_of, onboardings_of
from ..onboarding.services import (
    Document,
    MoveData,
    onboarding_move,
    onboarding_pair,
    onboarding_tick,
    onboarding_vendor,
    vendor_access_open,
)
from .views import ManagementViewSet


class ChecklistItemSerializer(serializers.Serializer):
    key = serializers.CharField()
    # Fields named like a serializer's own attributes; DRF's metaclass takes them as fields all the same.
    label = serializers.CharField()  # type: ignore[assignment]
    required = serializers.BooleanField()  # type: ignore[assignment]
    done = serializers.BooleanField()
    ticked_by = serializers.CharField(allow_null=True)
    ticked_at = portal_fields.DateTimeField(allow_null=True)


DOCUMENT_SCHEMA = {
    "type": "object",
    "nullable": True,
    "properties": {"name": {"type": "string"}, "size": {"type": "integer"}, "content_type": {"type": "string"}},
}


class StepSerializer(portal_fields.ModelSerializer):
    actor = serializers.SlugRelatedField(read_only=True, slug_field="username", allow_null=True)  # type: ignore[var-annotated]
    access_request = serializers.SlugRelatedField(read_only=True, slug_field="reference", allow_null=True)  # type: ignore[var-annotated]
    document = serializers.SerializerMethodField()

    class Meta:
        model = OnboardingStep
        fields = ["id", "from_stage", "to_stage", "actor", "at", "reason", "data", "document", "access_request",
                  "grants"]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(DOCUMENT_SCHEMA)
    def get_document(self, step: OnboardingStep) -> dict[str, Any] | None:
        if not step.document:
            return None
        return {"name": step.document_name, "size": step.document_size, "content_type": step.document_type}


class OpenAccessSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    system = serializers.CharField()
    subject = serializers.CharField()
    target = serializers.CharField()
    level = serializers.CharField()
    expires_at = portal_fields.DateTimeField()
    revoke_error = serializers.CharField()


class OnboardingSerializer(serializers.Serializer):
    environment = serializers.CharField(source="environment.code")
    environment_name = serializers.CharField(source="environment.name")
    stage = serializers.ChoiceField(choices=OnboardingStatus.choices, source="status")
    stage_label = serializers.CharField(source="get_status_display")
    paused_from = serializers.CharField()
    moves = serializers.SerializerMethodField()
    checklist = serializers.SerializerMethodField()
    history = StepSerializer(many=True, source="steps.all")
    open_access = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=OnboardingStatus.choices)))
    def get_moves(self, onboarding: VendorOnboarding) -> list[str]:
        return [str(stage) for stage in machine.allowed_moves(onboarding.status, paused_from=onboarding.paused_from)]

    @extend_schema_field(ChecklistItemSerializer(many=True))
    def get_checklist(self, onboarding: VendorOnboarding) -> list[dict[str, Any]]:
        return [
            {
                "key": row.item.key,
                "label": row.item.label,
                "required": row.item.required,
                "done": row.tick is not None,
                "ticked_by": row.tick.ticked_by.username if row.tick and row.tick.ticked_by else None,
                "ticked_at": row.tick.ticked_at if row.tick else None,
            }
            for row in checklist_of(onboarding)
        ]

    @extend_schema_field(OpenAccessSerializer(many=True))
    def get_open_access(self, onboarding: VendorOnboarding) -> list[dict[str, Any]]:
        return OpenAccessSerializer(vendor_access_open(onboarding), many=True).data  # type: ignore[return-value]


@extend_schema_field(OpenApiTypes.OBJECT)
class JsonObjectField(serializers.Field):
    """An object in a JSON body, or the same object as a JSON string in a multipart form (beside the NDA file)."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, str):
            try:
                data = json.loads(data) if data.strip() else {}
            except ValueError as exc:
                raise serializers.ValidationError("Give a JSON object.") from exc
        if not isinstance(data, dict):
            raise serializers.ValidationError("Give a JSON object.")
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class MoveDataSerializer(serializers.Serializer):
    training_start = serializers.DateField(required=False, help_text="Into training: the first day.")
    training_end = serializers.DateField(required=False, help_text="Into training: the last day.")
    access_request = serializers.CharField(
        required=False, max_length=16, allow_blank=True, help_text="Into access granted: the AccessOps request."
    )
    grants = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=50,
        help_text="Into access granted: just-in-time grant ids.",
    )


class MoveInputSerializer(serializers.Serializer):
    to = serializers.ChoiceField(choices=OnboardingStatus.choices)
    reason = serializers.CharField(max_length=2000, allow_blank=True)
    # The input's name the API promises; `.data` of this serializer is never read (only `validated_data`).
    data = JsonObjectField(required=False, help_text="What the move brings (see MoveData).")  # type: ignore[assignment]
    document = serializers.FileField(required=False, help_text="Into NDA signed: the signed NDA (multipart).")

    def validate_data(self, value: dict[str, Any]) -> dict[str, Any]:
        inner = MoveDataSerializer(data=value)
        inner.is_valid(raise_exception=True)
        return dict(inner.validated_data)


class TickInputSerializer(serializers.Serializer):
    item = serializers.CharField(max_length=64)
    done = serializers.BooleanField(default=True)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


ENVIRONMENT = OpenApiParameter("environment", OpenApiTypes.STR, OpenApiParameter.PATH, description="Environment code.")
SLUG = OpenApiParameter("slug", OpenApiTypes.STR, OpenApiParameter.PATH, description="Vendor slug.")


class VendorOnboardingViewSet(ManagementViewSet):
    """A vendor's onboarding per environment; moves and ticks follow `backoffice/onboarding/machine.py`."""

    parser_classes = [PortalJSONParser, MultiPartParser]
    serializer_class = OnboardingSerializer
    pagination_class = None  # one row per environment: a handful
    queryset = VendorOnboarding.objects.none()  # for the schema; every action reads through the selectors

    def _onboarding_of(self, slug: str, environment: str) -> VendorOnboarding:
        vendor, found = onboarding_pair(vendor_slug=slug, environment_code=environment)
        for onboarding in onboardings_of(vendor):
            if onboarding.environment_id == found.pk:
                return onboarding
        raise NotFound(f"{vendor} has no onboarding in {found}.")

    @extend_schema(
        summary="A vendor's onboarding in each environment",
        parameters=[SLUG],
        responses={200: OnboardingSerializer(many=True), **error_responses(401, 403, 404)},
    )
    def list(self, request: Request, slug: str) -> Response:
        return Response(OnboardingSerializer(onboardings_of(onboarding_vendor(slug)), many=True).data)

    @extend_schema(
        summary="Move a vendor's onboarding in one environment to another stage",
        description="Forward one stage at a time (the current stage's required checklist done first), pause from and "
        "resume to an active stage, or offboard (final; revokes the vendor's open access there). Into training send "
        "`data.training_start`/`training_end`; into NDA signed a multipart body with `document`; into access granted "
        "`data.access_request` or `data.grants`. A refused move answers 409 with the reason.",
        parameters=[SLUG, ENVIRONMENT],
        request={"application/json": MoveInputSerializer, "multipart/form-data": MoveInputSerializer},
        responses={200: OnboardingSerializer, **error_responses(400, 401, 403, 404, 409, 413, 415)},
    )
    def move(self, request: Request, slug: str, environment: str) -> Response:
        vendor, found = onboarding_pair(vendor_slug=slug, environment_code=environment)
        serializer = MoveInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        extra = values.get("data") or {}
        upload = values.get("document")
        onboarding_move(
            vendor=vendor,
            environment=found,
            actor=request.user,  # type: ignore[arg-type]
            to=values["to"],
            reason=values["reason"],
            data=MoveData(
                training_start=extra.get("training_start"),
                training_end=extra.get("training_end"),
                document=Document(upload.name, upload.read()) if upload else None,
                access_request=extra.get("access_request", ""),
                grants=tuple(extra.get("grants", ())),
            ),
        )
        return Response(OnboardingSerializer(self._onboarding_of(slug, environment)).data)

    @extend_schema(
        summary="Tick or untick an item of the current stage's checklist",
        parameters=[SLUG, ENVIRONMENT],
        request=TickInputSerializer,
        responses={200: OnboardingSerializer, **error_responses(400, 401, 403, 404)},
    )
    def tick(self, request: Request, slug: str, environment: str) -> Response:
        onboarding = self._onboarding_of(slug, environment)
        serializer = TickInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        onboarding_tick(onboarding, actor=request.user, **serializer.validated_data)  # type: ignore[arg-type]
        return Response(OnboardingSerializer(self._onboarding_of(slug, environment)).data)
