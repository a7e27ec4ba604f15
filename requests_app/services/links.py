"""Links between requests (parent/child, causes/caused by, relates to): added and removed by anyone who can see
both requests, audited on both timelines, and shown to each viewer only where they can see the other request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction

from portal.exceptions import NotFound, ValidationFailed

from ..choices import EventKind, LinkKind
from ..compiled import rows_of_request
from ..models import RequestLink, ServiceRequest
from ..timeline import timeline_append

if TYPE_CHECKING:
    from portal.models import User


@dataclass(frozen=True)
class Relation:
    """One way of reading a link from a request's side: the stored kind, and whether this request is its source."""

    label: str
    kind: str
    outgoing: bool


# The relations a person picks on a request's page or in the API, from that request's side.
RELATIONS: dict[str, Relation] = {
    "parent_of": Relation("Parent of", LinkKind.PARENT, outgoing=True),
    "child_of": Relation("Child of", LinkKind.PARENT, outgoing=False),
    "causes": Relation("Causes", LinkKind.CAUSES, outgoing=True),
    "caused_by": Relation("Caused by", LinkKind.CAUSES, outgoing=False),
    "relates_to": Relation("Relates to", LinkKind.RELATES, outgoing=True),
}
RELATION_CHOICES = [(name, relation.label) for name, relation in RELATIONS.items()]


def relation_of(link: RequestLink, side: ServiceRequest) -> str:
    """The relation's name as read from `side` (one of the link's two requests)."""
    outgoing = link.source_id == side.pk
    if link.kind == LinkKind.RELATES:
        return "relates_to"
    for name, relation in RELATIONS.items():
        if relation.kind == link.kind and relation.outgoing == outgoing:
            return name
    raise ValueError(f"No relation for {link.kind!r}")


@dataclass(frozen=True)
class LinkView:
    """A link as one viewer sees it from one request: the relation and the other request."""

    link: RequestLink
    relation: str
    label: str
    other: ServiceRequest


def _links_of(viewer: User, request_id: int) -> Any:
    visible = ServiceRequest.objects.visible_to(viewer).values("pk")
    links = (
        RequestLink.objects.filter(source=request_id, target__in=visible)
        | RequestLink.objects.filter(target=request_id, source__in=visible)
    ).select_related("source", "target")
    return links.order_by("created_at", "pk")


def links_of(service_request: ServiceRequest, *, user: User) -> list[LinkView]:
    """The request's links both ways, only to requests `user` can see, in the order they were made (read through a
    query compiled once per process and viewer shape: the request page shows them on every visit)."""
    out = []
    for link in rows_of_request(_links_of, service_request.pk, user=user):
        relation = relation_of(link, service_request)
        other = link.target if link.source_id == service_request.pk else link.source
        out.append(LinkView(link=link, relation=relation, label=RELATIONS[relation].label, other=other))
    return out


def _descendants(root_pk: int) -> set[int]:
    """Every request below `root_pk` through parent links (the children, their children, ...)."""
    seen: set[int] = set()
    frontier = {root_pk}
    while frontier:
        children = set(
            RequestLink.objects.filter(kind=LinkKind.PARENT, source__in=frontier).values_list("target", flat=True)
        )
        frontier = children - seen
        seen |= children
    return seen


def _locked_pair(
    actor: User | None, service_request: ServiceRequest, other_reference: str
) -> tuple[ServiceRequest, ...]:
    visible = ServiceRequest.objects.visible_to(actor) if actor else ServiceRequest.objects.all()
    if not visible.filter(pk=service_request.pk).exists():
        raise NotFound(f"No request {service_request.reference}.")
    reference = (other_reference or "").strip().upper()
    other = visible.filter(reference=reference).first() if reference else None
    if other is None:
        message = f"No request “{reference}” that you can see." if reference else "Give the other request's reference."
        raise ValidationFailed(message, fields={"other": message})
    # Both rows locked in one order, so two people linking the same pair at once queue instead of racing.
    list(ServiceRequest.objects.filter(pk__in=[service_request.pk, other.pk]).order_by("pk").select_for_update())
    return service_request, other


@transaction.atomic
def link_add(
    *,
    actor: User | None,
    service_request: ServiceRequest,
    relation: str,
    other_reference: str,
    origin: dict[str, Any] | None = None,
) -> RequestLink:
    """Link `service_request` to the request `other_reference` as `relation` (read from `service_request`).

    `actor` None is Portico acting for another system, which `origin` names (`{"origin": "jira", ...}`) on both
    events, so the change is not sent back where it came from."""
    spec = RELATIONS.get(relation)
    if spec is None:
        message = "Choose how the requests relate."
        raise ValidationFailed(message, fields={"relation": message})
    this, other = _locked_pair(actor, service_request, other_reference)
    if this.pk == other.pk:
        message = "A request cannot be linked to itself."
        raise ValidationFailed(message, fields={"other": message})
    source, target = (this, other) if spec.outgoing else (other, this)
    duplicate = RequestLink.objects.filter(source=source, target=target, kind=spec.kind)
    if spec.kind == LinkKind.RELATES:
        duplicate |= RequestLink.objects.filter(source=target, target=source, kind=spec.kind)
    if duplicate.exists():
        message = f"{this.reference} is already linked to {other.reference} that way."
        raise ValidationFailed(message, fields={"other": message})
    if spec.kind == LinkKind.PARENT and (source.pk in _descendants(target.pk)):
        message = f"{source.reference} is already below {target.reference}: the link would make a loop."
        raise ValidationFailed(message, fields={"other": message})
    link = RequestLink(source=source, target=target, kind=spec.kind, created_by=actor)
    link.full_clean()
    link.save()
    _audit(link, EventKind.LINK_ADDED, actor=actor, origin=origin)
    return link


@transaction.atomic
def link_remove(
    *, actor: User | None, service_request: ServiceRequest, link_id: int, origin: dict[str, Any] | None = None
) -> None:
    """Remove one of `service_request`'s links; the actor must see both requests (else it does not exist).

    `actor` None is Portico acting for the system `origin` names, as in `link_add`."""
    if actor is None:
        touching = RequestLink.objects.filter(source=service_request) | RequestLink.objects.filter(
            target=service_request
        )
        found = touching.select_related("source", "target").filter(pk=link_id).first()
    else:
        found = next((view.link for view in links_of(service_request, user=actor) if view.link.pk == link_id), None)
    if found is None:
        raise NotFound("No such link on this request.")
    other = found.target if found.source_id == service_request.pk else found.source
    _locked_pair(actor, service_request, other.reference or "")
    _audit(found, EventKind.LINK_REMOVED, actor=actor, origin=origin)
    found.delete()


def _audit(link: RequestLink, kind: str, *, actor: User | None, origin: dict[str, Any] | None) -> None:
    """One event on each request, naming the other (hidden from viewers who cannot see it)."""
    verb = "Linked" if kind == EventKind.LINK_ADDED else "Unlinked"
    where = f" in {str(origin['origin']).title()}" if origin and origin.get("origin") else ""
    for side, other in ((link.source, link.target), (link.target, link.source)):
        relation = relation_of(link, side)
        label = RELATIONS[relation].label.lower()
        timeline_append(
            side,
            actor=actor,
            kind=kind,
            message=f"{verb}{where}: {label} {other.reference}.",
            # `source`, `kind` and `link`: the Jira mirror pushes a link (and its removal) once, from its source's
            # side, and finds the Jira issue link by the portal link's id after the link is gone.
            payload={
                **(origin or {}),
                "other": other.reference,
                "relation": relation,
                "kind": link.kind,
                "source": side == link.source,
                "link": link.pk,
            },
        )
