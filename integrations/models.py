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
