from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views, views_account, views_password
from .metrics import metrics_view
from .sso import SsoCallbackView, SsoLoginView

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    # Browsers ask for /favicon.ico on their own (feeds, bookmarks, pages without the <link rel=icon>).
    path("favicon.ico", views.favicon, name="favicon"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/otp/", include("portal.otp.urls")),
    path("accounts/sso/login/", SsoLoginView.as_view(), name="sso-login"),
    path("accounts/sso/callback/", SsoCallbackView.as_view(), name="sso-callback"),
    path("accounts/password/reset/", views_password.PasswordResetView.as_view(), name="password_reset"),
    path("accounts/password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        views_password.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"
    ),
    path("account/password/", views_password.PasswordChangeView.as_view(), name="password_change"),
    path("account/password/changed/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("account/tokens/", views_account.account_tokens, name="account-tokens"),
    path("account/time-zone/", views_account.account_timezone, name="account-timezone"),
    path("account/tokens/<int:token_id>/revoke/", views_account.account_token_revoke, name="account-token-revoke"),
    path("api/", include("portal.api_urls")),
    path("reports/", include("reports.urls")),
    path("", include("conversations.urls")),
    path("desk/", include("desk.urls")),
    path("", include("attachments.urls")),
    path("", include("canned.urls")),
    path("", include("backoffice.urls")),
    path("", include("announcements.urls")),
    path("", include("incidents.urls")),
    path("", include("inbound.urls")),
    path("", include("requests_app.urls")),
    path("", include("provisioning.urls")),
]
