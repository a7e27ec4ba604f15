"""The request domain: where work comes from, who does it, and the request itself with its audit trail."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django_fsm import GET_STATE, ConcurrentTransitionMixin, FSMField, FSMModelMixin

from . import permissions as perms
from .catalogue import needs_approval as catalogue_needs_approval
from .catalogue import request_type_choices
from .choices import (
    OPEN_STATES,
    RATING_MAX,
    RATING_MIN,
    EventKind,
    LinkKind,
    OnboardingStatus,
    Priority,
    RequestState,
)
from .constants import SYSTEM_ACTOR
from .querysets import RequestEventQuerySet, ServiceRequestQuerySet

if TYPE_CHECKING:
    from django_fsm import Transition

    from portal.models import User

    _Method = TypeVar("_Method", bound=Callable[..., None])

    def transition(
        *,
        field: Any,
        source: Any,
        target: Any,
        conditions: list[Callable[[ServiceRequest], bool]] | None = None,
        permission: Callable[[ServiceRequest, User], bool] | None = None,
    ) -> Callable[[_Method], _Method]:
        """django-fsm-2's `transition` as this module uses it. Its own annotations take checks over any Model and
        any user, which a check written for ServiceRequest and portal's User cannot satisfy (a callable's
        parameters are contravariant); at run time it is the library's function."""
        ...

else:
    from django_fsm import transition

S = RequestState


def validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"“{value}” is not an IANA time zone (e.g. Asia/Kolkata).") from exc


class Environment(models.Model):
    """A state or tenant with its own clusters, pipelines, Jira project and holidays."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    timezone = models.CharField(max_length=64, default="Asia/Kolkata", validators=[validate_timezone])
    jira_project_key = models.CharField(max_length=32, blank=True)
    calendar = models.ForeignKey(
        "sla.BusinessCalendar",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="environments",
        help_text="Working hours and holidays for P2–P4 goals; empty means the national calendar.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Stack(models.Model):
    """A product line the implementation teams roll out (Microservices, ERP, …)."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Team(models.Model):
    """An implementation team; its members file requests and see the team's requests."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=100)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="teams", blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Vendor(models.Model):
    """A partner that works requests; its engineers and leads are users with `vendor` set."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=100)
    contact_email = models.EmailField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class VendorOnboarding(models.Model):
    """How far a vendor is onboarded in one environment (its current stage); only `live` vendors get its requests."""

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="onboardings")
    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="onboardings")
    # Changed only by `backoffice.onboarding.services.onboarding_move`, which keeps the history beside it.
    status = models.CharField(max_length=32, choices=OnboardingStatus, default=OnboardingStatus.EVALUATION)
    paused_from = models.CharField(
        max_length=32, choices=OnboardingStatus, blank=True, help_text="The stage it was paused at, while paused."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["vendor", "environment"], name="one_onboarding_per_env")]
        ordering = ["vendor__name", "environment__name"]

    def __str__(self) -> str:
        return f"{self.vendor} in {self.environment}: {self.get_status_display()}"


class RoutingRule(models.Model):
    """(type?, environment?, stack?) → vendor; the most specific active match wins."""

    request_type = models.CharField(max_length=32, choices=request_type_choices, blank=True)
    environment = models.ForeignKey(Environment, null=True, blank=True, on_delete=models.CASCADE)
    stack = models.ForeignKey(Stack, null=True, blank=True, on_delete=models.CASCADE)
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="routing_rules")
    is_active = models.BooleanField(default=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["request_type", "environment", "stack"],
                name="one_rule_per_match",
                nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        return f"{self.match_label} → {self.vendor}"

    @property
    def match_label(self) -> str:
        """What the rule matches, in words: “GitOps / Bihar / any stack”."""
        parts = [
            self.get_request_type_display() if self.request_type else "any type",
            str(self.environment or "any environment"),
            str(self.stack or "any stack"),
        ]
        return " / ".join(parts)

    @property
    def specificity(self) -> int:
        return sum(bool(x) for x in (self.request_type, self.environment_id, self.stack_id))


def _after_triage(instance: ServiceRequest, **_: object) -> str:
    return S.PENDING_APPROVAL if instance.needs_approval else S.QUEUED


def _with_or_without_assignee(instance: ServiceRequest, **_: object) -> str:
    return S.IN_PROGRESS if instance.assignee_id else S.QUEUED


def _reopen_window_open(instance: ServiceRequest) -> bool:
    window = timedelta(days=settings.PORTICO_REOPEN_WITHIN_DAYS)
    return bool(instance.resolved_at and timezone.now() - instance.resolved_at <= window)


def _quiet_long_enough(instance: ServiceRequest) -> bool:
    quiet = timedelta(days=settings.PORTICO_AUTO_CLOSE_AFTER_DAYS)
    return bool(instance.resolved_at and timezone.now() - instance.resolved_at >= quiet)


class ServiceRequest(ConcurrentTransitionMixin, FSMModelMixin, models.Model):
    """One piece of work asked of eGov DevOps, from filing to closure."""

    reference = models.CharField(max_length=16, unique=True, null=True, editable=False)
    title = models.CharField(max_length=200)
    description = models.TextField(max_length=settings.PORTICO_MAX_TEXT_LENGTH)
    request_type = models.CharField(max_length=32, choices=request_type_choices)
    priority = models.CharField(max_length=2, choices=Priority)
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="requests")
    stack = models.ForeignKey(Stack, null=True, blank=True, on_delete=models.PROTECT, related_name="requests")
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="filed_requests")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="requests")
    vendor = models.ForeignKey(Vendor, null=True, blank=True, on_delete=models.PROTECT, related_name="requests")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="assigned_requests"
    )
    affects_production = models.BooleanField(
        default=False, help_text="Production changes wait for eGov DevOps approval."
    )
    needed_by = models.DateField(null=True, blank=True)
    state = FSMField(max_length=24, choices=RequestState, default=S.SUBMITTED, protected=True)
    resolution_note = models.TextField(blank=True)
    jira_key = models.CharField(max_length=32, blank=True)
    parameters = models.JSONField(
        default=dict, blank=True, help_text="Automation parameters (provisioning catalogue); empty means manual work."
    )

    # SLA: the clocks' stored results (the sla app computes them).
    response_due_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    next_due_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Due time of the SLA clock that runs out next (none paused)."
    )
    # Kept by `sla.services.request_sla_columns` so "breached" and "at risk" read an index (`sla.conditions`).
    sla_breach_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="Earliest due time of an SLA clock that finished late or still runs: breached once this has passed.",
    )
    next_at_risk_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Earliest at-risk instant of a running SLA clock."
    )

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    triaged_at = models.DateTimeField(null=True, blank=True)
    # When the problem began, as the monitoring that reported it saw it (before filing); for measuring MTTD.
    detected_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    reopen_count = models.PositiveSmallIntegerField(default=0)

    # Satisfaction (CSAT): what the requester said when confirming the work done; the latest confirmation counts.
    rating = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(RATING_MIN), MaxValueValidator(RATING_MAX)],
        help_text="The requester's rating (1–5) given when confirming the request resolved.",
    )
    rating_comment = models.TextField(blank=True, max_length=settings.PORTICO_MAX_TEXT_LENGTH)
    rated_at = models.DateTimeField(null=True, blank=True)

    objects = ServiceRequestQuerySet.as_manager()

    if TYPE_CHECKING:  # FSMField adds these for the `state` field when the class is created

        def get_available_state_transitions(self) -> Iterator[Transition]: ...
        def get_available_user_state_transitions(self, user: User) -> Iterator[Transition]: ...

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rating__isnull=True) | models.Q(rating__gte=RATING_MIN, rating__lte=RATING_MAX),
                name="req_rating_1_to_5",
            )
        ]
        permissions = [
            ("view_all_requests", "Can see every request"),
            ("triage_request", "Can triage and reject requests (program manager)"),
            ("approve_request", "Can approve or deny sensitive requests (eGov DevOps)"),
        ]
        indexes = [
            # Covers the visibility test too (team, requester), so counting a vendor's queue reads only the index.
            # With the id, ties on a due time (many fall due at the same close of business) come out in order, so
            # a page of 50 stops after 50 rows instead of sorting the whole tie.
            models.Index(
                fields=["vendor", "state", "response_due_at", "id"],
                include=["team", "requester"],
                name="req_vendor_queue",
            ),
            # The vendor queue page: all open states at once, soonest due first, without sorting the whole backlog.
            models.Index(
                fields=["vendor", "response_due_at", "id"],
                condition=models.Q(state__in=OPEN_STATES),
                name="req_vendor_open_due",
            ),
            models.Index(fields=["state", "resolution_due_at"], name="req_state_resolution_due"),
            models.Index(fields=["state", "response_due_at"], name="req_state_response_due"),
            models.Index(fields=["team", "-created_at"], name="req_team_created"),
            # The desk's orderings (desk/selectors.py SORTS): each column, then urgency, then id, so every sort and
            # its reverse (a backward scan) reads a page straight from an index instead of sorting the whole table.
            models.Index(fields=["next_due_at", "id"], name="req_urgency"),
            models.Index(
                fields=["vendor", "next_due_at", "id"],
                condition=models.Q(state__in=OPEN_STATES),
                name="req_vendor_open_urgency",
            ),
            *(
                models.Index(fields=[column, "next_due_at", "id"], name=f"req_{short}_urgency")
                for column, short in (
                    ("state", "state"),
                    ("priority", "priority"),
                    ("request_type", "type"),
                    ("environment", "env"),
                    ("vendor", "vendor"),
                    ("assignee", "assignee"),
                    ("team", "team"),
                    ("title", "title"),
                )
            ),
            models.Index(fields=["created_at", "next_due_at", "id"], name="req_created_urgency"),
            # The quick filters "breached, still open" and "at risk, still open" (`sla.conditions.request_breached`,
            # `request_at_risk`): open requests only, a few percent of all, by the instant compared with now.
            models.Index(
                fields=["sla_breach_at", "id"], condition=models.Q(state__in=OPEN_STATES), name="req_open_breach"
            ),
            models.Index(
                fields=["next_at_risk_at", "id"], condition=models.Q(state__in=OPEN_STATES), name="req_open_at_risk"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference or 'new'} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def needs_approval(self) -> bool:
        """Whether this request waits for eGov DevOps after triage: its type's rule in the catalogue."""
        return catalogue_needs_approval(self)

    # --- transitions: bare verbs that change only this row; services do the rest --------------------------
    @transition(
        field=state,
        source=S.SUBMITTED,
        target=GET_STATE(_after_triage, states=[S.QUEUED, S.PENDING_APPROVAL]),
        permission=perms.can_triage,
    )
    def triage(self) -> None:
        self.triaged_at = timezone.now()

    @transition(field=state, source=S.PENDING_APPROVAL, target=S.QUEUED, permission=perms.can_approve)
    def approve(self) -> None:
        pass  # the audit event carries the approver

    @transition(field=state, source=S.PENDING_APPROVAL, target=S.REJECTED, permission=perms.can_approve)
    def deny(self) -> None:
        self.closed_at = timezone.now()

    @transition(field=state, source=S.QUEUED, target=S.IN_PROGRESS, permission=perms.can_work)
    def pick_up(self, *, engineer_id: int) -> None:
        self.assignee_id = engineer_id
        self.responded_at = self.responded_at or timezone.now()

    @transition(
        field=state,
        source=[S.QUEUED, S.IN_PROGRESS],
        target=GET_STATE(_with_or_without_assignee, states=[S.QUEUED, S.IN_PROGRESS]),
        permission=perms.can_reassign,
    )
    def reassign(self, *, vendor_id: int | None, assignee_id: int | None) -> None:
        self.vendor_id = vendor_id
        self.assignee_id = assignee_id

    @transition(field=state, source=S.IN_PROGRESS, target=S.WAITING_ON_REQUESTER, permission=perms.can_work)
    def request_info(self) -> None:
        pass  # the question is the event's message

    @transition(field=state, source=S.WAITING_ON_REQUESTER, target=S.IN_PROGRESS, permission=perms.can_act_as_requester)
    def provide_info(self) -> None:
        pass  # the answer is the event's message

    @transition(field=state, source=[S.QUEUED, S.IN_PROGRESS], target=S.BLOCKED, permission=perms.can_escalate)
    def escalate(self) -> None:
        pass  # the blocker is the event's message

    @transition(
        field=state,
        source=S.BLOCKED,
        target=GET_STATE(_with_or_without_assignee, states=[S.QUEUED, S.IN_PROGRESS]),
        permission=perms.can_unblock,
    )
    def unblock(self) -> None:
        pass

    @transition(field=state, source=S.IN_PROGRESS, target=S.RESOLVED, permission=perms.can_work)
    def resolve(self, *, note: str) -> None:
        self.resolution_note = note
        self.resolved_at = timezone.now()

    @transition(field=state, source=S.RESOLVED, target=S.CLOSED, permission=perms.can_act_as_requester)
    def confirm(self, *, rating: int | None = None, rating_comment: str = "") -> None:
        self.closed_at = timezone.now()
        self.rating = rating
        self.rating_comment = rating_comment if rating is not None else ""
        self.rated_at = self.closed_at if rating is not None else None

    @transition(
        field=state,
        source=[S.RESOLVED, S.CLOSED],
        target=GET_STATE(_with_or_without_assignee, states=[S.QUEUED, S.IN_PROGRESS]),
        conditions=[_reopen_window_open],
        permission=perms.can_act_as_requester,
    )
    def reopen(self) -> None:
        self.resolved_at = None
        self.closed_at = None
        self.resolution_note = ""
        self.reopen_count += 1

    @transition(
        field=state, source=[S.SUBMITTED, S.PENDING_APPROVAL, S.QUEUED], target=S.REJECTED, permission=perms.can_triage
    )
    def reject(self) -> None:
        self.closed_at = timezone.now()

    @transition(field=state, source=list(OPEN_STATES), target=S.CANCELLED, permission=perms.can_act_as_requester)
    def cancel(self) -> None:
        self.closed_at = timezone.now()

    @transition(
        field=state, source=S.RESOLVED, target=S.CLOSED, conditions=[_quiet_long_enough], permission=perms.system_only
    )
    def auto_close(self) -> None:
        self.closed_at = timezone.now()


class RequestLink(models.Model):
    """A relation between two requests, stored once in one direction: `source` is the parent of, causes, or relates
    to `target`. Each request's page reads it from its own side (a child, "caused by")."""

    source = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="links_out")
    target = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="links_in")
    kind = models.CharField(max_length=16, choices=LinkKind)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["source", "target", "kind"], name="one_link_per_kind"),
            models.CheckConstraint(condition=~models.Q(source=models.F("target")), name="link_not_to_itself"),
        ]

    def __str__(self) -> str:
        return f"{self.source_id} {self.kind} {self.target_id}"


class AppendOnlyError(Exception):
    """Raised on any attempt to change or remove an audit event."""


class RequestEvent(models.Model):
    """One line of a request's timeline and audit trail; written once, never changed."""

    service_request = models.ForeignKey(ServiceRequest, on_delete=models.PROTECT, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="request_events"
    )
    kind = models.CharField(max_length=32, choices=EventKind)
    from_state = models.CharField(max_length=24, choices=RequestState, blank=True)
    to_state = models.CharField(max_length=24, choices=RequestState, blank=True)
    message = models.TextField(blank=True, max_length=settings.PORTICO_MAX_TEXT_LENGTH)
    internal = models.BooleanField(default=False, help_text="Visible to eGov DevOps, the PM and the vendor only.")
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = RequestEventQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["service_request", "created_at"], name="event_request_time")]

    def __str__(self) -> str:
        return f"{self.service_request_id} {self.kind} at {self.created_at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("Audit events cannot be deleted.")

    @property
    def actor_label(self) -> str:
        if self.actor is None:
            return SYSTEM_ACTOR
        return self.actor.get_full_name() or self.actor.username


class RequestSearchDocument(models.Model):
    """A request's full-text search document, written only by PostgreSQL triggers (migration
    `0016_request_search_documents`): the reference, Jira key, title, description and the text people wrote on
    its timeline. `public` holds what every viewer may read; `internal` adds the internal notes.

    A table beside the request rather than columns on it: Django writes every column on `save()`, so a stored
    vector on the request would be overwritten with whatever the instance held; here nothing but the triggers
    writes, and the request rows the queues scan stay narrow. On SQLite (the embedded default) no trigger fills
    it and search falls back to a plain substring match (`ServiceRequestQuerySet.search`)."""

    service_request = models.OneToOneField(
        ServiceRequest, primary_key=True, on_delete=models.CASCADE, related_name="search_document"
    )
    public = SearchVectorField()
    internal = SearchVectorField()
    # Copies of the request's vendor, team and requester (migration `0024_search_document_visibility_keys`), so
    # that one index scan finds the matches a person may see; not foreign keys: only the triggers write them.
    vendor_id = models.BigIntegerField(null=True, editable=False)
    team_id = models.BigIntegerField(null=True, editable=False)
    requester_id = models.BigIntegerField(null=True, editable=False)

    # The indexes are PostgreSQL-only and made by the migrations (SQLite cannot build them): GIN on `public` and
    # on `internal` (0016) find a rare word; btrees on (vendor_id, …), (team_id, …) and (requester_id,
    # service_request_id) (0024) walk one person's newest documents for a common one.

    def __str__(self) -> str:
        return f"search document of {self.service_request_id}"


class Notification(models.Model):
    """One entry of a person's in-portal list: about one event, or (`summary`) a digest ending with that event.

    Who gets one, and the e-mail beside it, is decided by the conversations app's notification matrix."""

    event = models.ForeignKey(RequestEvent, on_delete=models.PROTECT, related_name="notifications")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    summary = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["event", "user"], name="one_notification_per_user")]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_unread")]

    def __str__(self) -> str:
        return f"{self.user} ← {self.event}"
