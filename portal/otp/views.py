"""The two-factor pages: set up an authenticator app, and give its code after the password."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login

from portal.exceptions import ValidationFailed
from portal.forms import apply_portal_error
from portal.http import AuthenticatedHttpRequest

from .forms import OtpTokenForm
from .middleware import is_verified
from .services import (
    otp_check,
    otp_confirmed_device,
    otp_enforced_for,
    otp_secret,
    otp_setup_confirm,
    otp_setup_device,
    otp_setup_key,
)

SETUP_KEY = "portico_otp_setup_key"


def _next_url(request: HttpRequest) -> str:
    """Where to go afterwards: `next` if it stays on this site, else the home page."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


@login_required
@require_http_methods(["GET", "POST"])
def otp_verify(request: AuthenticatedHttpRequest) -> HttpResponse:
    """After the password: the current code from the person's authenticator app verifies this session."""
    next_url = _next_url(request)
    if is_verified(request.user):
        return redirect(next_url)
    if otp_confirmed_device(request.user) is None:
        if otp_enforced_for(request.user):
            return redirect(f"{resolve_url('otp-setup')}?{urlencode({'next': next_url})}")
        return redirect(next_url)  # nothing to verify
    form = OtpTokenForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                device = otp_check(user=request.user, token=form.cleaned_data["token"])
            except ValidationFailed as exc:
                apply_portal_error(form, exc)
            else:
                otp_login(request, device)
                return redirect(next_url)
    return render(request, "registration/otp_verify.html", {"form": form, "next": next_url}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def otp_setup(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Turn on two-factor: shows the otpauth:// link and the secret to type in, then checks one code."""
    next_url = _next_url(request)
    if otp_confirmed_device(request.user) is not None:
        return render(request, "registration/otp_setup.html", {"enabled": True, "next": next_url})
    # The key waits in the session, so reloading the page keeps the secret and nothing is saved until confirmed.
    key = request.session.setdefault(SETUP_KEY, otp_setup_key())
    form = OtpTokenForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                device = otp_setup_confirm(user=request.user, key=key, token=form.cleaned_data["token"])
            except ValidationFailed as exc:
                apply_portal_error(form, exc)
            else:
                del request.session[SETUP_KEY]
                otp_login(request, device)
                messages.success(request, "Two-factor log-in is on. Next time, Portico asks for a code.")
                return redirect(next_url)
    device = otp_setup_device(user=request.user, key=key)
    context = {
        "form": form,
        "next": next_url,
        "enabled": False,
        "config_url": device.config_url,
        "secret": otp_secret(device),
        "required": otp_enforced_for(request.user),
    }
    return render(request, "registration/otp_setup.html", context, status=status)
