"""Session authentication for the API that refuses sessions still owing their TOTP code."""

from __future__ import annotations

from typing import Any

from drf_spectacular.authentication import SessionScheme
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication

from .middleware import is_verified
from .services import otp_required


class OtpSessionAuthentication(SessionAuthentication):
    """DRF's session authentication, but a session that has not given its TOTP code gets 403 (tokens are
    separate credentials and are not affected)."""

    def authenticate(self, request: Any) -> Any:
        result = super().authenticate(request)
        if result is None:
            return None
        user = result[0]
        if not is_verified(request._request.user) and otp_required(user):
            raise exceptions.PermissionDenied("Enter your two-factor code in the browser first (/accounts/otp/).")
        return result


class OtpSessionScheme(SessionScheme):
    """In the OpenAPI schema this is the ordinary session cookie."""

    target_class = "portal.otp.authentication.OtpSessionAuthentication"
