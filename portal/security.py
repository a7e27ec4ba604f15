"""Login protection (django-axes hooks) and the relaxed Content-Security-Policy of the API's documentation pages."""

from __future__ import annotations

from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_lockout_parameters
from axes.models import AccessAttempt
from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Sum
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


def login_failure_limit(parameters: str | list[str] | tuple[str, ...]) -> int:
    """The failures that lock out one of AXES_LOCKOUT_PARAMETERS' counts (see the settings' Security section)."""
    names = frozenset([parameters] if isinstance(parameters, str) else parameters)
    if names == {"username"}:
        return settings.PORTICO_LOGIN_USERNAME_FAILURE_LIMIT
    if names == {"ip_address"}:
        return settings.PORTICO_LOGIN_IP_FAILURE_LIMIT
    return settings.AXES_FAILURE_LIMIT


class LoginThrottleHandler(AxesDatabaseHandler):
    """django-axes' database handler with a limit of its own for each count in AXES_LOCKOUT_PARAMETERS (per username
    and address, per username, per address), where axes has one limit for all; and a successful log-in forgives
    only that username's failures, so logging in to one's own account does not clear an address's count."""

    def get_failures(self, request: Any, credentials: dict | None = None) -> int:
        # axes locks out when this reaches AXES_FAILURE_LIMIT. Each count is shifted by how far its own limit lies
        # from that one, so the comparison holds exactly when some count reaches its own limit.
        counts = [
            attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        ]
        parameters = get_lockout_parameters(request, credentials)
        return max(
            count - login_failure_limit(names) + settings.AXES_FAILURE_LIMIT
            for count, names in zip(counts, parameters, strict=True)
        )

    def reset_user_attempts(self, request: Any, credentials: dict | None = None) -> int:
        username = get_client_username(request, credentials)
        count, _ = AccessAttempt.objects.filter(username=username).delete()
        return count


def lockout_message() -> str:
    """What a locked-out person reads on the login page."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return (
        f"Too many failed log-ins for this account or from your address. Log-in is blocked for {minutes} minutes; "
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
