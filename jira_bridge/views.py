"""The Jira webhook endpoint: verify, store and acknowledge; a task does the work (`jira_bridge.inbound`)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from portal.exceptions import PortalError

from .inbound import jira_delivery_receive


def _error(exc: PortalError) -> JsonResponse:
    body = {"error": {"code": exc.code, "message": exc.message, "fields": exc.fields}}
    return JsonResponse(body, status=exc.status_code)


@csrf_exempt  # Jira cannot send a CSRF token; the HMAC signature is what authenticates it
@require_POST
def jira_webhook(request: HttpRequest) -> JsonResponse:
    """POST /api/v1/webhooks/jira/: verify, store and acknowledge with 202; a task does the work."""
    try:
        delivery, created = jira_delivery_receive(
            raw_body=request.body, headers=request.headers, environment_code=request.GET.get("environment")
        )
    except PortalError as exc:
        return _error(exc)
    status = "accepted" if created else "duplicate"
    return JsonResponse({"status": status, "delivery": delivery.delivery_id}, status=202)
