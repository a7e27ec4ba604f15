"""Just-in-time access: each grant a run gave is recorded, and revoked at its expiry by a periodic scan."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, cast

from django.db import transaction
from django.utils import timezone

from integrations.connections import adapter_for
from integrations.errors import IntegrationError
from requests_app.choices import EventKind

from ..models import AccessGrant, ProvisioningRun
from ..steps import GrantRecord
from ._shared import event as _event

if TYPE_CHECKING:
    from integrations.gitlab import GitLabPort
    from integrations.kubernetes import KubernetesPort
    from portal.models import User

BREAK_GLASS = "Break-glass access"
SYSTEM_LABELS = {"gitlab": "GitLab", "kubernetes": "Kubernetes", "jenkins": "Jenkins"}


def _grant_text(grant: AccessGrant) -> str:
    where = f"project {grant.target}" if grant.system == "gitlab" else f"namespace {grant.target}"
    return f"{SYSTEM_LABELS[grant.system]}: {grant.subject} as {grant.level} on {where}"


def grant_record(run: ProvisioningRun, record: GrantRecord) -> AccessGrant:
    grant = AccessGrant.objects.filter(
        run=run, system=record.system, target=record.target, subject=record.subject
    ).first()
    created = grant is None
    grant = grant or AccessGrant(run=run, service_request_id=run.service_request_id, system=record.system)
    grant.subject, grant.target, grant.level = record.subject, record.target, record.level
    grant.subject_id, grant.binding_name, grant.expires_at = record.subject_id, record.binding_name, record.expires_at
    grant.revoked_at, grant.revoke_error = None, ""
    grant.break_glass = run.break_glass
    grant.full_clean(exclude=["run", "service_request"], validate_constraints=False)
    grant.save()
    if created:
        _event(
            run,
            actor=None,
            kind=EventKind.ACCESS_GRANTED,
            message=f"{BREAK_GLASS if grant.break_glass else 'Access'} granted — {_grant_text(grant)}, "
            f"until {grant.expires_at:%Y-%m-%d %H:%M} UTC; it is revoked automatically then.",
            grant=grant.pk,
        )
    return grant


def _grant_revoke(grant: AccessGrant, *, actor: User | None = None, because: str = "") -> bool:
    """Remove the access `grant` gave, as `actor` (None: the expiry scan); `because` says why when it is not expiry.
    A failure is kept on the grant (`revoke_error`) and audited once per distinct error."""
    adapter = adapter_for(grant.service_request.environment, grant.system)
    try:
        if grant.system == "gitlab":
            gitlab = cast("GitLabPort", adapter)  # the grant's system chose the adapter
            user_id = int(grant.subject_id) if grant.subject_id else gitlab.find_user_id(grant.subject)
            outcome = gitlab.remove_member(project_id=int(grant.target), user_id=user_id).outcome
        else:
            kubernetes = cast("KubernetesPort", adapter)
            outcome = kubernetes.delete_role_binding(namespace=grant.target, name=grant.binding_name).outcome
    except IntegrationError as exc:
        first = not grant.revoke_error or grant.revoke_error != exc.message
        grant.revoke_error, grant.revoke_attempts = exc.message, grant.revoke_attempts + 1
        grant.save(update_fields=["revoke_error", "revoke_attempts"])
        if first:  # audit the failure once per distinct error, not on every scan
            what = "access" if because else "expired access"
            retried = "" if because else " It is retried every scan."
            _event(
                grant.run,
                actor=actor,
                kind=EventKind.ACCESS_REVOKE_FAILED,
                message=f"Could not revoke {what} — {_grant_text(grant)}: {exc.message}{retried}",
                grant=grant.pk,
            )
        return False
    finally:
        close = getattr(adapter, "close", None)
        if close:
            close()
    grant.revoked_at, grant.revoke_error = timezone.now(), ""
    grant.revoke_attempts += 1
    grant.save(update_fields=["revoked_at", "revoke_error", "revoke_attempts"])
    gone = " (it was already gone)" if outcome == "absent" else ""
    why = because or f"it expired {grant.expires_at:%Y-%m-%d %H:%M} UTC"
    _event(
        grant.run,
        actor=actor,
        kind=EventKind.ACCESS_REVOKED,
        message=f"Access revoked — {_grant_text(grant)}; {why}{gone}.",
        grant=grant.pk,
    )
    return True


def access_grant_text(grant: AccessGrant) -> str:
    """The grant in words: “GitLab: asha as developer on project 42”."""
    return _grant_text(grant)


def access_grant_revoke(grant: AccessGrant, *, actor: User, because: str) -> bool:
    """Revoke `grant` now, before its expiry (`because` says why, on the request's timeline): True if the access is
    gone; False if the system refused, with the reason kept in `grant.revoke_error`. A grant already revoked is left
    alone (True)."""
    with transaction.atomic():
        locked = (
            AccessGrant.objects.select_for_update(of=("self",))
            .select_related("service_request__environment", "run__service_request")
            .get(pk=grant.pk)
        )
        done = locked.revoked_at is not None or _grant_revoke(locked, actor=actor, because=because)
    grant.refresh_from_db()
    return done


def access_grants_revoke_expired(*, now: datetime | None = None, batch: int = 100) -> int:
    """Revoke every grant past its expiry, including those that expired while no worker ran; safe on two workers."""
    now = now or timezone.now()
    revoked = 0
    tried: list[int] = []
    while True:
        with transaction.atomic():
            grants = list(
                AccessGrant.objects.expired(now)
                .exclude(pk__in=tried)
                .select_for_update(of=("self",), skip_locked=True)
                .select_related("service_request__environment", "run__service_request")
                .order_by("expires_at", "pk")[:batch]
            )
            for grant in grants:
                tried.append(grant.pk)
                revoked += _grant_revoke(grant)
        if len(grants) < batch:
            return revoked
