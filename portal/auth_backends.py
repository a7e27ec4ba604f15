"""Authentication backends, and the one query that loads a signed-in user with what every request asks of them."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import connections, router
from django.db.models import Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Concat

from .compiled import CompiledForIds, CompiledQuery


@dataclass(frozen=True)
class SignedInUserExtra:
    """Something a domain app reads about every signed-in user, fetched in the query that loads the user.

    `expression(user_id)` is a PostgreSQL expression over the outer query's column `user_id` (an `OuterRef` path);
    `prime(user, value)` keeps its value on the user object, where the app's own accessor finds it."""

    name: str
    expression: Callable[[str], Any]
    prime: Callable[[Any, Any], None]


# Registered in AppConfig.ready(), so the kernel imports no domain app; frozen once a query reading them is built.
_extras: list[SignedInUserExtra] = []
_frozen = False


def signed_in_user_extra_register(extra: SignedInUserExtra) -> None:
    """Add `extra` to the query that loads a signed-in user (by token or session)."""
    if any(existing.name == extra.name for existing in _extras):
        return
    if _frozen:
        raise RuntimeError("register signed-in user extras in AppConfig.ready(), before the first request")
    _extras.append(extra)


def _permission_names(user_id: str) -> Any:
    """A user's permissions ("app_label.codename"), their own and their groups', as one array (PostgreSQL)."""
    from django.contrib.postgres.expressions import ArraySubquery

    user_model = get_user_model()
    own = user_model.user_permissions.through.objects.filter(
        permission_id=OuterRef("pk"), user_id=OuterRef(OuterRef(user_id))
    )
    grouped = Permission.group_set.through.objects.filter(
        permission_id=OuterRef("pk"), group__user=OuterRef(OuterRef(user_id))
    )
    names = Permission.objects.filter(Exists(own) | Exists(grouped)).order_by()
    named = names.annotate(perm=Concat("content_type__app_label", Value("."), "codename"))
    return ArraySubquery(named.values("perm"))


def model_columns(model: Any) -> list[str]:
    """The attribute names of `model`'s columns, in the order `Model.from_db` takes them."""
    return [field.attname for field in model._meta.concrete_fields]


def _vendor_model() -> Any:
    return get_user_model()._meta.get_field("vendor").related_model


def signed_in_user_query(
    build: Callable[..., Any], *, user_path: str, markers: dict[str, Any], leading: Sequence[str] = ()
) -> CompiledQuery:
    """The compiled query of `build(**markers)` (a queryset of users, or of a model that points at one through
    `user_path`) reading the `leading` columns, then the user's, their vendor's, their permissions and every
    registered extra; `signed_in_user_from` makes the user of a row of it."""
    global _frozen
    _frozen = True
    user_model = get_user_model()
    prefix = f"{user_path}__" if user_path else ""

    def query(**values: Any) -> Any:
        columns = [*leading, *(f"{prefix}{name}" for name in model_columns(user_model))]
        columns += [f"{prefix}vendor__{name}" for name in model_columns(_vendor_model())]
        expressions = [_permission_names(f"{prefix}id"), *(extra.expression(f"{prefix}id") for extra in _extras)]
        return build(**values).order_by().values_list(*columns, *expressions)

    return CompiledQuery(query, markers)


def signed_in_user_from(row: Sequence[Any], using: str) -> Any:
    """The user of (the rest of) a row of a `signed_in_user_query`, with their vendor, permissions and extras kept
    on it, so none of them is read again in this request."""
    user_model, vendor_model = get_user_model(), _vendor_model()
    user_width, vendor_width = len(user_model._meta.concrete_fields), len(vendor_model._meta.concrete_fields)
    user = user_model.from_db(using, model_columns(user_model), row[:user_width])
    vendor_values = row[user_width : user_width + vendor_width]
    vendor = vendor_model.from_db(using, model_columns(vendor_model), vendor_values) if user.vendor_id else None
    user._state.fields_cache["vendor"] = vendor
    permissions, *extras = row[user_width + vendor_width :]
    if user.is_active and not user.is_superuser:  # a superuser has every permission: Django's backend lists them
        user._perm_cache = set(permissions)  # type: ignore[attr-defined]  # ModelBackend's own cache
    for extra, value in zip(_extras, extras, strict=True):
        extra.prime(user, value)
    return user


def one_query_per_user(using: str) -> bool:
    """Whether a signed-in user comes with their permissions and extras in one query (PostgreSQL's arrays);
    elsewhere (SQLite, the embedded default) each is read when first asked for."""
    return connections[using].vendor == "postgresql"


@functools.cache
def _session_user_query() -> CompiledQuery:
    user_model = get_user_model()
    # The marker is an id no user has; it is replaced by the session's on every call.
    return signed_in_user_query(
        lambda pk: user_model._default_manager.filter(pk=pk), user_path="", markers={"pk": -(2**62) + 17}
    )


class PortalModelBackend(ModelBackend):
    """Django's model backend, reading a user's permissions (own and through groups) in one query, not two; the
    session's user comes with them, their vendor and the registered extras in a single query on PostgreSQL.

    Every page and API call asks at least once (the visibility gate), so each query was paid on each."""

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
        """The session's user with their vendor (and, on PostgreSQL, permissions and extras) in the same query:
        every signed-in page names the vendor and asks for permissions, each a query of its own on each request."""
        UserModel = get_user_model()
        using = UserModel._default_manager.db
        if one_query_per_user(using):
            try:
                pk = UserModel._meta.pk.to_python(user_id)
            except ValidationError:  # a session with a mangled id is simply not signed in
                return None
            rows = _session_user_query().rows(using, pk=pk)
            user = signed_in_user_from(rows[0], using) if rows else None
        else:
            try:
                user = UserModel._default_manager.select_related("vendor").get(pk=user_id)
            except UserModel.DoesNotExist:
                return None
        return user if user is not None and self.user_can_authenticate(user) else None


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
    # Compiled once per number of people (portal.compiled): building the union was most of this read's CPU.
    for user_id, app_label, codename in _permissions_query().rows(list(waiting), router.db_for_read(Permission)):
        waiting[user_id]._perm_cache.add(f"{app_label}.{codename}")


def _permissions_of(user_ids: list[int]) -> QuerySet[Any, Any]:
    own = Permission.objects.filter(user__in=user_ids).values_list("user", "content_type__app_label", "codename")
    grouped = Permission.objects.filter(group__user__in=user_ids).values_list(
        "group__user", "content_type__app_label", "codename"
    )
    return own.order_by().union(grouped.order_by())


@functools.cache
def _permissions_query() -> CompiledForIds:
    return CompiledForIds(_permissions_of)
