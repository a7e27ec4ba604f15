"""POST /api/v1/webhooks/alertmanager/: Alertmanager's webhook_config points here (see the README)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from portal.exceptions import PortalError

from .alertmanager import PayloadTooLarge, alertmanager_receive


def _error(exc: PortalError) -> JsonResponse:
    body = {"error": {"code": exc.code, "message": exc.message, "fields": exc.fields}}
    return JsonResponse(body, status=exc.status_code)


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


@csrf_exempt  # Alertmanager sends no CSRF token; its credential in the Authorization header authenticates it
@require_POST
def alertmanager_webhook(request: HttpRequest) -> JsonResponse:
    limit = settings.PORTICO_ALERTMANAGER_MAX_BYTES
    try:
        if _declared_length(request) > limit:  # refused before the body is read
            raise PayloadTooLarge(f"The body is over {limit} bytes, the most Portico takes.")
        outcome = alertmanager_receive(authorization=request.headers.get("Authorization", ""), raw=request.body)
    except PortalError as exc:
        return _error(exc)
    service_request = outcome.service_request
    return JsonResponse({"status": outcome.status, "request": service_request.reference if service_request else None})
