"""`{{ policy|goal:"response" }}`: a revision's goal in words, as `SlaPolicy.describe` puts it everywhere else."""

from __future__ import annotations

from django import template

from sla.models import SlaPolicy

register = template.Library()


@register.filter
def goal(policy: SlaPolicy, measure: str) -> str:
    return policy.describe(measure)
