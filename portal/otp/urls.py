"""/accounts/otp/: set up an authenticator app, and give its code after the password."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.otp_verify, name="otp-verify"),
    path("setup/", views.otp_setup, name="otp-setup"),
]
