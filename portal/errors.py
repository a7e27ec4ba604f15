"""Error answers made outside a view: JSON in the API's one shape under /api/, a plain page everywhere else.

Django itself answers some errors before or around the views (the CSRF check, `require_POST`, a body too large,
its 400/404/500 handlers); under /api/ every one of them is turned into {"error": {"code", "message", "fields"}}."""

from __future__ import annotations

from http import HTTPStatus

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import get_template
from django.views.csrf import csrf_failure as django_csrf_failure

from .api.exceptions import CODES, error_body

API_PREFIX = "/api/"
# Codes for the statuses DRF never answers itself (the rest are the handler's, portal.api.exceptions.CODES).
OTHER_CODES = {413: "too_large", 500: "server_error", 503: "unavailable"}
MESSAGES = {
    400: "The request is malformed.",
    403: "You are not allowed to do this.",
    413: "The request body is too large.",
    500: "Something went wrong on our side; it has been logged. Please try again in a moment.",
}


def is_api(request: HttpRequest) -> bool:
    """Whether `request` is for the API, which answers only JSON."""
    return request.path.startswith(API_PREFIX)


def is_json(response: HttpResponse) -> bool:
    """Whether `response` is JSON already (application/json or a +json type)."""
    media_type = (response.get("Content-Type") or "").split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def api_error(status: int, message: str, *, code: str | None = None) -> JsonResponse:
    """An API error in the one shape; the code follows the status unless given."""
    code = code or CODES.get(status) or OTHER_CODES.get(status) or "error"
    return JsonResponse(error_body(code=code, message=message), status=status)


def page_error(status: int, template: str) -> HttpResponse:
    """A plain error page, rendered without a request: it must not need the database or the person (no menu)."""
    return HttpResponse(get_template(template).render({}), status=status)


def error_response(request: HttpRequest, status: int, message: str, *, template: str) -> HttpResponse:
    """JSON under /api/, the page `template` elsewhere."""
    return api_error(status, message) if is_api(request) else page_error(status, template)


def api_error_from(request: HttpRequest, response: HttpResponse) -> JsonResponse:
    """`response`, an error answered by something other than the API's handler, in the API's shape."""
    data = getattr(response, "data", None)
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        # The API handler's own answer, rendered as YAML or HTML by the view's renderer (which may add to it).
        new = JsonResponse({"error": data["error"]}, status=response.status_code)
    else:
        status = response.status_code
        if status == 404:
            message = f"No API endpoint at {request.path}."
        elif status == 405:
            message = f"Method {request.method} is not allowed here; allowed: {response.get('Allow') or 'none'}."
        else:
            message = MESSAGES.get(status) or f"{_phrase(status)}."
        new = api_error(status, message)
    for header, value in response.headers.items():
        if header.lower() not in ("content-type", "content-length"):
            new[header] = value  # Allow, Retry-After, WWW-Authenticate, Vary…
    new.cookies = response.cookies
    return new


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:  # a status with no standard name
        return "Error"


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a 403 in the API's shape under /api/ (a session's write without its token), Django's page
    elsewhere."""
    if not is_api(request):
        return django_csrf_failure(request, reason=reason)
    message = (
        f"CSRF verification failed: {reason} Send the X-CSRFToken header with a session, or use an API token."
        if reason
        else "CSRF verification failed. Send the X-CSRFToken header with a session, or use an API token."
    )
    return api_error(403, message, code="csrf_failed")
