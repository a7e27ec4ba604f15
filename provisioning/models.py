"""Automation runs on a request: each run, its ordered steps, and the just-in-time access it granted."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .choices import ACTIVE_RUN_STATUSES, FINISHED_RUN_STATUSES, GrantSystem, RunStatus, StepStatus
from .querysets import AccessGrantQuerySet, ProvisioningRunQuerySet


class ProvisioningRun(models.Model):
    """One execution of a catalogue action for a request, with its parameters frozen at the start."""

    service_request = models.ForeignKey(
        "requests_app.ServiceRequest", on_delete=models.PROTECT, related_name="provisioning_runs"
    )
    action = models.CharField(max_length=64)
    parameters = models.JSONField(default=dict, blank=True, help_text="Snapshot of the parameters used.")
    status = models.CharField(max_length=16, choices=RunStatus, default=RunStatus.QUEUED)
    attempts = models.PositiveIntegerField(default=0, help_text="Times a worker started executing this run.")
    retries = models.PositiveIntegerField(default=0, help_text="Times somebody retried it after a failure.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="provisioning_runs",
        help_text="Empty: the portal started it itself (after approval).",
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error_message = models.TextField(blank=True)
    external_ids = models.JSONField(default=dict, blank=True)
    links = models.JSONField(default=dict, blank=True)
    dry_run = models.BooleanField(default=False, help_text="At least one system had no connection: steps recorded.")
    break_glass = models.BooleanField(
        default=False, help_text="Taken by the on-call engineer during a P0 without approval; eGov DevOps reviews it."
    )
    # The lease: who has the run in hand and until when. A worker holds it while executing and renews it by
    # heartbeat; between deliveries (a poll's countdown, a retry's backoff, the queue) nobody owns it but it still
    # runs until the next delivery is due. An active run whose lease lapsed is stuck: the sweeper resumes it.
    lease_owner = models.CharField(
        max_length=255, blank=True, help_text="The task delivery executing the run now; empty between deliveries."
    )
    lease_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Past this time with the run still active, its worker is presumed dead."
    )
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="When the executing worker last reported.")
    resumes = models.PositiveIntegerField(default=0, help_text="Times the sweeper resumed it after its worker died.")

    objects = ProvisioningRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # The database, not only the service, refuses a second concurrent run of the same action.
            models.UniqueConstraint(
                fields=["service_request", "action"],
                condition=Q(status__in=ACTIVE_RUN_STATUSES),
                name="one_active_run_per_action",
            )
        ]
        indexes = [
            models.Index(fields=["service_request", "-created_at"], name="run_request_created"),
            # The sweeper's scan: active runs by lease expiry.
            models.Index(
                fields=["lease_expires_at"], condition=Q(status__in=ACTIVE_RUN_STATUSES), name="run_active_lease"
            ),
        ]

    def __str__(self) -> str:
        return f"Run #{self.pk} {self.action} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_RUN_STATUSES

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_RUN_STATUSES

    def is_stuck(self, now: datetime) -> bool:
        """Active, but nobody has it in hand: its worker stopped reporting, or its message never arrived."""
        return self.is_active and (self.lease_expires_at is None or self.lease_expires_at <= now)

    @property
    def run_key(self) -> str:
        """What rides along as PORTICO_RUN_ID, so a redelivered task finds the build it already started."""
        # A retry after a red build must start a new one, so each retry gets its own key.
        return f"portico-run-{self.pk or 'new'}" + (f".{self.retries}" if self.retries else "")


class ProvisioningStep(models.Model):
    """One ordered step of a run, saved in its own transaction so the page shows progress."""

    run = models.ForeignKey(ProvisioningRun, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    key = models.CharField(max_length=64)
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=StepStatus, default=StepStatus.PENDING)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    output_text = models.TextField(blank=True)
    output = models.JSONField(default=dict, blank=True)
    external_id = models.CharField(max_length=200, blank=True)
    link = models.URLField(max_length=500, blank=True)

    class Meta:
        ordering = ["run", "position"]
        constraints = [models.UniqueConstraint(fields=["run", "position"], name="one_step_per_position")]

    def __str__(self) -> str:
        return f"{self.run_id}.{self.position} {self.key} ({self.status})"


class AccessGrant(models.Model):
    """Just-in-time access Portico gave, and when it took it away again."""

    service_request = models.ForeignKey(
        "requests_app.ServiceRequest", on_delete=models.PROTECT, related_name="access_grants"
    )
    run = models.ForeignKey(ProvisioningRun, on_delete=models.PROTECT, related_name="grants")
    system = models.CharField(max_length=16, choices=GrantSystem)
    subject = models.CharField(max_length=200, help_text="GitLab username or Kubernetes user.")
    subject_id = models.CharField(max_length=64, blank=True, help_text="GitLab user id, for removal.")
    target = models.CharField(max_length=255, help_text="GitLab project or Kubernetes namespace.")
    level = models.CharField(max_length=64, help_text="GitLab access level or Kubernetes ClusterRole.")
    binding_name = models.CharField(max_length=253, blank=True, help_text="Kubernetes RoleBinding name.")
    granted_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_error = models.TextField(blank=True)
    revoke_attempts = models.PositiveIntegerField(default=0)
    break_glass = models.BooleanField(default=False, help_text="Taken without approval during a P0 incident.")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    review_note = models.TextField(blank=True)

    objects = AccessGrantQuerySet.as_manager()

    class Meta:
        ordering = ["expires_at", "pk"]
        constraints = [
            # A re-run step updates its grant instead of adding a second one.
            models.UniqueConstraint(fields=["run", "system", "target", "subject"], name="one_grant_per_run_target")
        ]
        indexes = [models.Index(fields=["revoked_at", "expires_at"], name="grant_revoke_scan")]

    def __str__(self) -> str:
        return f"{self.subject} {self.level} on {self.system}:{self.target} until {self.expires_at:%Y-%m-%d %H:%M}"
