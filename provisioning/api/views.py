"""Runs of a request over the API: list (with steps), start, retry, cancel, resume; outside visible_to, 404."""

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

from .serializers import (
    ProvisioningRunSerializer,
    RunCancelSerializer,
    RunPlanSerializer,
    RunStartSerializer,
    run_plan_data,
)


class _RequestRunsView(generics.GenericAPIView):
    parser_classes = [PortalJSONParser]
    serializer_class = ProvisioningRunSerializer
    filter_backends: list = []
    request: AuthenticatedRequest

    def service_request(self) -> ServiceRequest:
        visible = ServiceRequest.objects.visible_to(self.request.user).select_related("environment", "team")
        return get_object_or_404(visible, reference=self.kwargs["reference"])

    def run(self) -> ProvisioningRun:
        runs = ProvisioningRun.objects.filter(service_request=self.service_request())
        return get_object_or_404(runs, pk=self.kwargs["run_id"])


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
        "work only after approval. 409 when a run of the action is already under way, the state forbids it, or "
        "(just-in-time access) the same user already has active access to the same target. Once the action has "
        "succeeded, running it again needs a `reason` (400 without one).",
        request=RunStartSerializer,
        responses={201: ProvisioningRunSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request: AuthenticatedRequest, reference: str) -> Response:
        service_request = self.service_request()
        body = RunStartSerializer(data=request.data if request.data else {})
        body.is_valid(raise_exception=True)
        run = services.run_start(
            service_request,
            actor=request.user,
            action=body.validated_data.get("action") or None,
            reason=body.validated_data.get("reason", ""),
        )
        return Response(self.get_serializer(run).data, status=status.HTTP_201_CREATED)


class RequestPlanView(_RequestRunsView):
    """What the request's automation would do: the plan the approval and request pages show."""

    serializer_class = RunPlanSerializer  # type: ignore[assignment]  # this view renders a plan, not runs

    @extend_schema(
        summary="The plan of a request's automation",
        description="The steps and the target-system calls the automation would make if it started now, exactly "
        "as the dry-run backend records them, with the parameters and, for just-in-time access, how long access "
        "lasts. The same plan the approvals list and the request page show; whoever may see the request may see "
        "it (404 otherwise). A type without automation answers an empty plan whose `problem` says so.",
        responses={200: RunPlanSerializer, **error_responses(401, 404)},
    )
    def get(self, request: AuthenticatedRequest, reference: str) -> Response:
        return Response(run_plan_data(selectors.run_plan(self.service_request())))


class RequestRunRetryView(_RequestRunsView):
    """Retry a failed run from the step that failed."""

    @extend_schema(summary="Retry a failed run", request=None,
                   responses={200: ProvisioningRunSerializer, **error_responses(401, 403, 404, 409)})  # fmt: skip
    def post(self, request: AuthenticatedRequest, reference: str, run_id: int) -> Response:
        run = services.run_retry(self.run(), actor=request.user)
        return Response(self.get_serializer(run).data)


class RequestRunCancelView(_RequestRunsView):
    """Cancel a queued or running run."""

    @extend_schema(
        summary="Cancel a queued or running run",
        description="The program manager and engineers of the assigned vendor. The worker stops before the run's "
        "next step; what finished steps did in the systems stays. 409 when the run has already finished.",
        request=RunCancelSerializer,
        responses={200: ProvisioningRunSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request: AuthenticatedRequest, reference: str, run_id: int) -> Response:
        run = self.run()
        body = RunCancelSerializer(data=request.data if request.data else {})
        body.is_valid(raise_exception=True)
        run = services.run_cancel(run, actor=request.user, reason=body.validated_data.get("reason", ""))
        return Response(self.get_serializer(run).data)


class RequestRunResumeView(_RequestRunsView):
    """Resume a stuck run on another worker."""

    @extend_schema(
        summary="Resume a stuck run",
        description="The program manager and engineers of the assigned vendor, for a queued or running run whose "
        "worker stopped reporting (`lease_expires_at` has passed). Steps already done are not repeated. 409 while "
        "a worker still holds the run, or once it has finished (retry a failed run instead).",
        request=None,
        responses={200: ProvisioningRunSerializer, **error_responses(401, 403, 404, 409)},
    )
    def post(self, request: AuthenticatedRequest, reference: str, run_id: int) -> Response:
        run = services.run_resume(self.run(), actor=request.user)
        return Response(self.get_serializer(run).data)
