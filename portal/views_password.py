"""Local accounts' passwords: reset by e-mail and change; Django's views with Portico's limits and links.

Single sign-on users have no local password: Django sends them no reset e-mail, and the change page says where
their password lives instead."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.http import HttpResponse
from django.urls import reverse_lazy

from .ratelimit import rate_limit_hit
from .security import client_ip

TOO_MANY = "Too many password-reset requests. Wait an hour and try again, or ask eGov DevOps for help."
TOO_MANY_CHANGES = "Too many password changes in a short time. Wait 15 minutes and try again."
RATE_WINDOW = timedelta(hours=1)
CHANGE_LIMIT = 5
CHANGE_WINDOW = timedelta(minutes=15)
TOO_MANY_STATUS = 429


class PasswordResetView(auth_views.PasswordResetView):
    """Ask for a reset link. The answer is the same whether or not the address has an account; both limits count
    every request, so being refused says nothing about the address either."""

    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        address = form.cleaned_data["email"].strip().lower()
        ip = client_ip(self.request)
        per_ip = rate_limit_hit(
            f"password-reset:ip:{ip}", limit=settings.PORTICO_PASSWORD_RESET_PER_IP, window=RATE_WINDOW
        )
        per_address = rate_limit_hit(
            f"password-reset:email:{address}", limit=settings.PORTICO_PASSWORD_RESET_PER_ADDRESS, window=RATE_WINDOW
        )
        if not (per_ip and per_address):
            form.add_error(None, TOO_MANY)
            return self.render_to_response(self.get_context_data(form=form), status=TOO_MANY_STATUS)
        # The link is built on the configured address, never on the Host header a stranger sent.
        self.extra_email_context = {"portal_base_url": settings.PORTAL_BASE_URL.rstrip("/")}
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """The link from the e-mail: choose a new password. The link stops working once the password changed."""

    success_url = reverse_lazy("password_reset_complete")


class PasswordChangeView(auth_views.PasswordChangeView):
    """Change my password, giving the current one; a few tries per quarter hour, so a borrowed session cannot
    guess it."""

    success_url = reverse_lazy("password_change_done")

    def post(self, request: Any, *args: Any, **kwargs: Any) -> HttpResponse:
        if not rate_limit_hit(f"password-change:user:{request.user.pk}", limit=CHANGE_LIMIT, window=CHANGE_WINDOW):
            # Refused before the form is read: the answer must not tell whether the current password was right.
            context = self.get_context_data(form=self.get_form_class()(user=request.user), limit_error=TOO_MANY_CHANGES)
            return self.render_to_response(context, status=TOO_MANY_STATUS)
        return super().post(request, *args, **kwargs)
