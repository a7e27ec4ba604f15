"""Runs of a request over the API: list (with steps), start, retry. visible_to applies: outside it, 404."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response

from portal.api.parsers import PortalJSONParser
from portal.api.schema import error_responses
from portal.http import AuthenticatedRequest
from provisioning import selectors, services
from provisioning.models import ProvisioningRun
from requests_app.models import ServiceRequest

from .serializers import ProvisioningRunSerializer, RunStartSerializer


class _RequestRunsView(generics.GenericAPIView):
    parser_classes = [PortalJSONParser]
    serializer_class = ProvisioningRunSerializer
    filter_backends: list = []
    request: AuthenticatedRequest

    def service_request(self) -> ServiceRequest:
        visible = ServiceRequest.objects.visible_to(self.request.user).select_related("environment", "team")
        return get_object_or_404(visible, reference=self.kwargs["reference"])


class RequestRunListView(_RequestRunsView):
    """A request's automation runs, newest first."""

    @extend_schema(summary="Automation runs of a request", responses={200: ProvisioningRunSerializer(many=True),
                   **error_responses(401, 404)})  # fmt: skip
    def get(self, request: AuthenticatedRequest, reference: str) -> Response:
        runs = selectors.runs_for_request(self.service_request(), user=request.user)
        page = self.paginate_queryset(runs)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="Start the request's automation",
        description="Engineers of the assigned vendor, while the request is in progress; access and production "
        "work only after approval. 409 when a run of the action is already under way or the state forbids it.",
        request=RunStartSerializer,
        responses={201: ProvisioningRunSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request: AuthenticatedRequest, reference: str) -> Response:
        service_request = self.service_request()
        body = RunStartSerializer(data=request.data if request.data else {})
        body.is_valid(raise_exception=True)
        run = services.run_start(service_request, actor=request.user, action=body.validated_data.get("action") or None)
        return Response(self.get_serializer(run).data, status=status.HTTP_201_CREATED)


class RequestRunRetryView(_RequestRunsView):
    """Retry a failed run from the step that failed."""

    @extend_schema(summary="Retry a failed run", request=None,
                   responses={200: ProvisioningRunSerializer, **error_responses(401, 403, 404, 409)})  # fmt: skip
    def post(self, request: AuthenticatedRequest, reference: str, run_id: int) -> Response:
        service_request = self.service_request()
        run = get_object_or_404(ProvisioningRun.objects.filter(service_request=service_request), pk=run_id)
        run = services.run_retry(run, actor=request.user)
        return Response(self.get_serializer(run).data)
