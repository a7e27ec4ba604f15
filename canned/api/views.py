from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins

from portal.api.schema import error_responses
from portal.api.viewsets import PortalViewSet

from ..models import CannedResponse
from .serializers import CannedResponseSerializer


@extend_schema_view(
    list=extend_schema(
        summary="Canned responses I may insert",
        description="A vendor's people get their vendor's set; the program manager and eGov DevOps get the PM's.",
        responses={200: CannedResponseSerializer, **error_responses(401)},
    )
)
class CannedResponseViewSet(mixins.ListModelMixin, PortalViewSet):
    queryset = CannedResponse.objects.select_related("vendor")
    serializer_class = CannedResponseSerializer
    filter_backends: list = []
