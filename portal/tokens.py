"""Personal API tokens: create (the key is shown once), authenticate, revoke."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from .exceptions import NotFound, ValidationFailed
from .models import ApiToken, User

MAX_DAYS, DEFAULT_DAYS = 365, 90
KEY_BYTES = 32
# Recording every use would write on every API call; once per few minutes is enough to see a token is alive.
LAST_USED_RESOLUTION = timedelta(minutes=5)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user: User, name: str, expires_in_days: int = DEFAULT_DAYS) -> tuple[ApiToken, str]:
    """A new token for `user`; returns it with the plain key, which is never stored or shown again."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("Name the token.", fields={"name": "Say what the token is for."})
    if not 1 <= int(expires_in_days) <= MAX_DAYS:
        raise ValidationFailed(
            "Tokens live 1 to 365 days.", fields={"expires_in_days": f"Choose 1 to {MAX_DAYS} days."}
        )
    key = f"pt_{secrets.token_hex(KEY_BYTES)}"
    token = ApiToken.objects.create(
        user=user,
        name=name[:100],
        prefix=key[:8],
        key_hash=_hash(key),
        expires_at=timezone.now() + timedelta(days=int(expires_in_days)),
    )
    return token, key


def api_token_revoke(*, user: User, token_id: int) -> ApiToken:
    """Revoke one of `user`'s own tokens (idempotent)."""
    token = ApiToken.objects.filter(user=user, pk=token_id).first()
    if token is None:
        raise NotFound("No such token.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
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
        token = ApiToken.objects.usable(now).select_related("user").filter(key_hash=_hash(key)).first()
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request: Any) -> str:
        return 'Bearer realm="api"'
