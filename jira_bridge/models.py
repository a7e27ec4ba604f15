"""Jira, both ways: a request's link to its issue, each change Portico pushed to it, and each webhook delivery
received from Jira.

The tables were created by the `integrations` app and keep their names (`db_table`); the migrations moved only
Django's idea of which app owns them.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from .choices import DeliveryOutcome, JiraLinkOrigin, JiraPushOutcome


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
        db_table = "integrations_jiralink"  # the table predates this app; its rows stayed put
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "jira_key"], condition=~models.Q(jira_key=""), name="one_link_per_jira_issue"
            )
        ]

    def __str__(self) -> str:
        return f"{self.service_request_id} ↔ {self.jira_key or '(not created yet)'}"


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
        db_table = "integrations_jirapush"
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
    attempts = models.PositiveIntegerField(
        default=1, help_text="Times its processing was sent: once on arrival, once more per sweep that found it stuck."
    )
    last_sent_at = models.DateTimeField(null=True, blank=True, help_text="When the sweeper last sent it again.")
    last_error = models.TextField(blank=True, help_text="Why the last processing attempt failed, if it did.")
    service_request = models.ForeignKey(
        "requests_app.ServiceRequest",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jira_deliveries",
    )

    class Meta:
        db_table = "integrations_jiradelivery"
        ordering = ["-received_at", "-pk"]
        verbose_name_plural = "Jira deliveries"
        indexes = [
            models.Index(fields=["environment", "issue_key"], name="jira_delivery_issue"),
            # The sweeper's scan: deliveries not processed yet, oldest first.
            models.Index(
                fields=["received_at"], condition=models.Q(processed_at__isnull=True), name="jira_delivery_stuck"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.webhook_event or 'delivery'} {self.issue_key} ({self.get_outcome_display().lower()})"


class JiraIssueLink(models.Model):
    """A portal link between two requests as it exists in Jira: the issue link's id, kept so removing the portal
    link removes the Jira one, and a Jira webhook about the link finds the portal link it is about.

    `request_link_id` is a plain number, not a key: the portal link is deleted when removed, and its Jira twin must
    still be found by it afterwards."""

    environment = models.ForeignKey(
        "requests_app.Environment", on_delete=models.CASCADE, related_name="jira_issue_links"
    )
    request_link_id = models.PositiveBigIntegerField(db_index=True)
    jira_link_id = models.CharField(max_length=32)
    inward_key = models.CharField(max_length=32)
    outward_key = models.CharField(max_length=32)
    kind = models.CharField(max_length=16)
    created_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True, help_text="When Portico removed it in Jira, or Jira told.")

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["environment", "jira_link_id"], name="one_row_per_jira_issue_link"),
            models.UniqueConstraint(fields=["request_link_id"], name="one_jira_issue_link_per_request_link"),
        ]

    def __str__(self) -> str:
        return f"{self.inward_key} {self.kind} {self.outward_key} (Jira link {self.jira_link_id})"
