"""Single sign-on with OpenID Connect (mozilla-django-oidc): the kernel's half.

It checks what the library leaves to its users (the ID token's issuer and audience, its expiry as a refusal rather
than a 500), finds or creates the Portico user by (issuer, subject) and keeps their name and address current. What
the provider's groups mean in Portico (roles, teams, vendors) is the domain's: `requests_app.sso.SsoBackend`
subclasses this backend and fills in `apply_claims`. Off unless OIDC_RP_CLIENT_ID is set (see the settings).
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import SuspiciousOperation
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.utils import timezone
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from .models import SsoIdentity, User

logger = logging.getLogger(__name__)

REFUSED = "Single sign-on did not work, so you are not logged in. Try again, or ask eGov DevOps if it keeps happening."
USERNAME_MAX = 150
_NOT_IN_USERNAME = re.compile(r"[^\w.@+-]")


class SsoRefused(SuspiciousOperation):
    """The provider's answer cannot sign anyone in (bad token, missing claims, contradictory roles)."""


def _audiences(payload: dict[str, Any]) -> list[str]:
    aud = payload.get("aud")
    return [aud] if isinstance(aud, str) else list(aud or [])


def sso_username(claims: dict[str, Any]) -> str:
    """A free username for a new SSO user: the provider's preferred one when it is free, else it with a suffix
    derived from the subject (so the same person always gets the same fallback)."""
    wanted = claims.get(settings.PORTICO_SSO_USERNAME_CLAIM) or claims.get("email") or claims["sub"]
    base = _NOT_IN_USERNAME.sub("-", str(wanted))[: USERNAME_MAX - 9] or "sso-user"
    if not User.objects.filter(username__iexact=base).exists():
        return base
    suffix = hashlib.sha256(f"{claims['iss']}|{claims['sub']}".encode()).hexdigest()[:8]
    candidate = f"{base}-{suffix}"
    if User.objects.filter(username__iexact=candidate).exists():
        raise SsoRefused(f"no free username for {wanted!r}")
    return candidate


def sso_user_for_claims(claims: dict[str, Any]) -> User:
    """The user linked to (iss, sub); else, if allowed, the one account with the provider-verified address; else a
    new account with no password. Links the identity and refreshes the user's name and address."""
    issuer, subject = claims["iss"], str(claims["sub"])
    identity = SsoIdentity.objects.select_related("user").filter(issuer=issuer, subject=subject).first()
    if identity is not None:
        user = identity.user
    else:
        user = _linkable_user(claims) or _new_user(claims)
        identity = SsoIdentity(user=user, issuer=issuer, subject=subject)
    identity.last_login_at = timezone.now()
    identity.full_clean(validate_unique=False)
    identity.save()
    changed = {
        field: str(claims[claim])[:150]
        for field, claim in (("email", "email"), ("first_name", "given_name"), ("last_name", "family_name"))
        if claims.get(claim) and getattr(user, field) != str(claims[claim])[:150]
    }
    if changed:
        for field, value in changed.items():
            setattr(user, field, value)
        user.save(update_fields=list(changed))
    return user


def _linkable_user(claims: dict[str, Any]) -> User | None:
    # Off by default: at some providers a person sets their own address, and matching on it would hand them
    # whichever local account already uses it.
    email = claims.get("email")
    if not (settings.PORTICO_SSO_LINK_BY_EMAIL and email and claims.get("email_verified") is True):
        return None
    matches = list(User.objects.filter(email__iexact=email, sso_identities__isnull=True)[:2])
    return matches[0] if len(matches) == 1 else None


def _new_user(claims: dict[str, Any]) -> User:
    user = User(username=sso_username(claims), email=str(claims.get("email") or "")[:254])
    user.set_unusable_password()  # they sign in at the provider; a local password would be a second way in
    user.full_clean()
    user.save()
    return user


class PortalOidcBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's backend, with the ID token checks it leaves out and users matched by (iss, sub).

    It only signs people in: permissions are PortalModelBackend's, which answers them in one query."""

    def get_user_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        return set()

    def get_group_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        return set()

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        return set()

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> User | None:
        # Only the callback view calls with a nonce; a password log-in whose URL happens to carry ?code=&state=
        # must not start a code exchange.
        if request is None or "nonce" not in kwargs or "username" in kwargs or "password" in kwargs:
            return None
        return super().authenticate(request, **kwargs)

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
            # Checked before the library looks up a key, so "alg": "none" or a swapped algorithm never gets that far.
            if header.get("alg") != self.OIDC_RP_SIGN_ALGO:
                raise SsoRefused(f"ID token signed with {header.get('alg')!r}, not {self.OIDC_RP_SIGN_ALGO!r}")
            payload = super().verify_token(token, **kwargs)
        except (jwt.PyJWTError, KeyError, ValueError) as exc:  # expired, bad signature, no usable key, garbage
            raise SsoRefused(f"ID token refused: {exc}") from exc
        audiences = _audiences(payload)
        if self.OIDC_RP_CLIENT_ID not in audiences:
            raise SsoRefused(f"ID token is for {audiences!r}, not this client")
        if len(audiences) > 1 and payload.get("azp") != self.OIDC_RP_CLIENT_ID:
            raise SsoRefused("ID token has several audiences and was not issued to this client")
        if payload.get("iss") != settings.OIDC_OP_ISSUER:
            raise SsoRefused(f"ID token issued by {payload.get('iss')!r}, not {settings.OIDC_OP_ISSUER!r}")
        if not payload.get("sub"):
            raise SsoRefused("ID token has no subject")
        return payload

    def get_userinfo(self, access_token: str, id_token: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The verified ID token's claims, with the userinfo endpoint's on top when there is one."""
        claims = dict(payload)
        if self.OIDC_OP_USER_ENDPOINT:
            info = super().get_userinfo(access_token, id_token, payload)
            if str(info.get("sub")) != str(payload["sub"]):
                raise SsoRefused("userinfo describes another subject than the ID token")
            claims.update(info)
        claims["iss"], claims["sub"] = payload["iss"], payload["sub"]  # the identity comes from the signed token
        return claims

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        return bool(claims.get("sub") and claims.get("iss"))

    @transaction.atomic
    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> User:
        claims = self.get_userinfo(access_token, id_token, payload)
        if not self.verify_claims(claims):
            raise SsoRefused("claims lack a subject or issuer")
        user = sso_user_for_claims(claims)
        self.apply_claims(user, claims)
        return user

    def apply_claims(self, user: User, claims: dict[str, Any]) -> None:
        """Give `user` what the claims grant; raise SsoRefused to refuse the log-in. The domain fills this in."""


class SsoLoginView(OIDCAuthenticationRequestView):
    """Send the browser to the provider (state, nonce and PKCE kept in the session); 404 while SSO is off."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not settings.PORTICO_SSO_ENABLED:
            raise Http404("Single sign-on is not configured.")
        return super().get(request)


class SsoCallbackView(OIDCAuthenticationCallbackView):
    """The provider sends the browser back here with a code; any refusal ends on the log-in page with a message."""

    @property
    def failure_url(self) -> str:
        return resolve_url(settings.LOGIN_URL)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not settings.PORTICO_SSO_ENABLED:
            raise Http404("Single sign-on is not configured.")
        try:
            return super().get(request)
        except (SuspiciousOperation, requests.RequestException, IntegrityError) as exc:
            # A forged or replayed callback, a token that fails its checks, a provider that is down, or the same new
            # person's first log-in racing in two tabs (the unique subject or username): none is a 500.
            logger.warning("Single sign-on refused: %s", exc)
            return self.login_failure()

    def login_failure(self) -> HttpResponse:
        messages.error(self.request, REFUSED)
        return HttpResponseRedirect(self.failure_url)
