"""Authentication backends."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import Q


class PortalModelBackend(ModelBackend):
    """Django's model backend, reading a user's permissions (own and through groups) in one query, not two.

    Every page and API call asks at least once (the visibility gate), so the second query was paid on each."""

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            if user_obj.is_superuser:
                return super().get_all_permissions(user_obj)
            rows = (
                Permission.objects.filter(Q(user=user_obj) | Q(group__user=user_obj))
                .values_list("content_type__app_label", "codename")
                .order_by()
                .distinct()
            )
            user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in rows}
        return user_obj._perm_cache

    def get_user(self, user_id: Any) -> Any:
        """The session's user with their vendor in the same query: every signed-in page names it (navigation,
        the queue's heading, the visibility gate), which was a query of its own on each request."""
        UserModel = get_user_model()
        try:
            user = UserModel._default_manager.select_related("vendor").get(pk=user_id)
        except UserModel.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None


def permissions_prefetch(users: Iterable[Any]) -> None:
    """Read the permissions of every user in `users` that has not had them read yet, in one query, and remember
    them on each object as `PortalModelBackend.get_all_permissions` does (the same rows: own and through groups):
    checking a notice's recipients asked once per person. Superusers and inactive users are left alone (Django
    answers for them without reading any)."""
    waiting = {
        user.pk: user for user in users if user.is_active and not user.is_superuser and not hasattr(user, "_perm_cache")
    }
    if not waiting:
        return
    for user in waiting.values():
        user._perm_cache = set()
    own = Permission.objects.filter(user__in=list(waiting)).values_list("user", "content_type__app_label", "codename")
    grouped = Permission.objects.filter(group__user__in=list(waiting)).values_list(
        "group__user", "content_type__app_label", "codename"
    )
    for user_id, app_label, codename in own.order_by().union(grouped.order_by()):
        waiting[user_id]._perm_cache.add(f"{app_label}.{codename}")
