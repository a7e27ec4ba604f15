from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.response import Response

from portal.api.schema import error_responses
from portal.api.viewsets import PortalViewSet
from portal.exceptions import NotFound
from portal.http import AuthenticatedRequest
from provisioning.models import AccessGrant
from requests_app.models import ServiceRequest

from ..breakglass import break_glass_review, break_glass_take
from ..models import OnCallRota, Page
from ..paging import page_acknowledge
from ..selectors import rotas_loaded
from .serializers import (
    BreakGlassGrantSerializer,
    BreakGlassReviewSerializer,
    BreakGlassTakeSerializer,
    OnCallNowSerializer,
    PageSerializer,
)


@extend_schema_view(
    list=extend_schema(
        summary="Who is on call now",
        description="One entry per rota the caller may see: a vendor's people their vendor's rotas, the program "
        "manager and eGov DevOps every rota. `primary`/`secondary` are null when the rota has nobody on it yet.",
        parameters=[
            OpenApiParameter("vendor", OpenApiTypes.STR, description="A vendor's slug."),
            OpenApiParameter("environment", OpenApiTypes.STR, description="An environment's code."),
        ],
        responses={200: OnCallNowSerializer, **error_responses(401)},
    )
)
class OnCallViewSet(mixins.ListModelMixin, PortalViewSet):
    queryset = OnCallRota.objects.all()
    serializer_class = OnCallNowSerializer
    filter_backends: list = []

    def get_queryset(self):
        rotas = super().get_queryset()
        if vendor := self.request.query_params.get("vendor"):
            rotas = rotas.filter(vendor__slug=vendor)
        if environment := self.request.query_params.get("environment"):
            rotas = rotas.filter(environment__code=environment)
        return rotas_loaded(rotas)


@extend_schema_view(
    list=extend_schema(
        summary="Pages",
        description="People paged about urgent production issues the caller may see, oldest first.",
        responses={200: PageSerializer, **error_responses(401)},
    ),
    retrieve=extend_schema(summary="One page", responses={200: PageSerializer, **error_responses(401, 404)}),
)
class PageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PortalViewSet):
    queryset = Page.objects.select_related("service_request", "target", "acknowledged_by")
    serializer_class = PageSerializer
    filter_backends: list = []

    @extend_schema(
        summary="Acknowledge a page",
        description="Only the person paged may: escalation stops, and a queued request is picked up by them when "
        "they may work it. Acknowledging again changes nothing.",
        request=None,
        responses={200: PageSerializer, **error_responses(401, 403, 404)},
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: AuthenticatedRequest, pk: str | None = None) -> Response:
        page = page_acknowledge(int(self.get_object().pk), actor=request.user)
        page = self.get_queryset().get(pk=page.pk)
        return Response(PageSerializer(page).data)


@extend_schema_view(
    list=extend_schema(
        summary="Break-glass grants",
        description="Access taken without approval during P0 incidents, on requests the caller may see, with their "
        "review by eGov DevOps (due `review_due_at`).",
        responses={200: BreakGlassGrantSerializer, **error_responses(401)},
    ),
)
class BreakGlassViewSet(mixins.ListModelMixin, PortalViewSet):
    queryset = AccessGrant.objects.filter(break_glass=True).select_related("service_request", "reviewed_by")
    serializer_class = BreakGlassGrantSerializer
    filter_backends: list = []

    @extend_schema(
        summary="Take break-glass access",
        description="The vendor's primary or secondary on call, during an open P0 production issue: a just-in-time "
        "grant for their own user name starts at once, for at most PORTICO_BREAK_GLASS_MAX_HOURS. Returns the "
        "automation run that grants it.",
        request=BreakGlassTakeSerializer,
        responses={202: OpenApiTypes.OBJECT, **error_responses(400, 401, 403, 404, 409)},
    )
    def create(self, request: AuthenticatedRequest) -> Response:
        body = BreakGlassTakeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        reference, reason = data.pop("request"), data.pop("reason")
        service_request = ServiceRequest.objects.visible_to(request.user).filter(reference=reference).first()
        if service_request is None:
            raise NotFound(f"No request {reference}.")
        run = break_glass_take(service_request, actor=request.user, parameters=data, reason=reason)
        return Response({"run": run.pk, "request": service_request.reference, "break_glass": True}, status=202)

    @extend_schema(
        summary="Review break-glass access",
        description="eGov DevOps only: records the review with a note on the request's timeline.",
        request=BreakGlassReviewSerializer,
        responses={200: BreakGlassGrantSerializer, **error_responses(400, 401, 403, 404)},
    )
    @action(detail=True, methods=["post"])
    def review(self, request: AuthenticatedRequest, pk: str | None = None) -> Response:
        body = BreakGlassReviewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        grant = break_glass_review(int(self.get_object().pk), actor=request.user, note=body.validated_data["note"])
        return Response(BreakGlassGrantSerializer(self.get_queryset().get(pk=grant.pk)).data)
