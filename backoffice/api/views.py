from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from portal.api.schema import error_responses
from portal.api.viewsets import PortalViewSet
from portal.exceptions import Forbidden
from portal.http import AuthenticatedRequest
from requests_app.choices import Priority
from sla.models import SlaPolicy

from ..models import ChangeRecord
from ..permissions import can_manage, can_view_management
from ..policies import sla_policy_save, sla_policy_what_if
from .serializers import (
    ChangeRecordSerializer,
    RevisionSerializer,
    SlaPolicyDraftSerializer,
    SlaPolicyRevisionSerializer,
    SlaPolicySerializer,
    WhatIfSerializer,
)


class ManagementViewSet(PortalViewSet):
    """Base of every management-area endpoint: the program manager and eGov DevOps only (403 for the rest)."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not can_view_management(request.user):
            raise Forbidden("The management area is for the program manager and eGov DevOps.")


@extend_schema_view(
    list=extend_schema(
        summary="Changes made in the management area",
        description="Newest first; `?area=` narrows to one section (sla_policy, calendar, routing, onboarding, "
        "announcement).",
        responses={200: ChangeRecordSerializer, **error_responses(401, 403)},
    )
)
class ChangeRecordViewSet(mixins.ListModelMixin, ManagementViewSet):
    serializer_class = ChangeRecordSerializer
    filter_backends: list = []

    def get_queryset(self):
        return ChangeRecord.objects.of_area(self.request.query_params.get("area", "")).select_related("actor")


def _manager_only(request: AuthenticatedRequest) -> None:
    if not can_manage(request.user):
        raise Forbidden("Only the program manager drafts and saves SLA policy revisions.")


@extend_schema_view(
    list=extend_schema(
        summary="SLA policy revisions",
        description="Every revision of every priority's policy, by priority then newest first; `is_current` marks the "
        "one new requests start under. `?priority=P2` narrows to one priority, `?current=true` to current ones.",
        parameters=[
            OpenApiParameter("priority", str, enum=Priority.values, required=False),
            OpenApiParameter("current", bool, required=False),
        ],
        responses={200: SlaPolicySerializer, **error_responses(401, 403)},
    ),
    retrieve=extend_schema(
        summary="One SLA policy revision", responses={200: SlaPolicySerializer, **error_responses(401, 403, 404)}
    ),
)
class SlaPolicyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ManagementViewSet):
    """The program manager reads, drafts (with a what-if) and saves revisions; eGov DevOps reads them."""

    serializer_class = SlaPolicySerializer
    filter_backends: list = []

    def get_queryset(self):
        revisions = SlaPolicy.objects.select_related("created_by").order_by("priority", "-version")
        priority = self.request.query_params.get("priority")
        if priority:
            revisions = revisions.filter(priority=priority)
        if self.request.query_params.get("current") in ("true", "1"):
            revisions = revisions.filter(is_current=True)
        return revisions

    @extend_schema(
        summary="What a draft revision would change",
        description="Replays the clock ledgers of the priority's requests filed in the last 13 weeks under the draft "
        "and under the revisions they ran under (compliance per measure before and after), and the open requests' "
        "clocks under the draft (which due times would move if it were applied to open requests). Writes nothing.",
        request=SlaPolicyDraftSerializer,
        responses={200: WhatIfSerializer, **error_responses(400, 401, 403)},
    )
    @action(detail=False, methods=["post"], url_path="what-if", url_name="what-if", pagination_class=None)
    def what_if(self, request: AuthenticatedRequest) -> Response:
        _manager_only(request)
        draft = SlaPolicyDraftSerializer(data=request.data)
        draft.is_valid(raise_exception=True)
        what_if = sla_policy_what_if(priority=draft.validated_data["priority"], fields=draft.policy_fields())
        return Response(WhatIfSerializer(what_if).data)

    @extend_schema(
        summary="Save a revision",
        description="Saves the priority's next revision (goals left out keep the current value) and records it in the "
        "change history with `reason`. `apply_to: open` also retargets the clocks of the priority's open requests. "
        "409 when `based_on_version` is no longer the current version.",
        request=SlaPolicyRevisionSerializer,
        responses={201: RevisionSerializer, **error_responses(400, 401, 403, 409)},
    )
    def create(self, request: AuthenticatedRequest) -> Response:
        _manager_only(request)
        revision = SlaPolicyRevisionSerializer(data=request.data)
        revision.is_valid(raise_exception=True)
        saved = sla_policy_save(
            actor=request.user,
            priority=revision.validated_data["priority"],
            fields=revision.policy_fields(),
            reason=revision.validated_data["reason"],
            apply_to=revision.validated_data["apply_to"],
            based_on_version=revision.validated_data.get("based_on_version"),
        )
        return Response(RevisionSerializer(saved).data, status=status.HTTP_201_CREATED)
