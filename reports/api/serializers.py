"""The weekly report in JSON: serializers that describe the selector's dataclasses (read-only)."""

from __future__ import annotations

from rest_framework import serializers

from requests_app.catalogue import TYPE_CHOICES
from requests_app.choices import Priority

from ..selectors import FIGURES


class ReportQuerySerializer(serializers.Serializer):
    """Query parameters of the report endpoint (the selector checks that the week, vendor and environment exist)."""

    week = serializers.CharField(
        required=False, allow_blank=True, help_text="ISO week, e.g. 2026-W47; default: last week."
    )
    vendor = serializers.CharField(required=False, allow_blank=True, help_text="Vendor slug.")
    environment = serializers.CharField(required=False, allow_blank=True, help_text="Environment code.")
    priority = serializers.ChoiceField(choices=Priority.choices, required=False, allow_blank=True)
    type = serializers.ChoiceField(choices=TYPE_CHOICES, required=False, allow_blank=True)


def _figure_field(name: str) -> serializers.Field:
    if name.endswith(("_p50", "_p90")):
        return serializers.FloatField(allow_null=True, help_text="Seconds.")
    if name.endswith("_compliance"):
        return serializers.FloatField(allow_null=True, help_text="Percent; null when no clock was met or breached.")
    if name == "open_per_engineer":
        return serializers.FloatField(allow_null=True)
    if name == "csat_average":
        return serializers.FloatField(allow_null=True, help_text="Average rating 1–5; null when nobody rated.")
    return serializers.IntegerField()


FiguresSerializer = type(
    "FiguresSerializer",
    (serializers.Serializer,),
    {
        "__doc__": "The figures of one slice for one week (durations in seconds, compliance in percent).",
        **{name: _figure_field(name) for name in FIGURES},
    },
)
ChangeSerializer = type(
    "ChangeSerializer",
    (serializers.Serializer,),
    {
        "__doc__": "This week minus the previous week, per figure (null when either side has no value).",
        **{name: serializers.FloatField(allow_null=True) for name in FIGURES},
    },
)


class SliceSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="Vendor slug, environment code, priority or type ('' = no vendor yet).")
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field: DRF's metaclass pops it off the class
    figures = FiguresSerializer()
    backlog_by_age = serializers.DictField(child=serializers.IntegerField())
    backlog_by_state = serializers.DictField(child=serializers.IntegerField())


class BreakdownsSerializer(serializers.Serializer):
    vendor = SliceSerializer(many=True)
    environment = SliceSerializer(many=True)
    priority = SliceSerializer(many=True)
    request_type = SliceSerializer(many=True)


class TractionWeekSerializer(serializers.Serializer):
    week = serializers.CharField()
    created = serializers.IntegerField()
    resolved = serializers.IntegerField()


class ComplianceWeekSerializer(serializers.Serializer):
    week = serializers.CharField()
    sla_response_compliance = serializers.FloatField(allow_null=True)
    sla_resolution_compliance = serializers.FloatField(allow_null=True)
    ola_compliance = serializers.FloatField(allow_null=True)


class BreachSerializer(serializers.Serializer):
    reference = serializers.CharField()
    title = serializers.CharField()
    vendor = serializers.CharField()
    priority = serializers.CharField()
    measure = serializers.CharField()
    due_at = serializers.DateTimeField()
    settled_at = serializers.DateTimeField(allow_null=True, help_text="Met or ended; null while still running.")
    late_seconds = serializers.FloatField()
    reason = serializers.CharField()
    extended = serializers.BooleanField(help_text="The program manager extended this due time (with a reason).")


class BreakGlassEntrySerializer(serializers.Serializer):
    reference = serializers.CharField()
    vendor = serializers.CharField()
    subject = serializers.CharField()
    system = serializers.CharField()
    target = serializers.CharField()
    granted_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    review = serializers.ChoiceField(choices=["reviewed", "awaiting", "overdue"])
    reviewed_by = serializers.CharField()
    review_due_at = serializers.DateTimeField(help_text="When eGov DevOps must have reviewed it.")
    reviewed_at = serializers.DateTimeField(allow_null=True)
    attention = serializers.BooleanField(help_text="Overdue for review: needs attention.")


class HypercareEntrySerializer(serializers.Serializer):
    reference = serializers.CharField(help_text="The release or deployment support request that opened the window.")
    title = serializers.CharField()
    request_type = serializers.CharField()
    vendor = serializers.CharField()
    environment = serializers.CharField()
    stack = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    issues = serializers.IntegerField(help_text="Production issues filed in the window by the end of the week.")
    breached = serializers.IntegerField(help_text="Of those, how many missed an SLA clock that fell due by then.")
    issue_references = serializers.ListField(child=serializers.CharField())


class IncidentReviewEntrySerializer(serializers.Serializer):
    reference = serializers.CharField()
    title = serializers.CharField()
    vendor = serializers.CharField()
    environment = serializers.CharField()
    priority = serializers.CharField()
    resolved_at = serializers.DateTimeField()
    review_status = serializers.ChoiceField(
        choices=["done", "due", "missing"], help_text="done: published; due: a draft; missing: no review."
    )
    action_items = serializers.IntegerField()
    action_items_open = serializers.IntegerField(
        help_text="Follow-ups not yet resolved, closed, rejected or cancelled."
    )
    attention = serializers.BooleanField(help_text="No review at all: needs attention.")


class FiltersSerializer(serializers.Serializer):
    vendor = serializers.CharField(allow_blank=True)
    environment = serializers.CharField(allow_blank=True)
    priority = serializers.CharField(allow_blank=True)
    type = serializers.CharField(allow_blank=True)


class WeeklyReportSerializer(serializers.Serializer):
    """The weekly SLA report: headline, previous week and change, breakdowns, trends, backlog and breaches."""

    week = serializers.CharField()
    previous_week = serializers.CharField()
    timezone = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    backlog_at = serializers.DateTimeField()
    generated_at = serializers.DateTimeField()
    filters = FiltersSerializer()
    summary = FiguresSerializer()
    previous = FiguresSerializer()
    change = ChangeSerializer()
    backlog_by_age = serializers.DictField(child=serializers.IntegerField())
    backlog_by_state = serializers.DictField(child=serializers.IntegerField())
    breakdowns = BreakdownsSerializer()
    traction = TractionWeekSerializer(many=True)
    compliance_trend = ComplianceWeekSerializer(many=True)
    breaches = BreachSerializer(many=True)
    breaches_total = serializers.IntegerField()
    engineers = serializers.IntegerField(help_text="Active vendor engineers in scope (the bandwidth divisor).")
    break_glass = BreakGlassEntrySerializer(
        many=True, help_text="Break-glass grants taken in the week and their eGov DevOps review."
    )
    hypercare = HypercareEntrySerializer(
        many=True, help_text="Hypercare windows open in the week and the production issues filed in them."
    )
    incident_reviews = IncidentReviewEntrySerializer(
        many=True, help_text="P0/P1 production issues resolved in the week and their post-incident reviews."
    )


# --- delivery metrics (reports/metrics.py defines every figure) ----------------------------------------------
class MetricsQuerySerializer(serializers.Serializer):
    """Query parameters of the metrics endpoint (the selector checks the dates, the range and the slugs)."""

    # `from` is a Python keyword: the field is declared under its query-string name below.
    to = serializers.CharField(required=False, allow_blank=True, help_text="Last day, YYYY-MM-DD; default: today.")
    vendor = serializers.CharField(required=False, allow_blank=True, help_text="Vendor slug.")
    environment = serializers.CharField(required=False, allow_blank=True, help_text="Environment code.")
    priority = serializers.ChoiceField(choices=Priority.choices, required=False, allow_blank=True)
    type = serializers.ChoiceField(choices=TYPE_CHOICES, required=False, allow_blank=True)


MetricsQuerySerializer._declared_fields["from"] = serializers.CharField(
    required=False, allow_blank=True, help_text="First day, YYYY-MM-DD; default: 27 days before `to`."
)


class DurationSerializer(serializers.Serializer):
    mean_hours = serializers.FloatField(allow_null=True)
    median_hours = serializers.FloatField(allow_null=True)
    count = serializers.IntegerField()


class MetricSliceSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="Vendor slug, environment code, priority or type ('' = no vendor yet).")
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field: DRF's metaclass pops it off the class
    mtta = DurationSerializer()
    mttr = DurationSerializer()
    mttd = DurationSerializer()


class MetricBreakdownsSerializer(serializers.Serializer):
    priority = MetricSliceSerializer(many=True)
    vendor = MetricSliceSerializer(many=True)
    environment = MetricSliceSerializer(many=True)
    request_type = MetricSliceSerializer(many=True)


class AttainmentSerializer(serializers.Serializer):
    met = serializers.IntegerField()
    missed = serializers.IntegerField()
    pending = serializers.IntegerField(help_text="P0/P1 issues whose clocks are not decided yet (not in the share).")
    percent = serializers.FloatField(allow_null=True)
    target = serializers.FloatField(help_text="PORTICO_INCIDENT_SLA_TARGET, percent.")
    target_met = serializers.BooleanField(allow_null=True)


class DoraSerializer(serializers.Serializer):
    deployments = serializers.IntegerField(
        help_text="Release and Deployment Support requests deployed in the window: at the finish of their first "
        "successful Jenkins job or GitLab pipeline run, or at their resolution when they had none."
    )
    from_runs = serializers.IntegerField(help_text="Deployments timed by a successful Jenkins/GitLab run.")
    manual = serializers.IntegerField(help_text="Deployments without a successful run, timed by the resolution.")
    deployment_frequency = serializers.FloatField(help_text="Deployments per week.")
    lead_time = DurationSerializer()
    failed_deployments = serializers.IntegerField()
    change_failure_rate = serializers.FloatField(allow_null=True, help_text="Percent.")
    time_to_restore = DurationSerializer()


class StateTimeSerializer(serializers.Serializer):
    """Hours the requests assigned to the person spent in one state within the window."""

    requests = serializers.IntegerField(help_text="Requests that spent time in the state.")
    total_hours = serializers.FloatField(allow_null=True)
    median_hours = serializers.FloatField(allow_null=True, help_text="Median per request.")


class EngineerLoadSerializer(serializers.Serializer):
    username = serializers.CharField()
    name = serializers.CharField()
    picked_up = serializers.IntegerField()
    resolved = serializers.IntegerField()
    picked_up_per_week = serializers.FloatField()
    resolved_per_week = serializers.FloatField()
    open_assigned = serializers.IntegerField(help_text="Open requests assigned to them now.")
    in_progress = StateTimeSerializer()
    waiting_on_requester = StateTimeSerializer()
    blocked = StateTimeSerializer()


class TrendWeekSerializer(serializers.Serializer):
    week = serializers.CharField()
    mtta = DurationSerializer()
    mttr = DurationSerializer()
    deployments = serializers.IntegerField()


class DeliveryMetricsSerializer(serializers.Serializer):
    """Delivery metrics for a window: MTTA/MTTR/MTTD, incident SLA attainment, DORA keys, load and trends."""

    date_from = serializers.DateField()
    date_to = serializers.DateField()
    timezone = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    generated_at = serializers.DateTimeField()
    filters = FiltersSerializer()
    incidents = serializers.IntegerField(help_text="Production issues filed in the window.")
    mtta = DurationSerializer()
    mttr = DurationSerializer()
    mttd = DurationSerializer()
    breakdowns = MetricBreakdownsSerializer()
    attainment = AttainmentSerializer()
    dora = DoraSerializer()
    load = EngineerLoadSerializer(many=True)
    trend = TrendWeekSerializer(many=True)
