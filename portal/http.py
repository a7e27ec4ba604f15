"""What a view behind a login receives, for the type checker: `request.user` is a signed-in `User`.

`login_required` (pages) and `IsAuthenticated` (the API's default permission) guarantee it at run time; these
classes only say so to mypy, which otherwise sees `User | AnonymousUser`. Nothing constructs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest
from rest_framework.request import Request

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails

    from portal.models import User


class AuthenticatedHttpRequest(HttpRequest):
    """A page request from a signed-in user, with django-htmx's `request.htmx` (set by its middleware)."""

    user: User
    htmx: HtmxDetails


class AuthenticatedRequest(Request):
    """An API request from a signed-in user."""

    user: User
