"""The report API: parse the query, call the selector, render it."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.plain import plain_representer
from portal.api.schema import error_responses
from portal.http import AuthenticatedRequest

from ..metrics import delivery_metrics
from ..selectors import report_week_default, report_weekly
from .serializers import (
    DeliveryMetricsSerializer,
    MetricsQuerySerializer,
    ReportQuerySerializer,
    WeeklyReportSerializer,
)

# The report's JSON written directly, as its serializer would (a thousand breaches: `portal/api/plain.py`).
WEEKLY_REPORT = plain_representer(WeeklyReportSerializer)
DELIVERY_METRICS = plain_representer(DeliveryMetricsSerializer)


class ReportSlaView(APIView):
    """The weekly SLA report as JSON; vendor leads get their own vendor's, requesters and engineers none."""

    @extend_schema(
        operation_id="reports_sla_retrieve",
        summary="Weekly SLA report",
        parameters=[ReportQuerySerializer],
        responses={200: WeeklyReportSerializer, **error_responses(400, 401, 403)},
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        query = ReportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        report = report_weekly(
            user=request.user,
            week=params.get("week") or report_week_default(),
            vendor=params.get("vendor") or None,
            environment=params.get("environment") or None,
            priority=params.get("priority") or None,
            request_type=params.get("type") or None,
        )
        return Response(WEEKLY_REPORT(report))


class ReportMetricsView(APIView):
    """Delivery metrics (MTTA, MTTR, MTTD, incident SLA attainment, DORA keys, load, trends) for a date range."""

    @extend_schema(
        operation_id="reports_metrics_retrieve",
        summary="Delivery metrics",
        parameters=[MetricsQuerySerializer],
        responses={200: DeliveryMetricsSerializer, **error_responses(400, 401, 403)},
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        query = MetricsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        metrics = delivery_metrics(
            user=request.user,
            date_from=params.get("from") or None,
            date_to=params.get("to") or None,
            vendor=params.get("vendor") or None,
            environment=params.get("environment") or None,
            priority=params.get("priority") or None,
            request_type=params.get("type") or None,
        )
        return Response(DELIVERY_METRICS(metrics))
