"""Jira's `issuelink_created` and `issuelink_deleted` webhooks, applied to the portal's links between requests.

Jira names the two issues by id (`sourceIssueId` "outward description" `destinationIssueId`, e.g. A causes B) and
the link by its id. A link both of whose issues mirror portal requests becomes a portal link, made by Portico on
Jira's behalf (`origin: jira` on both events, so the mirror does not push it back); its removal in Jira removes
the portal link. A link Portico pushed itself is recognised by its id (`JiraIssueLink`) and left alone, and so is
the echo of a removal Portico made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from portal.exceptions import PortalError
from requests_app.choices import EventKind, LinkKind
from requests_app.models import RequestLink, ServiceRequest
from requests_app.services import link_add, link_remove
from requests_app.timeline import timeline_append

from .choices import DeliveryOutcome
from .mapping import JIRA_LINK_RELATIONS
from .models import JiraIssueLink, JiraLink
from .payload import as_dict

if TYPE_CHECKING:
    from .models import JiraDelivery

LINK_EVENTS = frozenset({"issuelink_created", "issuelink_deleted"})
# Jira's outward description of a link type -> the portal's link kind; the relation names it from its source.
KIND_FOR_OUTWARD = {outward: kind for kind, outward in JIRA_LINK_RELATIONS.items()}
RELATION_FROM_SOURCE: dict[str, str] = {
    LinkKind.PARENT: "parent_of",
    LinkKind.CAUSES: "causes",
    LinkKind.RELATES: "relates_to",
}


@dataclass(frozen=True)
class LinkOutcome:
    """What became of one link delivery: a note, how it counts, and the request it concerned (if any)."""

    note: str
    outcome: str = DeliveryOutcome.IGNORED
    service_request: ServiceRequest | None = None


def jira_issue_link_apply(*, delivery: JiraDelivery, payload: dict[str, Any]) -> LinkOutcome:
    """Apply one `issuelink_*` delivery (inside the delivery's processing transaction)."""
    data = as_dict(payload.get("issueLink"))
    link_id = str(data.get("id") or "")
    if not link_id:
        return LinkOutcome(f"{payload.get('webhookEvent')} names no issue link")
    if payload.get("webhookEvent") == "issuelink_created":
        return _created(delivery, data, link_id)
    return _deleted(delivery, link_id)


def _origin(delivery: JiraDelivery, link_id: str) -> dict[str, str]:
    return {"origin": "jira", "jira_link_id": link_id, "delivery": delivery.delivery_id}


def _created(delivery: JiraDelivery, data: dict[str, Any], link_id: str) -> LinkOutcome:
    environment = delivery.environment
    if JiraIssueLink.objects.filter(environment=environment, jira_link_id=link_id).exists():
        return LinkOutcome(f"issue link {link_id} is Portico's own")
    link_type = as_dict(data.get("issueLinkType"))
    outward = str(link_type.get("outwardName") or link_type.get("outward") or "")
    kind = KIND_FOR_OUTWARD.get(outward.lower())
    if kind is None:
        return LinkOutcome(f"issue link type {link_type.get('name') or outward!r} is no portal link")
    ends = {
        str(link.jira_id): link
        for link in JiraLink.objects.select_related("service_request").filter(
            environment=environment, jira_id__in=[str(data.get("sourceIssueId")), str(data.get("destinationIssueId"))]
        )
    }
    source, target = ends.get(str(data.get("sourceIssueId"))), ends.get(str(data.get("destinationIssueId")))
    if source is None or target is None:
        return LinkOutcome(f"issue link {link_id} joins an issue no request in {environment} is linked to")
    this, other = source.service_request, target.service_request
    same = RequestLink.objects.filter(source=this, target=other, kind=kind)
    if kind == LinkKind.RELATES:
        same |= RequestLink.objects.filter(source=other, target=this, kind=kind)
    if same.exists():
        # Also the echo of Portico's own push when it arrives before the push recorded the link's id.
        return LinkOutcome(f"{this.reference} is already linked to {other.reference} that way", service_request=this)
    try:
        with transaction.atomic():
            made = link_add(
                actor=None,
                service_request=this,
                relation=RELATION_FROM_SOURCE[kind],
                other_reference=other.reference or "",
                origin=_origin(delivery, link_id),
            )
    except PortalError as exc:
        timeline_append(
            this,
            kind=EventKind.JIRA_CONFLICT,
            message=(
                f"{source.jira_key} was linked to {target.jira_key} in Jira ({outward}), but the portal cannot link "
                f"{this.reference} to {other.reference}: {exc.message} Please reconcile the two."
            ),
            internal=True,
            payload={**_origin(delivery, link_id), "source": "jira", "refused": "link_add"},
        )
        return LinkOutcome(f"issue link {link_id} refused: {exc.message}", DeliveryOutcome.CONFLICT, this)
    JiraIssueLink.objects.create(
        environment=environment,
        request_link_id=made.pk,
        jira_link_id=link_id,
        inward_key=source.jira_key,
        outward_key=target.jira_key,
        kind=kind,
    )
    note = f"issue link {link_id}: {this.reference} {outward} {other.reference}"
    return LinkOutcome(note, DeliveryOutcome.APPLIED, this)


def _deleted(delivery: JiraDelivery, link_id: str) -> LinkOutcome:
    twin = (
        JiraIssueLink.objects.select_for_update().filter(environment=delivery.environment, jira_link_id=link_id).first()
    )
    if twin is None:
        return LinkOutcome(f"issue link {link_id} is not a link between requests")
    if twin.deleted_at is not None:
        return LinkOutcome(f"issue link {link_id} was removed by Portico (or already applied)")
    twin.deleted_at = timezone.now()
    twin.save(update_fields=["deleted_at"])
    found = RequestLink.objects.select_related("source").filter(pk=twin.request_link_id).first()
    if found is None:
        return LinkOutcome(f"issue link {link_id}: the portal link was already removed")
    link_remove(actor=None, service_request=found.source, link_id=found.pk, origin=_origin(delivery, link_id))
    return LinkOutcome(f"issue link {link_id} removed: portal link unlinked", DeliveryOutcome.APPLIED, found.source)
