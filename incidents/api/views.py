from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins

from portal.api.schema import error_responses
from portal.api.viewsets import PortalViewSet

from ..models import OnCallRota
from ..selectors import rotas_loaded
from .serializers import OnCallNowSerializer


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
