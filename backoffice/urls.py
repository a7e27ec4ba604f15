from django.urls import path

from . import views
from .onboarding import views as onboarding

urlpatterns = [
    path("manage/", views.index, name="backoffice-home"),
    path("manage/history/", views.history, name="backoffice-history"),
    path("manage/onboarding/", onboarding.onboarding_board_page, name="backoffice-onboarding"),
    path(
        "manage/onboarding/<slug:vendor>/<slug:environment>/",
        onboarding.onboarding_detail,
        name="backoffice-onboarding-detail",
    ),
    path(
        "manage/onboarding/<slug:vendor>/<slug:environment>/move/",
        onboarding.onboarding_move_page,
        name="backoffice-onboarding-move",
    ),
    path(
        "manage/onboarding/<slug:vendor>/<slug:environment>/checklist/",
        onboarding.onboarding_tick_page,
        name="backoffice-onboarding-tick",
    ),
    path(
        "manage/onboarding/<slug:vendor>/<slug:environment>/revoke/",
        onboarding.onboarding_revoke_page,
        name="backoffice-onboarding-revoke",
    ),
    path(
        "manage/onboarding/<slug:vendor>/<slug:environment>/history/<int:step>/document/",
        onboarding.onboarding_document,
        name="backoffice-onboarding-document",
    ),
]
