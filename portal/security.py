"""Login protection (django-axes hooks) and the relaxed Content-Security-Policy of the API's documentation pages."""

from __future__ import annotations

from typing import Any

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

LOCKOUT_STATUS = 429


def client_ip(request: HttpRequest) -> str | None:
    """The address that failed logins are counted against: the socket's peer, or, behind PORTICO_PROXY_COUNT
    trusted proxies, the address the outermost of them saw (each proxy appends one entry to X-Forwarded-For)."""
    remote = request.META.get("REMOTE_ADDR")
    proxies = settings.PORTICO_PROXY_COUNT
    if proxies <= 0:
        # Without trusted proxies X-Forwarded-For is whatever the client wrote: never believe it.
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    # Entries left of the ones our proxies added were written by the client and may be forged.
    return forwarded[-proxies] if len(forwarded) >= proxies else remote


def lockout_message() -> str:
    """What a locked-out person reads on the login page."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return (
        f"Too many failed log-ins for this account from your address. Log-in is blocked for {minutes} minutes; "
        "try again later, or ask eGov DevOps to unlock the account now."
    )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    """django-axes' answer to a locked-out login: the login page again with the reason, as 429."""
    username = (credentials or {}).get("username", "")
    form = AuthenticationForm(request, initial={"username": username})
    context = {"form": form, "lockout_message": lockout_message(), "next": request.POST.get("next", "")}
    response = TemplateResponse(request, "registration/login.html", context, status=LOCKOUT_STATUS)
    return response.render()


# Swagger UI (drf-spectacular-sidecar) sets inline styles from its own script; its init script is served as a file
# (SpectacularSwaggerSplitView), so only these pages allow inline styles, and never inline scripts.
swagger_csp = csp_update({"style-src": [UNSAFE_INLINE]})
# Redoc has an inline init script and builds its search index in a blob: worker; it gets the looser policy alone.
redoc_csp = csp_update({"script-src": [UNSAFE_INLINE], "style-src": [UNSAFE_INLINE], "worker-src": ["blob:"]})
