"""Browser pages: upload a file to a request, download one."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from portal.exceptions import NotFound, PortalError, ServiceUnavailable
from portal.forms import apply_portal_error
from portal.http import AuthenticatedHttpRequest

from .forms import AttachmentForm
from .models import AttachmentSource
from .selectors import attachment_download, attachment_visible, request_visible
from .services import attachment_add


@login_required
@require_POST
def attachment_upload(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    """Attach a file, then back to the request; a refused file shows the form again with the reason."""
    try:
        service_request = request_visible(request.user, reference)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    form = AttachmentForm(request.POST, request.FILES)
    status = 400
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            attachment = attachment_add(
                service_request,
                actor=request.user,
                filename=upload.name,
                content=upload.read(),
                source=AttachmentSource.WEB,
            )
        except PortalError as exc:
            apply_portal_error(form, exc)
            status = exc.status_code if not isinstance(exc, ServiceUnavailable) else 503
        else:
            messages.success(request, f"Attached {attachment.filename}.")
            return redirect(reverse("request-detail", args=[service_request.reference]) + "#attachments")
    context = {"service_request": service_request, "form": form}
    return render(request, "attachments/attachment_form.html", context, status=status)


@login_required
@require_GET
def attachment_get(request: AuthenticatedHttpRequest, reference: str, attachment_id: int) -> FileResponse:
    try:
        return attachment_download(attachment_visible(request.user, reference, attachment_id))
    except NotFound as exc:
        raise Http404(exc.message) from exc
