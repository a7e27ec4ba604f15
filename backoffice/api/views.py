from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins

from portal.api.schema import error_responses
from portal.api.viewsets import PortalViewSet
from portal.exceptions import Forbidden

from ..models import ChangeRecord
from ..permissions import can_view_management
from .serializers import ChangeRecordSerializer


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
