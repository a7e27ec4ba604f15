"""The program manager's review of inbound mail: what was filed, commented, bounced or dropped, and the raw message."""

from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render

from portal.http import AuthenticatedHttpRequest
from requests_app import permissions as perms

from .models import InboundMessage, InboundStatus

logger = logging.getLogger(__name__)


def _program_manager(request: AuthenticatedHttpRequest) -> None:
    if not perms.is_program_manager(request.user):
        raise PermissionDenied("The inbound mail review is for the program manager.")


@login_required
def inbound_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    _program_manager(request)
    messages = InboundMessage.objects.select_related("service_request")
    status = request.GET.get("status", "")
    if status in InboundStatus.values:
        messages = messages.filter(status=status)
    page = Paginator(messages, 50).get_page(request.GET.get("page"))
    context = {"page": page, "statuses": InboundStatus.choices, "status": status}
    return render(request, "inbound/inboundmessage_list.html", context)


@login_required
def inbound_raw(request: AuthenticatedHttpRequest, message_id: int) -> HttpResponse:
    """The message as received, as plain text (never rendered as HTML)."""
    _program_manager(request)
    message = InboundMessage.objects.filter(pk=message_id).first()
    if message is None or not message.raw:
        raise Http404("No such message.")
    try:
        with message.raw.open("rb") as handle:
            content = handle.read()
    except Exception as exc:
        logger.exception("inbound message %s could not be read", message.pk)
        raise Http404("The stored message cannot be read.") from exc
    response = HttpResponse(content, content_type="text/plain; charset=utf-8")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = f'inline; filename="inbound-{message.pk}.eml.txt"'
    return response
