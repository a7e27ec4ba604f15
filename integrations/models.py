"""Per-environment connections to Kubernetes, Jenkins, GitLab and Jira. Secrets are never stored here: each
connection names the environment variable that holds its token, so nothing secret reaches the database, the UI,
the API or a log."""

from __future__ import annotations

import os

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from .config import GitLabConfig, JenkinsConfig, JiraConfig, KubernetesConfig
from .errors import ErrorKind, IntegrationError


class System(models.TextChoices):
    KUBERNETES = "kubernetes", "Kubernetes"
    JENKINS = "jenkins", "Jenkins"
    GITLAB = "gitlab", "GitLab"
    JIRA = "jira", "Jira"


class Connection(models.Model):
    """How Portico reaches one system for one environment; an environment without one uses the dry-run twin."""

    environment = models.ForeignKey("requests_app.Environment", on_delete=models.CASCADE, related_name="connections")
    system = models.CharField(max_length=16, choices=System)
    enabled = models.BooleanField(default=True)
    url = models.URLField(help_text="API server / controller / instance URL.")
    username = models.CharField(max_length=200, blank=True, help_text="Jenkins user, or Jira Cloud e-mail.")
    secret_env = models.CharField(
        max_length=100,
        help_text="Name of the environment variable holding the token (e.g. PORTICO_PUNJAB_K8S_TOKEN); "
        "the token itself is never stored.",
    )
    ca_bundle_path = models.CharField(max_length=300, blank=True, help_text="Kubernetes: CA bundle file.")
    insecure = models.BooleanField(default=False, help_text="Kubernetes: skip TLS verification (development only).")
    project_key = models.CharField(max_length=32, blank=True, help_text="Jira: project mirrored requests go to.")
    intake_project_key = models.CharField(
        max_length=32, blank=True, help_text="Jira: issues created here become requests."
    )
    webhook_secret_env = models.CharField(
        max_length=100, blank=True, help_text="Jira: environment variable holding the webhook secret."
    )
    jira_pat = models.BooleanField(default=False, help_text="Jira Data Center: the token is a personal access token.")
    timeout = models.FloatField(default=10.0)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_check_ok = models.BooleanField(null=True, blank=True)
    last_check_summary = models.TextField(blank=True)

    class Meta:
        ordering = ["environment__name", "system"]
        constraints = [models.UniqueConstraint(fields=["environment", "system"], name="one_connection_per_system")]

    def __str__(self) -> str:
        return f"{self.get_system_display()} for {self.environment}"

    def clean(self) -> None:
        for name in ("secret_env", "webhook_secret_env"):
            value = getattr(self, name)
            if value and not value.replace("_", "").isalnum():
                raise ValidationError({name: "Use an environment variable name: letters, digits and underscores."})

    def _secret(self, variable: str) -> str:
        value = os.environ.get(variable, "")
        if not value:
            raise IntegrationError(
                self.system,
                ErrorKind.INVALID,
                f"Environment variable {variable} (the {self.get_system_display()} token) is not set.",
            )
        return value

    def webhook_secret(self) -> str | None:
        return os.environ.get(self.webhook_secret_env) or None if self.webhook_secret_env else None

    def config(self) -> KubernetesConfig | JenkinsConfig | GitLabConfig | JiraConfig:
        """The adapter configuration, with the token read from the environment at the last moment."""
        token = self._secret(self.secret_env)
        match self.system:
            case System.KUBERNETES:
                return KubernetesConfig(
                    url=self.url,
                    token=token,
                    ca_bundle_path=self.ca_bundle_path or None,
                    insecure=self.insecure,
                    timeout=self.timeout,
                )
            case System.JENKINS:
                return JenkinsConfig(url=self.url, user=self.username, api_token=token, timeout=self.timeout)
            case System.GITLAB:
                return GitLabConfig(url=self.url, token=token, timeout=self.timeout)
            case _:
                if self.jira_pat:
                    return JiraConfig(url=self.url, pat=token, project_key=self.project_key, timeout=self.timeout)
                return JiraConfig(
                    url=self.url,
                    email=self.username,
                    api_token=token,
                    project_key=self.project_key,
                    timeout=self.timeout,
                )

    def record_check(self, *, ok: bool, summary: str) -> None:
        Connection.objects.filter(pk=self.pk).update(
            last_checked_at=timezone.now(), last_check_ok=ok, last_check_summary=summary
        )


# --- Jira, both ways ---------------------------------------------------------------------------------------
class JiraLinkOrigin(models.TextChoices):
    PORTAL = "portal", "Mirrored from the portal"
    INTAKE = "intake", "Filed in the Jira intake project"


class JiraLink(models.Model):
    """A request's Jira issue, what Portico last pushed to it, and the newest Jira event applied from it."""

    service_request = models.OneToOneField(
        "requests_app.ServiceRequest", on_delete=models.CASCADE, related_name="jira_link"
    )
    environment = models.ForeignKey("requests_app.Environment", on_delete=models.CASCADE, related_name="jira_links")
    origin = models.CharField(max_length=8, choices=JiraLinkOrigin, default=JiraLinkOrigin.PORTAL)
    jira_key = models.CharField(max_length=32, blank=True)
    jira_id = models.CharField(max_length=32, blank=True)
    project_key = models.CharField(max_length=32, blank=True)
    url = models.URLField(blank=True)
    # What Jira holds as far as Portico knows: a sync only calls Jira when the portal's value differs.
    pushed_status = models.CharField(max_length=64, blank=True)
    pushed_priority = models.CharField(max_length=32, blank=True)
    pushed_assignee = models.CharField(max_length=150, blank=True)
    last_event_at = models.DateTimeField(
        null=True, blank=True, help_text="Time of the newest Jira webhook applied; older ones are out of order."
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "jira_key"], condition=~models.Q(jira_key=""), name="one_link_per_jira_issue"
            )
        ]

    def __str__(self) -> str:
        return f"{self.service_request_id} ↔ {self.jira_key or '(not created yet)'}"


class JiraPushOutcome(models.TextChoices):
    PUSHED = "pushed", "Pushed"
    UNCHANGED = "unchanged", "Already so in Jira"
    SKIPPED = "skipped", "Skipped"


class JiraPush(models.Model):
    """One change Portico made in Jira (issue key, field, value, time), so the webhook echoing it is ignored."""

    link = models.ForeignKey(JiraLink, on_delete=models.CASCADE, related_name="pushes")
    event = models.ForeignKey(
        "requests_app.RequestEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="jira_pushes"
    )
    jira_key = models.CharField(max_length=32)
    field = models.CharField(max_length=16)  # issue, status, priority, assignee, comment
    value = models.CharField(max_length=255, blank=True)
    jira_comment_id = models.CharField(max_length=32, blank=True)
    outcome = models.CharField(max_length=10, choices=JiraPushOutcome, default=JiraPushOutcome.PUSHED)
    note = models.TextField(blank=True)
    pushed_at = models.DateTimeField(default=timezone.now)
    echoed_at = models.DateTimeField(null=True, blank=True, help_text="When Jira's webhook echoed this change.")

    class Meta:
        ordering = ["pushed_at", "pk"]
        constraints = [
            # A public comment goes to Jira once, however often its task runs.
            models.UniqueConstraint(
                fields=["event"], condition=models.Q(field="comment"), name="one_jira_comment_per_event"
            )
        ]
        indexes = [models.Index(fields=["jira_key", "field"], name="jira_push_key_field")]

    def __str__(self) -> str:
        return f"{self.jira_key} {self.field}={self.value} ({self.outcome})"


class DeliveryOutcome(models.TextChoices):
    PENDING = "pending", "Waiting to be processed"
    APPLIED = "applied", "Applied"
    IGNORED = "ignored", "Acknowledged and ignored"
    CONFLICT = "conflict", "Recorded as a conflict"
    FAILED = "failed", "Failed"


class JiraDelivery(models.Model):
    """One signed webhook delivery from Jira, stored raw before anything is done with it."""

    delivery_id = models.CharField(
        max_length=100, unique=True, help_text="X-Atlassian-Webhook-Identifier, or sha256 of the body without it."
    )
    environment = models.ForeignKey(
        "requests_app.Environment", on_delete=models.CASCADE, related_name="jira_deliveries"
    )
    webhook_event = models.CharField(max_length=64, blank=True)
    issue_key = models.CharField(max_length=32, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    body = models.TextField()
    event_at = models.DateTimeField(null=True, blank=True, help_text="The payload's own timestamp.")
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=DeliveryOutcome, default=DeliveryOutcome.PENDING)
    notes = models.TextField(blank=True)
    service_request = models.ForeignKey(
        "requests_app.ServiceRequest",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jira_deliveries",
    )

    class Meta:
        ordering = ["-received_at", "-pk"]
        verbose_name_plural = "Jira deliveries"
        indexes = [models.Index(fields=["environment", "issue_key"], name="jira_delivery_issue")]

    def __str__(self) -> str:
        return f"{self.webhook_event or 'delivery'} {self.issue_key} ({self.get_outcome_display().lower()})"
