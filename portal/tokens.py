"""Personal API tokens: create (the key is shown once), authenticate, check scopes, revoke.

A token has scopes (`TokenScope`): `read` for GET, `write` for everything else, `tokens` to create and revoke
tokens. Tokens are created from a session (which has passed two-factor where the user owes it: the two-factor gates
see to that) or by a token with the `tokens` scope; such a child never has a scope its parent lacks, never outlives
it, and is revoked with it. No token lives longer than its owner's role allows (PORTICO_API_TOKEN_MAX_DAYS).
"""

from __future__ import annotations

import functools
import hashlib
import math
import secrets
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS, BasePermission

from .auth_backends import model_columns, one_query_per_user, signed_in_user_from, signed_in_user_query
from .choices import TokenScope
from .compiled import CompiledQuery
from .exceptions import Forbidden, NotFound, ValidationFailed
from .models import DEFAULT_TOKEN_SCOPES, ApiToken, User

# MAX_DAYS caps every role's PORTICO_API_TOKEN_MAX_DAYS; DEFAULT_DAYS is the lifetime when none is asked for.
MAX_DAYS, DEFAULT_DAYS = 365, 90
KEY_BYTES = 32
# Recording every use would write on every API call; once per few minutes is enough to see a token is alive.
LAST_USED_RESOLUTION = timedelta(minutes=5)
# The key of PORTICO_API_TOKEN_MAX_DAYS for Django's staff and superusers, and for roles it does not name.
ADMIN_ROLE, DEFAULT_ROLE = "admin", "default"

# Roles are the request domain's; it hands over how to name a user's in its AppConfig.ready(), so the kernel
# imports no domain app.
_role_namers: list[Callable[[User], str]] = []


def api_token_role_register(role_of: Callable[[User], str]) -> None:
    """Add a way to name `user`'s role, by which PORTICO_API_TOKEN_MAX_DAYS limits their tokens' lifetime."""
    if role_of not in _role_namers:
        _role_namers.append(role_of)


def api_token_max_days(user: User) -> int:
    """The longest `user` may keep a token: the shortest of their role's, "admin"'s if they are Django staff, and
    MAX_DAYS. With no role registered, the shortest of all (failing closed)."""
    limits = settings.PORTICO_API_TOKEN_MAX_DAYS
    if not _role_namers:
        return min(MAX_DAYS, *limits.values())
    roles = [str(role_of(user)) for role_of in _role_namers]
    if user.is_staff or user.is_superuser:
        roles.append(ADMIN_ROLE)
    return min(MAX_DAYS, *(limits.get(role, limits[DEFAULT_ROLE]) for role in roles))


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _scopes(requested: Iterable[str] | None, parent: ApiToken | None) -> str:
    """The scopes to grant, checked, as stored: space-separated in TokenScope's order."""
    wanted = set(DEFAULT_TOKEN_SCOPES.split() if requested is None else requested)
    unknown = wanted - set(TokenScope.values)
    if unknown or not wanted:
        message = f"Choose one or more of {', '.join(TokenScope.values)}."
        raise ValidationFailed(message, fields={"scopes": message})
    if parent is not None and not wanted <= set(parent.scope_list):
        message = f"A token can only grant scopes it has itself: {', '.join(parent.scope_list)}."
        raise ValidationFailed(message, fields={"scopes": message})
    return " ".join(scope for scope in TokenScope.values if scope in wanted)


def _expires_at(user: User, days: int | None, parent: ApiToken | None, now: Any) -> Any:
    """When the new token expires: `days` from now, within the role's maximum and before `parent` expires."""
    max_days = api_token_max_days(user)
    if days is None:
        expires_at = now + timedelta(days=min(DEFAULT_DAYS, max_days))
        return min(expires_at, parent.expires_at) if parent is not None else expires_at
    if not 1 <= int(days) <= max_days:
        raise ValidationFailed(
            f"Your tokens live 1 to {max_days} days.", fields={"expires_in_days": f"Choose 1 to {max_days} days."}
        )
    expires_at = now + timedelta(days=int(days))
    if parent is not None and expires_at > parent.expires_at:
        left = math.floor((parent.expires_at - now) / timedelta(days=1))
        message = f"A token cannot outlive the token that creates it, which expires in {left} days or less."
        field = f"Choose at most {left} days." if left >= 1 else "It expires within a day: create one in the browser."
        raise ValidationFailed(message, fields={"expires_in_days": field})
    return expires_at


@transaction.atomic
def api_token_create(
    *,
    user: User,
    name: str,
    expires_in_days: int | None = None,
    scopes: Iterable[str] | None = None,
    parent: ApiToken | None = None,
) -> tuple[ApiToken, str]:
    """A new token for `user`; returns it with the plain key, which is never stored or shown again.

    `parent` is the token the request came with, if any: it needs the `tokens` scope, and the new token gets no
    scope it lacks and expires no later. Without `expires_in_days`, the token lives DEFAULT_DAYS or as long as
    allowed, whichever is shorter; without `scopes`, it can read and write."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("Name the token.", fields={"name": "Say what the token is for."})
    now = timezone.now()
    if parent is not None:
        # Locked, so a revocation running now either sees the new child or is seen by this check.
        parent = ApiToken.objects.select_for_update(of=("self",)).filter(pk=parent.pk, user=user).usable(now).first()
        if parent is None:
            raise Forbidden("The token creating this one is expired or revoked.")
        if not parent.has_scope(TokenScope.TOKENS):
            raise Forbidden("This token may not create tokens: it lacks the “tokens” scope.")
    granted = _scopes(scopes, parent)
    expires_at = _expires_at(user, expires_in_days, parent, now)
    key = f"pt_{secrets.token_hex(KEY_BYTES)}"
    token = ApiToken.objects.create(
        user=user,
        name=name[:100],
        prefix=key[:8],
        key_hash=_hash(key),
        expires_at=expires_at,
        scopes=granted,
        parent=parent,
    )
    return token, key


def api_token_of(*, user: User, token_id: int) -> ApiToken:
    """One of `user`'s own tokens; anyone else's is not found."""
    token = ApiToken.objects.filter(user=user, pk=token_id).first()
    if token is None:
        raise NotFound("No such token.")
    return token


@transaction.atomic
def api_token_revoke(*, user: User, token_id: int) -> ApiToken:
    """Revoke one of `user`'s own tokens and every token created through it (idempotent)."""
    token = ApiToken.objects.select_for_update().filter(user=user, pk=token_id).first()
    if token is None:
        raise NotFound("No such token.")
    now = timezone.now()
    if token.revoked_at is None:
        token.revoked_at = now
        token.save(update_fields=["revoked_at"])
    level = [token.pk]
    while level:  # children, grandchildren, …; a child never outlives its parent, so this is short
        level = list(ApiToken.objects.filter(parent_id__in=level).values_list("pk", flat=True))
        ApiToken.objects.filter(pk__in=level, revoked_at__isnull=True).update(revoked_at=now)
    return token


# Never a real key's hash (those are 64 hex digits) nor a real time; replaced on every call (portal.compiled).
_MARKERS = {"key_hash": "\x00api-token\x00", "now": datetime(1, 1, 1, 0, 0, 0, 17, tzinfo=UTC)}


@functools.cache
def _usable_token_query() -> CompiledQuery:
    return signed_in_user_query(
        lambda key_hash, now: ApiToken.objects.usable(now).filter(key_hash=key_hash),
        user_path="user",
        markers=_MARKERS,
        leading=model_columns(ApiToken),
    )


def api_token_usable(*, key_hash: str, now: datetime) -> ApiToken | None:
    """The unexpired, unrevoked token of an active user with this key hash, with its owner loaded (their vendor,
    permissions and the registered extras too, on PostgreSQL in the same query: every API call asks for them, and
    each was a query of its own). Read afresh on every call, so a revoked token is refused at once."""
    using = ApiToken.objects.db
    if not one_query_per_user(using):
        return ApiToken.objects.usable(now).select_related("user__vendor").filter(key_hash=key_hash).first()
    rows = _usable_token_query().rows(using, key_hash=key_hash, now=now)
    if not rows:
        return None
    width = len(ApiToken._meta.concrete_fields)
    token = ApiToken.from_db(using, model_columns(ApiToken), rows[0][:width])
    token._state.fields_cache["user"] = signed_in_user_from(rows[0][width:], using)
    return token


class ApiTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <key>` (or `Token <key>`); expired, revoked or unknown keys answer 401."""

    keywords = (b"bearer", b"token")

    def authenticate(self, request: Any) -> tuple[User, ApiToken] | None:
        try:
            parts = get_authorization_header(request).split()
        except UnicodeError as exc:  # a header no real WSGI server would pass on, but a client can send
            raise exceptions.AuthenticationFailed("Invalid token header.") from exc
        if not parts or parts[0].lower() not in self.keywords:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Invalid token header: give one key after the keyword.")
        try:
            key = parts[1].decode("ascii")
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed("Invalid token.") from exc
        now = timezone.now()
        token = api_token_usable(key_hash=_hash(key), now=now)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request: Any) -> str:
        return 'Bearer realm="api"'


class TokenScopePermission(BasePermission):
    """A call made with an API token needs the scope for it: `read` for GET, HEAD and OPTIONS, `write` for any
    other method, unless the view's `token_scopes` names another for the method (e.g. {"POST": "tokens"}).
    Session calls are not affected."""

    def has_permission(self, request: Any, view: Any) -> bool:
        token = request.auth
        if not isinstance(token, ApiToken):
            return True
        default = TokenScope.READ if request.method in SAFE_METHODS else TokenScope.WRITE
        needed = getattr(view, "token_scopes", {}).get(request.method, default)
        if token.has_scope(needed):
            return True
        self.message = (
            f"This token's scopes ({', '.join(token.scope_list)}) do not include “{needed}”, which this call needs."
        )
        return False
