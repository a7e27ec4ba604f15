"""Browser endpoints of the runs panel (htmx partials that also work as plain forms)."""

from django.urls import path

from . import views

urlpatterns = [
    path("requests/<str:reference>/runs/", views.request_runs, name="provisioning-runs"),
    path("requests/<str:reference>/runs/<int:run_id>/retry/", views.request_run_retry, name="provisioning-run-retry"),
    path(
        "requests/<str:reference>/runs/<int:run_id>/cancel/", views.request_run_cancel, name="provisioning-run-cancel"
    ),
    path(
        "requests/<str:reference>/runs/<int:run_id>/resume/", views.request_run_resume, name="provisioning-run-resume"
    ),
]
