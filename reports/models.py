"""What the reports app stores: one row per weekly e-mail sent, and the finished weeks' reports per scope."""

from datetime import UTC, datetime

from django.conf import settings
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from requests_app.choices import RequestState


class WeeklyReportEmail(models.Model):
    """The weekly report e-mail for one ISO week, claimed and sent exactly once."""

    week = models.CharField(max_length=8, unique=True, help_text="ISO week, e.g. 2026-W47.")
    tz = models.CharField(max_length=64, help_text="The timezone the week was cut in.")
    recipients = models.JSONField(default=list)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-week"]

    def __str__(self) -> str:
        return f"Weekly report {self.week} sent {self.sent_at:%Y-%m-%d %H:%M}"


class StoredWeek(models.Model):
    """One finished week's report for one scope, kept so a past week is read, not recomputed.

    `generation` counts the changes that touched the week (reports/handlers.py); a computation stores its result
    only if no change came in while it ran, so a stored week is never older than the data it claims to show."""

    week = models.CharField(max_length=8, help_text="ISO week, e.g. 2026-W47.")
    tz = models.CharField(max_length=64, help_text="The timezone the week was cut in.")
    scope = models.CharField(max_length=255, help_text="The report's filters as sorted JSON (ids, not names).")
    end = models.DateTimeField(
        help_text="The week's end: a change that can move a figure of a week ending after its instant restales the row "
        "(reports/stored.py, `report_weeks_restale`)."
    )
    report = models.BinaryField(null=True, editable=False)
    schema = models.CharField(max_length=64, blank=True, help_text="Which shape of WeeklyReport `report` holds.")
    stale = models.BooleanField(default=True)
    generation = models.PositiveBigIntegerField(default=0)
    computed_at = models.DateTimeField(null=True, blank=True)
    computing_since = models.DateTimeField(
        null=True, blank=True, help_text="Set while a computation runs: changes bump the row even though it is stale."
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tz", "week", "scope"], name="stored_week_unique")]
        indexes = [models.Index(fields=["end"], name="stored_week_end")]
        ordering = ["-week", "scope"]

    def __str__(self) -> str:
        return f"Stored report {self.week} {self.scope}{' (stale)' if self.stale else ''}"


# An open span's end, for the index that finds the spans overlapping a window.
FOREVER = datetime(9999, 12, 31, tzinfo=UTC)
# The states whose time the delivery metrics' engineer load sums (reports/metrics.py).
WORK_STATES = (RequestState.IN_PROGRESS, RequestState.WAITING_ON_REQUESTER, RequestState.BLOCKED)


class StateSpan(models.Model):
    """One stretch of time a request spent in one state, derived from its timeline (reports/spans.py).

    Kept in the transaction of every state change, so the delivery metrics' time in a state reads the spans that
    overlap the window instead of summing the window's events. `ended_at` is null while the span lasts. `assignee`
    and `vendor` copy the request's current ones (re-derived with every change: only transitions move them), so the
    metrics read no request row for the organisation or one vendor.

    The first span (earliest start) of a request's spans in one state also carries `state_until`, the end of their
    last (FOREVER while one is open), and `state_seconds`, their total length (null while one is open); null on the
    others. A request whose time in a state lies wholly inside the metrics' window is then one index row, its total
    read as stored: only those crossing the window's edges are summed from their spans (reports/metrics.py)."""

    service_request = models.ForeignKey(
        "requests_app.ServiceRequest", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    state = models.CharField(max_length=24, choices=RequestState)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    vendor = models.ForeignKey(
        "requests_app.Vendor",
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    state_until = models.DateTimeField(null=True, blank=True)
    state_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        indexes = [
            # A request's spans are replaced as a whole on each change.
            models.Index(fields=["service_request", "started_at"], name="state_span_request"),
            # The metrics' window: the working spans still running at its start. On the end (open: FOREVER) rather
            # than `ended_at > start OR ended_at IS NULL`: the planner counts the index's own rows, where most open
            # spans (a finished request's last) are not.
            models.Index(
                Coalesce("ended_at", Value(FOREVER)), condition=Q(state__in=WORK_STATES), name="state_span_work_end"
            ),
        ]
        ordering = ["service_request", "started_at", "pk"]

    def __str__(self) -> str:
        return f"{self.service_request_id} {self.state} from {self.started_at:%Y-%m-%d %H:%M}"
