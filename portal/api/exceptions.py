"""Every API error has one shape: {"error": {"code", "message", "fields"}} with the right 4xx."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError, InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from portal.constants import RETRY_AFTER_SECONDS
from portal.exceptions import PortalError

logger = logging.getLogger(__name__)

CODES = {
    400: "invalid",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    415: "unsupported_media_type",
    429: "throttled",
}


def error_body(*, code: str, message: str, fields: dict[str, list[str]] | None = None, **extra: Any) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}, **extra}}


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {"field": ["message", …]} (nested fields joined with dots)."""
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.update(_flatten(value, "" if name == "non_field_errors" and not prefix else name))
        return out
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return {prefix or "non_field_errors": [str(item) for item in detail]}
        out = {}
        for index, item in enumerate(detail):
            out.update(_flatten(item, f"{prefix}.{index}" if prefix else str(index)))
        return out
    return {prefix or "non_field_errors": [str(detail)]}


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, PortalError):
        return Response(
            error_body(code=exc.code, message=exc.message, fields=exc.fields, **exc.extra), status=exc.status_code
        )
    if isinstance(exc, DjangoValidationError):
        exc = drf.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    elif isinstance(exc, OperationalError | InterfaceError):
        logger.exception("database unavailable")
        return Response(
            error_body(code="unavailable", message="The database is unavailable; try again shortly."),
            status=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    elif isinstance(exc, IntegrityError):
        # A constraint caught what validation could not see in time: somebody else wrote first.
        logger.warning("integrity error turned into 409", exc_info=True)
        return Response(
            error_body(code="conflict", message="This clashes with a change made at the same time; try again."),
            status=409,
        )
    elif isinstance(exc, DataError):
        # Input the serializers should have refused; answer 400, and log it so the gap gets closed.
        logger.warning("data error turned into 400", exc_info=True)
        return Response(error_body(code="invalid", message="A value is not acceptable to the database."), status=400)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, drf.ValidationError):
        fields = _flatten(exc.detail)
        response.data = error_body(code="invalid", message="Please correct the fields listed.", fields=fields)
    else:
        detail = getattr(exc, "detail", str(exc))
        code = CODES.get(response.status_code, getattr(exc, "default_code", "error"))
        response.data = error_body(code=code, message=str(detail))
    return response
