"""/api/v1/announcements/: the program manager posts, changes and withdraws them and sees who acknowledged; a
partner lists theirs and acknowledges them."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, Subquery
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from backoffice.permissions import can_manage, can_view_management
from portal.api.schema import error_responses
from portal.api.viewsets import PortalViewSet
from portal.exceptions import Forbidden
from portal.http import AuthenticatedRequest

from ..models import Acknowledgement, Announcement, AnnouncementQuerySet
from ..selectors import announcement_read_status
from ..services import announcement_acknowledge, announcement_delete, announcement_post, announcement_update
from .serializers import (
    AnnouncementInputSerializer,
    AnnouncementSerializer,
    MyAcknowledgementSerializer,
    ReadStatusSerializer,
    ReasonSerializer,
)

WRITES = {"create", "partial_update", "destroy"}


def _parse(serializer_class: type[serializers.Serializer], data: Any, *, partial: bool = False) -> dict[str, Any]:
    serializer = serializer_class(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


@extend_schema_view(
    list=extend_schema(
        summary="Announcements",
        description="The program manager and eGov DevOps: every announcement. A partner: the current ones for them "
        "(acknowledged or not; `acknowledged_at` says). Anyone else: none.",
        responses={200: AnnouncementSerializer, **error_responses(401)},
    ),
    retrieve=extend_schema(
        summary="One announcement", responses={200: AnnouncementSerializer, **error_responses(401, 404)}
    ),
    create=extend_schema(
        summary="Post an announcement",
        description="The program manager only; recorded in the change history (no reason needed).",
        request=AnnouncementInputSerializer,
        responses={201: AnnouncementSerializer, **error_responses(400, 401, 403)},
    ),
    partial_update=extend_schema(
        summary="Change an announcement",
        description="The program manager only; send what changes, with `reason`.",
        request=AnnouncementInputSerializer,
        responses={200: AnnouncementSerializer, **error_responses(400, 401, 403, 404)},
    ),
    destroy=extend_schema(
        summary="Withdraw an announcement",
        description='The program manager only. Body `{"reason": "…"}` (or `?reason=`); required.',
        request=ReasonSerializer,
        parameters=[OpenApiParameter("reason", str, required=False, description="Why; instead of a body.")],
        responses={204: None, **error_responses(400, 401, 403, 404)},
    ),
)
class AnnouncementViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin,
    PortalViewSet,
):  # fmt: skip
    serializer_class = AnnouncementSerializer
    lookup_value_regex = r"[0-9]+"
    filter_backends: list = []
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    request: AuthenticatedRequest

    def initial(self, request: Any, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if self.action in WRITES and not can_manage(request.user):
            raise Forbidden("Only the program manager posts announcements.")
        if self.action == "acknowledgements" and not can_view_management(request.user):
            raise Forbidden("Who has read an announcement is for the program manager and eGov DevOps.")

    def get_queryset(self) -> AnnouncementQuerySet:
        user = self.request.user
        base = Announcement.objects.select_related("posted_by").prefetch_related("vendors", "environments")
        mine = Acknowledgement.objects.filter(announcement=OuterRef("pk"), user_id=user.pk).values("at")[:1]
        if can_view_management(user):
            return base.annotate(acknowledged_at=Subquery(mine))
        return base.for_partner(user).annotate(acknowledged_at=Subquery(mine))

    def _render(self, announcement: Announcement, status_code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=announcement.pk)
        return Response(AnnouncementSerializer(fresh).data, status=status_code)

    def create(self, request: AuthenticatedRequest, *args: Any, **kwargs: Any) -> Response:
        fields = _parse(AnnouncementInputSerializer, request.data)
        fields.pop("reason", None)
        return self._render(announcement_post(actor=request.user, **fields), status.HTTP_201_CREATED)

    def partial_update(self, request: AuthenticatedRequest, pk: str) -> Response:
        announcement = self.get_object()
        changes = _parse(AnnouncementInputSerializer, request.data, partial=True)
        reason = changes.pop("reason", "")
        return self._render(announcement_update(announcement.pk, actor=request.user, reason=reason, **changes))

    def destroy(self, request: AuthenticatedRequest, *args: Any, **kwargs: Any) -> Response:
        announcement = self.get_object()
        reason = _parse(ReasonSerializer, request.data or {}).get("reason") or request.query_params.get("reason", "")
        announcement_delete(announcement.pk, actor=request.user, reason=reason)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Who has acknowledged an announcement",
        description="The program manager and eGov DevOps: who acknowledged it and when, and who in its audience "
        "has not yet.",
        responses={200: ReadStatusSerializer, **error_responses(401, 403, 404)},
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def acknowledgements(self, request: AuthenticatedRequest, pk: str) -> Response:
        return Response(ReadStatusSerializer(announcement_read_status(self.get_object())).data)

    @extend_schema(
        summary="Acknowledge an announcement",
        description="A partner in its audience; acknowledging again changes nothing. 404 for anyone it is not for.",
        request=None,
        responses={200: MyAcknowledgementSerializer, **error_responses(401, 404)},
    )
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def acknowledge(self, request: AuthenticatedRequest, pk: str) -> Response:
        acknowledgement = announcement_acknowledge(int(pk), actor=request.user)
        return Response(MyAcknowledgementSerializer(acknowledgement).data)
