"""Template context every page needs: the viewer's role for the navigation."""

from __future__ import annotations

from django.http import HttpRequest

from .roles import Role, role_of


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "viewer_role": role_of(user),
        "Role": Role,
        # Filing is for members of an implementation team; the callable keeps the query lazy.
        "viewer_can_file": lambda: not user.vendor_id and user.teams.exists(),
    }
