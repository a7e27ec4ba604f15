"""Report pages: the dashboard, the weekly report and its CSV and PDF, the delivery metrics."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.report_dashboard_page, name="reports-dashboard"),
    path("weekly/", views.report_weekly_page, name="reports-weekly"),
    path("weekly.csv", views.report_weekly_csv, name="reports-weekly-csv"),
    path("weekly-breaches.csv", views.report_weekly_breaches_csv, name="reports-weekly-breaches-csv"),
    path("weekly-incidents.csv", views.report_weekly_incidents_csv, name="reports-weekly-incidents-csv"),
    path("weekly.pdf", views.report_weekly_pdf, name="reports-weekly-pdf"),
    path("metrics/", views.report_metrics_page, name="reports-metrics"),
]
