"""Adding an attachment: checked, sniffed, stored through Django's storage API, recorded on the timeline."""

from __future__ import annotations

import hashlib
import logging
import uuid
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils.text import get_valid_filename

from portal.exceptions import NotFound, PortalError, ServiceUnavailable, ValidationFailed
from requests_app import permissions as perms
from requests_app.choices import EventKind
from requests_app.models import RequestEvent, ServiceRequest
from requests_app.timeline import model_full_clean, timeline_append

from .models import Attachment, AttachmentSource
from .sniffing import content_type_sniff

if TYPE_CHECKING:
    from portal.models import User

logger = logging.getLogger(__name__)


class AttachmentTooLarge(PortalError):
    status_code = 413
    code = "too_large"


class AttachmentTypeRefused(PortalError):
    status_code = 415
    code = "unsupported_type"


def attachment_check(*, filename: str, content: bytes) -> str:
    """Raise when the file breaks the size or type limits; return its sniffed content type."""
    limit = settings.PORTICO_ATTACHMENT_MAX_BYTES
    if len(content) > limit:
        raise AttachmentTooLarge(
            f"{filename or 'The file'} is larger than {filesizeformat(limit)}.",
            fields={"file": f"At most {filesizeformat(limit)}."},
        )
    if not content:
        raise ValidationFailed("The file is empty.", fields={"file": "Choose a file that is not empty."})
    content_type = content_type_sniff(content)
    if content_type not in settings.PORTICO_ATTACHMENT_TYPES:
        raise AttachmentTypeRefused(
            f"Files of type {content_type} cannot be attached.",
            fields={
                "file": f"This file is {content_type}; allowed: "
                + ", ".join(sorted(settings.PORTICO_ATTACHMENT_TYPES))
                + "."
            },
        )
    return content_type


def attachment_filename_clean(filename: str) -> str:
    """A client's file name made safe to store and show: no path, no odd characters, at most 120 characters."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    try:
        name = get_valid_filename(name)
    except Exception:  # Django refuses names that clean to nothing ("..", "")
        name = "attachment"
    return name[-120:] or "attachment"


@transaction.atomic
def attachment_add(
    service_request: ServiceRequest,
    *,
    actor: User,
    filename: str,
    content: bytes,
    source: str = AttachmentSource.WEB,
    event: RequestEvent | None = None,
    internal: bool = False,
) -> Attachment:
    """Attach `content` to `service_request` as `actor` (anyone who can see it; internal only for who sees internal
    notes). The bytes are stored first; if the row or the timeline entry then fails, they are removed again, and if
    storing fails no row is written."""
    if not ServiceRequest.objects.visible_to(actor).filter(pk=service_request.pk).exists():
        raise NotFound(f"No request {service_request.reference}.")
    if internal and not perms.sees_internal_notes(service_request, actor):
        raise ValidationFailed("Only staff and the vendor can attach to internal notes.", fields={"internal": "No."})
    name = attachment_filename_clean(filename)
    content_type = attachment_check(filename=name, content=content)
    path = f"attachments/{service_request.reference}/{uuid.uuid4().hex}/{name}"
    try:
        stored = default_storage.save(path, ContentFile(content))
    except Exception as exc:
        logger.exception("attachment storage failed for %s", service_request.reference)
        raise ServiceUnavailable("The file could not be stored; please try again shortly.") from exc
    try:
        attachment = Attachment(
            service_request=service_request,
            event=event,
            file=stored,
            filename=name,
            content_type=content_type,
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            internal=internal,
            source=source,
            uploaded_by=actor,
        )
        model_full_clean(attachment, exclude=["service_request", "event", "uploaded_by", "file"])
        with transaction.atomic():
            attachment.save()
            timeline_append(
                service_request,
                actor=actor,
                kind=EventKind.ATTACHMENT_ADDED,
                message=name,
                internal=internal,
                payload={"attachment": attachment.pk, "size": attachment.size, "content_type": content_type},
            )
    except BaseException:
        default_storage.delete(stored)
        raise
    return attachment
