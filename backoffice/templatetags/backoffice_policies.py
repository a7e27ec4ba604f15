"""`{{ policy|goal:"response" }}`: a revision's goal in words, as `SlaPolicy.describe` puts it everywhere else."""

from __future__ import annotations

from django import template

from sla.choices import pause_reason_label, pause_reasons_in_order
from sla.models import SlaPolicy

register = template.Library()


@register.filter
def goal(policy: SlaPolicy, measure: str) -> str:
    return policy.describe(measure)


@register.filter
def pauses(policy: SlaPolicy) -> str:
    """`waiting on requester, waiting on a third party`: the reasons that stop the policy's clocks, in words."""
    labels = [pause_reason_label(reason) for reason in pause_reasons_in_order(policy.pause_reasons or [])]
    return ", ".join(labels) or "never (the clocks always run)"
