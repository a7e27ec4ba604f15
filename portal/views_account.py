"""The signed-in user's own pages: personal API tokens (create, with the key shown once; revoke)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from .exceptions import NotFound, ValidationFailed
from .forms import ApiTokenForm, TimezoneForm, apply_portal_error
from .http import AuthenticatedHttpRequest
from .models import ApiToken
from .timefmt import format_time, user_timezone_set
from .tokens import api_token_create, api_token_max_days, api_token_of, api_token_revoke


def _status(token: ApiToken, now: datetime) -> str:
    if token.revoked_at:
        return "revoked"
    return "expired" if token.expires_at <= now else "active"


def _revoke_consequence(token: ApiToken) -> str:
    """What revoking does, in the words both the dialog and the no-script confirmation page use."""
    return (
        f"Scripts and pipelines using “{token.name}” stop working at once, and so do the tokens created with it. "
        "This cannot be undone."
    )


def _list(request: AuthenticatedHttpRequest, form: ApiTokenForm) -> HttpResponse:
    now = timezone.now()
    rows = [
        {"token": token, "status": _status(token, now), "consequence": _revoke_consequence(token)}
        for token in request.user.api_tokens.all()
    ]
    return render(request, "account/apitoken_list.html", {"form": form, "rows": rows})


@never_cache  # the POST answer carries the only copy of a key: no cache may keep it
@login_required
@require_http_methods(["GET", "POST"])
def account_tokens(request: AuthenticatedHttpRequest) -> HttpResponse:
    """GET: my tokens and the form. POST: create one and show its key, once, on the page answering the POST.

    The two-factor gate (portal.otp.middleware) keeps a session that owes its code away from this page."""
    form = ApiTokenForm(request.POST or None, max_days=api_token_max_days(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            token, key = api_token_create(user=request.user, **form.cleaned_data)
        except ValidationFailed as exc:
            apply_portal_error(form, exc)
        else:
            return render(request, "account/apitoken_created.html", {"token": token, "key": key})
    return _list(request, form)


@login_required
@require_http_methods(["GET", "POST"])
def account_token_revoke(request: AuthenticatedHttpRequest, token_id: int) -> HttpResponse:
    """Revoke one of my tokens; anyone else's is not found. It asks first, like cancel, reject and deny: a GET, or a
    POST without `confirmed` (no JavaScript to open the dialog), shows a page saying what revoking does."""
    try:
        token = api_token_of(user=request.user, token_id=token_id)
        if request.method == "GET" or request.POST.get("confirmed") != "yes":
            context = {
                "token": token,
                "status": _status(token, timezone.now()),
                "consequence": _revoke_consequence(token),
            }
            return render(request, "account/apitoken_revoke.html", context)
        token = api_token_revoke(user=request.user, token_id=token_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    messages.success(request, f"Token “{token.name}” ({token.prefix}…) is revoked; it no longer works.")
    return redirect("account-tokens")


@login_required
@require_http_methods(["GET", "POST"])
def account_timezone(request: AuthenticatedHttpRequest) -> HttpResponse:
    """GET: my time-zone preference. POST: change it (PRG)."""
    form = TimezoneForm(
        request.POST or None, initial={"timezone": request.user.timezone}, default_zone=settings.TIME_ZONE
    )
    if request.method == "POST" and form.is_valid():
        user = user_timezone_set(request.user, name=form.cleaned_data["timezone"])
        zone = user.timezone or settings.TIME_ZONE
        messages.success(request, f"Times are now shown in {zone}: it is {format_time(timezone.now(), tz=zone)}.")
        return redirect("account-timezone")
    return render(request, "account/timezone.html", {"form": form, "now": timezone.now()})
