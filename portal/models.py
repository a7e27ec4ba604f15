"""People: one user model for requesters, vendor engineers and leads, the PM and eGov DevOps."""

from django.contrib.auth.models import AbstractUser
from django.db import models

from .choices import TokenScope, VendorRole
from .timefmt import validate_timezone_name


class User(AbstractUser):
    """A portal user; `vendor` is set for partner engineers and leads, and scopes what they see."""

    vendor = models.ForeignKey(
        "requests_app.Vendor", null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    vendor_role = models.CharField(max_length=16, choices=VendorRole, blank=True)
    timezone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_timezone_name],
        help_text="IANA zone every time is shown in (e.g. Asia/Kolkata); empty means the portal's TIME_ZONE.",
    )

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username


class OutboxMessage(models.Model):
    """A task to send, written in the same transaction as the change that asked for it.

    If the broker is down when the transaction commits, the row waits here and `outbox_dispatch` sends it when
    the broker is back, so no work is lost between PostgreSQL and Redis."""

    task = models.CharField(max_length=200)
    kwargs = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [
            models.Index(fields=["created_at"], name="outbox_pending", condition=models.Q(dispatched_at__isnull=True))
        ]

    def __str__(self) -> str:
        return f"{self.task}({self.kwargs}) {'sent' if self.dispatched_at else 'pending'}"


class TaskStat(models.Model):
    """How often each Celery task succeeded, failed or was retried, for /metrics (shared by every worker)."""

    task = models.CharField(max_length=200)
    outcome = models.CharField(max_length=16)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["task", "outcome"], name="one_stat_per_outcome")]

    def __str__(self) -> str:
        return f"{self.task} {self.outcome}: {self.count}"


class WorkerHeartbeat(models.Model):
    """The last time each worker ran the heartbeat task; /metrics turns it into an age to alert on."""

    hostname = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.hostname} at {self.seen_at:%Y-%m-%d %H:%M:%S}"


class MetricCounter(models.Model):
    """A monotonic count of something that happened (e.g. SLA breaches flagged), cheap to read for /metrics."""

    name = models.CharField(max_length=100, unique=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} = {self.value}"

    @classmethod
    def bump(cls, name: str, by: int = 1) -> None:
        """Add `by` atomically, creating the counter on first use."""
        if not cls.objects.filter(name=name).update(value=models.F("value") + by):
            cls.objects.get_or_create(name=name)
            cls.objects.filter(name=name).update(value=models.F("value") + by)


class ApiTokenQuerySet(models.QuerySet):
    def usable(self, now) -> "ApiTokenQuerySet":
        return self.filter(revoked_at__isnull=True, expires_at__gt=now, user__is_active=True)


# What a token may do unless its creator chose otherwise; tokens made before scopes existed got the same.
DEFAULT_TOKEN_SCOPES = f"{TokenScope.READ.value} {TokenScope.WRITE.value}"


class ApiToken(models.Model):
    """A personal API token: only its SHA-256 is stored; it has scopes, it expires, and its owner can revoke it."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What it is for, e.g. 'CI pipeline'.")
    prefix = models.CharField(max_length=8, help_text="The first characters, to recognise it in lists.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    scopes = models.CharField(
        max_length=32, default=DEFAULT_TOKEN_SCOPES, help_text="What it may do: TokenScope values, space-separated."
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="children",
        help_text="The token that created this one: this one never outlives it, and goes when it is revoked.",
    )

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…) of {self.user}"

    @property
    def scope_list(self) -> list[str]:
        """The token's scopes in TokenScope's order."""
        granted = set(self.scopes.split())
        return [scope.value for scope in TokenScope if scope in granted]

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes.split()


class SsoIdentity(models.Model):
    """A person at the OpenID provider (issuer + subject) and the Portico user they sign in as.

    Users are matched on this pair, never on a username or e-mail the provider sends, since those can change hands
    or be set by the person themselves at some providers."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sso_identities")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    last_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="one_user_per_sso_subject")]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer} → {self.user}"


class RateLimitWindow(models.Model):
    """How often one key (e.g. a password-reset address) was used in one fixed time window; in the database so
    every web process counts together."""

    key = models.CharField(max_length=200)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "window_start"], name="one_count_per_window")]
        indexes = [models.Index(fields=["window_start"], name="ratelimit_window_start")]

    def __str__(self) -> str:
        return f"{self.key} since {self.window_start:%Y-%m-%d %H:%M}: {self.count}"
