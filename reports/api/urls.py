"""Report API routes, included under /api/v1/reports/."""

from django.urls import path

from .views import ReportMetricsView, ReportSlaView

urlpatterns = [
    path("sla/", ReportSlaView.as_view(), name="reports-sla"),
    path("metrics/", ReportMetricsView.as_view(), name="reports-metrics"),
]
