"""Who must give a TOTP code after the password, and the writes that set up and check an authenticator app."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Exists, OuterRef
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice, default_key

from portal.auth_backends import SignedInUserExtra
from portal.exceptions import ValidationFailed
from portal.models import User

DEVICE_NAME = "Authenticator app"
WRONG_CODE = "That code is not right, or it was already used. Enter the current code from your app."

# Who PORTICO_REQUIRE_OTP_FOR_STAFF covers is a domain rule (the request domain says: those who see and steer every
# request); the domain hands it over in its AppConfig.ready(), so the kernel imports no domain app.
_staff_rules: list[Callable[[User], bool]] = []


def otp_staff_rule_register(rule: Callable[[User], bool]) -> None:
    """Add a test of whether `user` is staff, for whom PORTICO_REQUIRE_OTP_FOR_STAFF makes two-factor mandatory."""
    if rule not in _staff_rules:
        _staff_rules.append(rule)


def otp_enforced_for(user: User) -> bool:
    """True when the staff rule makes two-factor mandatory for `user`, device or not: Django's own staff (the admin
    site's users and superusers) and whoever a registered rule names (the program manager, eGov DevOps)."""
    if not settings.PORTICO_REQUIRE_OTP_FOR_STAFF:
        return False
    if not _staff_rules:  # fail closed: the setting is on but no app said who staff are
        raise ImproperlyConfigured("PORTICO_REQUIRE_OTP_FOR_STAFF is on, but no app registered who staff are.")
    return user.is_staff or user.is_superuser or any(rule(user) for rule in _staff_rules)


def otp_confirmed_device(user: User) -> TOTPDevice | None:
    """`user`'s confirmed authenticator, if they set one up."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def _confirmed_devices(user: Any) -> Any:
    return TOTPDevice.objects.filter(user=user, confirmed=True)


def otp_has_confirmed_device(user: User) -> bool:
    """Whether `user` has a confirmed authenticator: read with the signed-in user (`portal.auth_backends`, the
    extra below), else asked here. Every page asked it in a query of its own (`OtpRequiredMiddleware`)."""
    primed = getattr(user, "_otp_confirmed_cache", None)
    if primed is not None:
        return bool(primed)
    return _confirmed_devices(user).exists()


def _prime_confirmed(user: Any, value: Any) -> None:
    user._otp_confirmed_cache = bool(value)


# Fetched in the query that loads a signed-in user (by session or token), as the domain's team ids are.
OTP_SIGNED_IN_USER_EXTRA = SignedInUserExtra(
    "otp_confirmed", lambda user_id: Exists(_confirmed_devices(OuterRef(user_id))), _prime_confirmed
)


def otp_required(user: User) -> bool:
    """True when `user` must give a TOTP code before using the portal: they have a confirmed authenticator,
    or the staff rule applies to them."""
    if not user.is_authenticated:
        return False
    return otp_enforced_for(user) or otp_has_confirmed_device(user)


def otp_secret(device: TOTPDevice) -> str:
    """The device's key in base32, as authenticator apps expect it when typed in by hand."""
    return base64.b32encode(device.bin_key).decode("ascii").rstrip("=")


def otp_setup_device(*, user: User, key: str) -> TOTPDevice:
    """An authenticator for `user` with the hex `key`, not saved: what the set-up page describes."""
    return TOTPDevice(user=user, name=DEVICE_NAME, key=key, confirmed=False)


def otp_setup_key() -> str:
    """A fresh random TOTP key (hex), kept in the session until the person confirms it."""
    return default_key()


@transaction.atomic
def otp_setup_confirm(*, user: User, key: str, token: str) -> TOTPDevice:
    """Turn on two-factor for `user` once they prove their app, set up with `key`, shows the right code."""
    if otp_confirmed_device(user) is not None:
        raise ValidationFailed("Two-factor log-in is already on.", fields={"token": "It is already on."})
    device = otp_setup_device(user=user, key=key)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    if not (token.isdigit() and totp.verify(int(token), device.tolerance)):
        raise ValidationFailed(WRONG_CODE, fields={"token": WRONG_CODE})
    # Remember the step just used, so the same code cannot log in again (as TOTPDevice.verify_token does).
    device.last_t, device.drift, device.confirmed = totp.t(), totp.drift, True
    device.full_clean()
    device.save()
    return device


def otp_check(*, user: User, token: str) -> TOTPDevice:
    """The confirmed device that accepts `token` for `user`; refused codes are throttled by django-otp."""
    device = otp_confirmed_device(user)
    if device is None:
        raise ValidationFailed("Set up an authenticator first.", fields={"token": "No authenticator is set up."})
    allowed, _ = device.verify_is_allowed()
    if not allowed:
        message = "Too many wrong codes in a row. Wait a few seconds, then enter the current code."
        raise ValidationFailed(message, fields={"token": message})
    # Not in one transaction: a refused code must still count towards django-otp's throttle.
    if not device.verify_token(token):
        raise ValidationFailed(WRONG_CODE, fields={"token": WRONG_CODE})
    return device
