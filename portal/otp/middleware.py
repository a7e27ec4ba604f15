"""The gate: a signed-in person who owes a TOTP code sees only the verify (or set-up) page until they give it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from .services import otp_confirmed_device, otp_required

# Pages a person must reach before their second factor: the factor's own pages and the way out. Probes and
# /metrics answer machines, which have no session.
EXEMPT_URL_NAMES = frozenset({"otp-verify", "otp-setup", "login", "logout", "healthz", "readyz", "metrics"})


def is_verified(user: Any) -> bool:
    """Whether this session gave its TOTP code (django-otp's OTPMiddleware adds `is_verified`)."""
    check = getattr(user, "is_verified", None)
    return bool(check and check())


class OtpRequiredMiddleware:
    """Send sessions that still owe a TOTP code to the verify page; the API answers them 403 itself
    (`portal.otp.authentication.OtpSessionAuthentication`), and API tokens are not affected."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func: Callable, view_args: tuple, view_kwargs: dict) -> Any:
        match = request.resolver_match
        if request.path.startswith("/api/") or (match is not None and match.url_name in EXEMPT_URL_NAMES):
            return None
        try:
            user = request.user
            if not user.is_authenticated or is_verified(user) or not otp_required(user):
                return None
            page = "otp-verify" if otp_confirmed_device(user) else "otp-setup"
        except (OperationalError, InterfaceError):
            # Errors here would bypass process_exception and end as a 500. The view meets the same outage (the
            # user cannot be loaded) and DatabaseUnavailableMiddleware answers it with the friendly 503 page.
            return None
        url = f"{reverse(page)}?{urlencode({'next': request.get_full_path()})}"
        if getattr(request, "htmx", False):
            # htmx would swap the verify page into a fragment; make it load the whole page instead.
            response = HttpResponse(status=204)
            response["HX-Redirect"] = url
            return response
        return HttpResponseRedirect(url)
