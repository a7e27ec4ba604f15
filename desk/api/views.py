"""Saved views (CRUD) and bulk actions over requests."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.parsers import PortalJSONParser
from portal.api.schema import error_responses
from portal.api.viewsets import PortalViewSet
from portal.http import AuthenticatedRequest

from .. import services
from ..models import SavedView
from .serializers import (
    BulkInputSerializer,
    BulkResultSerializer,
    SavedViewInputSerializer,
    SavedViewSerializer,
    bulk_result,
)


@extend_schema_view(
    list=extend_schema(summary="Saved views I can use (mine and those shared with my team or vendor)"),
    retrieve=extend_schema(summary="One saved view", responses={200: SavedViewSerializer, **error_responses(401, 404)}),
)
class SavedViewViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PortalViewSet):
    """Saved views; apply one to the request list with `GET /api/v1/requests/?view=<id>`."""

    queryset = SavedView.objects.select_related("owner", "team", "vendor")
    serializer_class = SavedViewSerializer
    filter_backends: list = []
    request: AuthenticatedRequest

    def get_queryset(self) -> QuerySet[SavedView]:
        return super().get_queryset().order_by("list_name", "name", "pk")

    @extend_schema(
        summary="Save a view",
        request=SavedViewInputSerializer,
        responses={201: SavedViewSerializer, **error_responses(400, 401)},
    )
    def create(self, request: AuthenticatedRequest) -> Response:
        data = SavedViewInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        view = services.saved_view_create(owner=request.user, **data.validated_data)
        return Response(self.get_serializer(view).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a view of mine (name, query, sharing, default)",
        request=SavedViewInputSerializer(partial=True),
        responses={200: SavedViewSerializer, **error_responses(400, 401, 403, 404)},
    )
    def partial_update(self, request: AuthenticatedRequest, pk: str) -> Response:
        view = self.get_object()
        data = SavedViewInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        view = services.saved_view_update(view, actor=request.user, **data.validated_data)
        return Response(self.get_serializer(view).data)

    @extend_schema(summary="Delete a view of mine", responses={204: None, **error_responses(401, 403, 404)})
    def destroy(self, request: AuthenticatedRequest, pk: str) -> Response:
        services.saved_view_delete(self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RequestBulkView(APIView):
    """One action on many requests, each through its own service and permission check."""

    parser_classes = [PortalJSONParser]

    @extend_schema(
        operation_id="requests_bulk",
        summary="Bulk triage, assign, reassign or cancel",
        description="200 with one result per reference (`done`, or `refused` with the reason); a request you "
        "cannot see is refused as not found. 400 only when the body itself is malformed.",
        request=BulkInputSerializer,
        responses={200: BulkResultSerializer, **error_responses(400, 401)},
    )
    def post(self, request: Request) -> Response:
        data = BulkInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        action = data.validated_data["action"]
        outcomes = services.requests_bulk(
            actor=request.user,  # type: ignore[arg-type]
            action=action,
            references=data.validated_data["references"],
            params=data.validated_data["params"],
        )
        return Response(BulkResultSerializer(bulk_result(action, outcomes)).data)
