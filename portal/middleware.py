"""Middleware of the portal itself."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template.loader import get_template
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.views.defaults import page_not_found

from . import views
from .api.exceptions import error_body
from .constants import RETRY_AFTER_SECONDS
from .errors import api_error_from, error_response, is_api, is_json, page_error
from .metrics import metrics_view
from .timefmt import user_timezone

logger = logging.getLogger(__name__)


class ErrorShapeMiddleware:
    """Outermost: under /api/ every error is JSON in the API's one shape, whatever answered it (Django's CSRF page,
    `require_POST`, its 400/404/500 handlers, a renderer other than JSON); every 503 says when to come back."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code >= 400 and is_api(request) and not is_json(response):
            response = api_error_from(request, response)
        if response.status_code == 503 and not response.has_header("Retry-After"):
            response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response


class RequestLimitsMiddleware:
    """Refuse, before anything reads them, requests no view should see: a body larger than
    DATA_UPLOAD_MAX_MEMORY_SIZE (413; for a multipart upload to one of PORTICO_UPLOAD_PATHS,
    PORTICO_UPLOAD_BODY_MAX_BYTES: the largest attachment and the form around it, the file itself then checked by
    the attachment service), and a page
    URL with a NUL byte in its path or query string (400; PostgreSQL cannot store one, so a lookup with it was a
    500). The API answers NUL bytes itself, as a field error or a 404, like any other bad value."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_api(request) and _has_nul(request):
            return page_error(400, "400.html")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if request.content_type == "multipart/form-data" and settings.PORTICO_UPLOAD_PATHS.match(request.path):
            limit = settings.PORTICO_UPLOAD_BODY_MAX_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # as Django reads it: no body
        if limit is not None and length > limit:
            message = f"The request body is {length} bytes; the limit is {limit}."
            return error_response(request, 413, message, template="413.html")
        return self.get_response(request)


def _has_nul(request: HttpRequest) -> bool:
    return "\x00" in request.path or any(
        "\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()
    )


class HealthCheckMiddleware:
    """Answer /healthz, /readyz and /metrics before host validation and the HTTPS redirect: the kubelet's probes and
    Prometheus's scrape reach the pod by its IP over plain HTTP, so they could satisfy neither. /metrics still
    answers only its token or allowed networks (portal.metrics)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "GET":
            if request.path == "/healthz":
                return views.healthz(request)
            if request.path == "/readyz":
                return views.readyz(request)
            if request.path == "/metrics":
                return metrics_view(request)
        return self.get_response(request)


class DatabaseUnavailableMiddleware:
    """A view that cannot reach the database answers 503 (a friendly page, or JSON under /api/), never a 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.error("database unavailable: %s %s", request.method, request.path, exc_info=exception)
        if request.path.startswith("/api/"):
            response: HttpResponse = JsonResponse(
                error_body(code="unavailable", message="The database is unavailable; try again shortly."), status=503
            )
        else:
            # No request in the context: context processors (navigation, the user) would query the database.
            response = HttpResponse(get_template("503.html").render({}), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response


class StyledNotFoundMiddleware:
    """With DEBUG on (`make run`), Django answers a 404 with its yellow page listing every URL pattern; serve the
    portal's own 404 page instead, as production does, unless PORTICO_DEBUG_404 asks for Django's. Tracebacks for
    500s stay: they are what DEBUG is for. Innermost, so the page knows who is signed in."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def _styled(self, request: HttpRequest) -> bool:
        return settings.DEBUG and not settings.PORTICO_DEBUG_404 and not is_api(request)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._styled(request):
            try:
                resolve(request.path_info, getattr(request, "urlconf", None))
            except Resolver404 as exc:
                return page_not_found(request, exc)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, Http404) and self._styled(request):
            return page_not_found(request, exception)
        return None


class UserTimezoneMiddleware:
    """Make the signed-in user's zone (their preference, else TIME_ZONE) Django's current zone for this request,
    so every page, form and formatter (`portal.timefmt`) shows times in it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        try:
            if user is not None and user.is_authenticated:
                timezone.activate(user_timezone(user))
        except (OperationalError, InterfaceError):
            # PostgreSQL is unreachable (reading the user is the first query): leave it to the view, whose own query
            # fails where DatabaseUnavailableMiddleware turns it into a 503. An error raised here would be a 500.
            pass
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
