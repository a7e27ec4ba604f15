"""The attachment API: list and upload a request's files, download one; all behind `visible_to`."""

from __future__ import annotations

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.schema import error_responses
from portal.http import AuthenticatedRequest

from ..models import AttachmentSource
from ..selectors import attachment_download, attachment_visible, attachments_of, request_visible
from ..services import attachment_add
from .serializers import AttachmentSerializer, AttachmentUploadSerializer


class AttachmentListView(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        summary="A request's attachments",
        responses={200: AttachmentSerializer(many=True), **error_responses(401, 404)},
    )
    def get(self, request: AuthenticatedRequest, reference: str) -> Response:
        service_request = request_visible(request.user, reference)
        attachments = attachments_of(service_request, request.user).select_related("service_request")
        return Response(AttachmentSerializer(attachments, many=True).data)

    @extend_schema(
        summary="Attach a file",
        request={"multipart/form-data": AttachmentUploadSerializer},
        responses={201: AttachmentSerializer, **error_responses(400, 401, 404, 415)},
    )
    def post(self, request: AuthenticatedRequest, reference: str) -> Response:
        service_request = request_visible(request.user, reference)
        serializer = AttachmentUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        attachment = attachment_add(
            service_request,
            actor=request.user,
            filename=upload.name,
            content=upload.read(),
            internal=serializer.validated_data["internal"],
            source=AttachmentSource.API,
        )
        return Response(AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)


class AttachmentDownloadView(APIView):
    @extend_schema(
        summary="Download an attachment",
        description="The file itself, with `Content-Disposition: attachment` and `X-Content-Type-Options: nosniff`.",
        responses={
            (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="The file."),
            **error_responses(401, 404),
        },
    )
    def get(self, request: Request, reference: str, attachment_id: int) -> FileResponse:
        return attachment_download(attachment_visible(request.user, reference, attachment_id))  # type: ignore[arg-type]
