"""API routes for automation runs, included under /api/v1/."""

from django.urls import path

from . import views

urlpatterns = [
    path("requests/<str:reference>/runs/", views.RequestRunListView.as_view(), name="request-runs"),
    path("requests/<str:reference>/plan/", views.RequestPlanView.as_view(), name="request-plan"),
    path(
        "requests/<str:reference>/runs/<int:run_id>/retry/",
        views.RequestRunRetryView.as_view(),
        name="request-run-retry",
    ),
    path(
        "requests/<str:reference>/runs/<int:run_id>/cancel/",
        views.RequestRunCancelView.as_view(),
        name="request-run-cancel",
    ),
    path(
        "requests/<str:reference>/runs/<int:run_id>/resume/",
        views.RequestRunResumeView.as_view(),
        name="request-run-resume",
    ),
]
