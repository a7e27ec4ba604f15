"""Reads: a request's attachments as one user may see them, and the file itself as a download response."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.http import FileResponse

from portal.exceptions import NotFound, ServiceUnavailable
from requests_app.compiled import rows_of_request
from requests_app.models import ServiceRequest

from .models import Attachment

if TYPE_CHECKING:
    from django.db.models.fields.files import FieldFile

    from portal.models import User

logger = logging.getLogger(__name__)


def request_visible(user: User, reference: str) -> ServiceRequest:
    """The request `reference` if `user` may see it; NotFound (the same answer as for none) otherwise."""
    service_request = ServiceRequest.objects.visible_to(user).filter(reference=reference).first()
    if service_request is None:
        raise NotFound(f"No request {reference}.")
    return service_request


def attachments_of(service_request: ServiceRequest, user: User) -> QuerySet[Attachment]:
    return (
        Attachment.objects.visible_to(user)
        .filter(service_request=service_request)
        .select_related("uploaded_by")
        .order_by("created_at", "pk")
    )


def _attachments_of(viewer: User, request_id: int) -> QuerySet[Attachment]:
    return attachments_of(ServiceRequest(pk=request_id), viewer)


def attachments_for_page(service_request: ServiceRequest, user: User) -> list[Attachment]:
    """`attachments_of` read through a query compiled once per process and viewer shape (the request page's card)."""
    return rows_of_request(_attachments_of, service_request.pk, user=user)


def attachment_visible(user: User, reference: str, attachment_id: int) -> Attachment:
    attachment = attachments_of(request_visible(user, reference), user).filter(pk=attachment_id).first()
    if attachment is None:
        raise NotFound("No such attachment.")
    return attachment


def attachment_download(attachment: Attachment) -> FileResponse:
    """The file as a download (see `stored_file_download`)."""
    return stored_file_download(attachment.file, filename=attachment.filename, content_type=attachment.content_type)


def stored_file_download(file: FieldFile, *, filename: str, content_type: str) -> FileResponse:
    """A stored file as a download, never rendered inline: `Content-Disposition: attachment`, the sniffed type, and
    `nosniff` so no browser second-guesses it."""
    try:
        handle = file.open("rb")
    except Exception as exc:
        logger.exception("%s could not be read from storage", file.name)
        raise ServiceUnavailable("The file cannot be read right now; please try again shortly.") from exc
    response = FileResponse(handle, as_attachment=True, filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
