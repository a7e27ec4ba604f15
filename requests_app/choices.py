"""Enumerations of the request domain."""

from django.db import models

# The user model's field lives in the kernel (which imports no domain app); the domain keeps using the name here.
from portal.choices import VendorRole as VendorRole


class RequestType(models.TextChoices):
    INFRA_PROVISION = "InfraProvision", "Infra provision"
    TROUBLESHOOTING = "Troubleshooting", "Troubleshooting"
    NEW_FEATURE = "NewFeature", "New feature / enhancement"
    ACCESS_OPS = "AccessOps", "Access ops"
    GIT_OPS = "GitOps", "GitOps"
    DEPLOYMENT_SUPPORT = "DeploymentSupport", "Deployment support"
    RELEASE = "Release", "Release"
    CI_PIPELINE = "CIPipeline", "CI pipeline"
    PRODUCTION_ISSUE = "ProductionIssue", "Production issue"


class Priority(models.TextChoices):
    # What each priority means; its targets are the versioned SLA policy's (`sla.policies.priority_choices`).
    P0 = "P0", "P0 — critical"
    P1 = "P1", "P1 — same day"
    P2 = "P2", "P2 — a few days"
    P3 = "P3", "P3 — a week or two"
    P4 = "P4", "P4 — planned ahead"


class RequestState(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    PENDING_APPROVAL = "pending_approval", "Pending approval"
    QUEUED = "queued", "Queued"
    IN_PROGRESS = "in_progress", "In progress"
    WAITING_ON_REQUESTER = "waiting_on_requester", "Waiting on requester"
    BLOCKED = "blocked", "Blocked"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"


OPEN_STATES = (
    RequestState.SUBMITTED,
    RequestState.PENDING_APPROVAL,
    RequestState.QUEUED,
    RequestState.IN_PROGRESS,
    RequestState.WAITING_ON_REQUESTER,
    RequestState.BLOCKED,
)
FINAL_STATES = (RequestState.CLOSED, RequestState.REJECTED, RequestState.CANCELLED)


class OnboardingStatus(models.TextChoices):
    """The stages of a vendor's onboarding in one environment (the machine: `backoffice/onboarding/machine.py`)."""

    EVALUATION = "evaluation", "Evaluation"
    SHORTLISTED = "shortlisted", "Shortlisted"
    TRAINING = "training", "Training"
    NDA_SIGNED = "nda_signed", "NDA signed"
    DOCUMENTATION_SHARED = "documentation_shared", "Documentation shared"
    ACCESS_GRANTED = "access_granted", "Access granted"
    LIVE = "live", "Live"
    PAUSED = "paused", "Paused"
    OFFBOARDED = "offboarded", "Offboarded"


class RoutingOutcome(models.TextChoices):
    """What routing decided for a request, and so which explanation it gives."""

    ROUTED = "routed", "Routed"
    NO_RULE = "no_rule", "No rule matches"
    VENDOR_NOT_LIVE = "vendor_not_live", "Vendor not live"
    RULE_INACTIVE = "rule_inactive", "Rule inactive"


class EventKind(models.TextChoices):
    FILED = "filed", "Filed"
    UPDATED = "updated", "Updated"
    COMMENT = "comment", "Comment"
    TRIAGE = "triage", "Triaged"
    APPROVE = "approve", "Approved"
    DENY = "deny", "Denied"
    PICK_UP = "pick_up", "Picked up"
    REASSIGN = "reassign", "Reassigned"
    REQUEST_INFO = "request_info", "Information requested"
    PROVIDE_INFO = "provide_info", "Information provided"
    ESCALATE = "escalate", "Escalated"
    UNBLOCK = "unblock", "Unblocked"
    RESOLVE = "resolve", "Resolved"
    CONFIRM = "confirm", "Confirmed"
    REOPEN = "reopen", "Reopened"
    REJECT = "reject", "Rejected"
    CANCEL = "cancel", "Cancelled"
    AUTO_CLOSE = "auto_close", "Closed automatically"
    PRIORITY_CHANGED = "priority_changed", "Priority changed"
    SLA_AT_RISK = "sla_at_risk", "SLA at risk"
    SLA_BREACHED = "sla_breached", "SLA breached"
    SLA_RECOMPUTED = "sla_recomputed", "SLA recomputed"
    SLA_EXTENDED = "sla_extended", "Due time extended"
    JIRA_COMMENT = "jira_comment", "Comment from Jira"
    JIRA_CONFLICT = "jira_conflict", "Jira conflict"
    JIRA_SYNC_FAILED = "jira_sync_failed", "Jira sync failed"
    PROVISIONING_STARTED = "provisioning_started", "Automation started"
    PROVISIONING_SUCCEEDED = "provisioning_succeeded", "Automation succeeded"
    PROVISIONING_FAILED = "provisioning_failed", "Automation failed"
    PROVISIONING_RESUMED = "provisioning_resumed", "Automation resumed"
    PROVISIONING_CANCELLED = "provisioning_cancelled", "Automation cancelled"
    ACCESS_GRANTED = "access_granted", "Access granted"
    ACCESS_REVOKED = "access_revoked", "Access revoked"
    ACCESS_REVOKE_FAILED = "access_revoke_failed", "Access revoke failed"
    ATTACHMENT_ADDED = "attachment_added", "Attachment added"
    LINK_ADDED = "link_added", "Link added"
    LINK_REMOVED = "link_removed", "Link removed"
    PAGED = "paged", "On call paged"
    PAGE_ESCALATED = "page_escalated", "Page escalated"
    PAGE_ACKNOWLEDGED = "page_acknowledged", "Page acknowledged"
    BREAK_GLASS = "break_glass", "Break-glass access taken"
    BREAK_GLASS_REVIEWED = "break_glass_reviewed", "Break-glass access reviewed"


# Link events name the other request (payload "other"): a viewer sees them only if they can see that request too.
LINK_EVENT_KINDS = (EventKind.LINK_ADDED, EventKind.LINK_REMOVED)

RATING_MIN, RATING_MAX = 1, 5
RATING_CHOICES = [
    (n, f"{n} – {label}")
    for n, label in enumerate(
        ("Very dissatisfied", "Dissatisfied", "Neutral", "Satisfied", "Very satisfied"), start=RATING_MIN
    )
]


class LinkKind(models.TextChoices):
    """How two requests relate, read from the stored link's source."""

    PARENT = "parent", "Parent of"
    CAUSES = "causes", "Causes"
    RELATES = "relates", "Relates to"


# Timeline entries whose message is text a person wrote (a comment, a question, an answer, a reason): the search
# document includes these and leaves out Portico's own notices (SLA warnings, automation progress). The
# migration `0016_request_search_documents` writes this list into its trigger; change both together.
SEARCHABLE_EVENT_KINDS = (
    EventKind.COMMENT,
    EventKind.JIRA_COMMENT,
    EventKind.REQUEST_INFO,
    EventKind.PROVIDE_INFO,
    EventKind.ESCALATE,
    EventKind.UNBLOCK,
    EventKind.RESOLVE,
    EventKind.REOPEN,
    EventKind.REJECT,
    EventKind.DENY,
    EventKind.APPROVE,
    EventKind.CANCEL,
)
