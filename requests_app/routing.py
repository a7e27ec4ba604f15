"""Which vendor a request should go to: the most specific active routing rule whose vendor is live."""

from __future__ import annotations

from django.db.models import Q

from .choices import OnboardingStatus
from .models import RoutingRule, ServiceRequest, Vendor, VendorOnboarding


def vendor_is_live(*, vendor_id: int, environment_id: int) -> bool:
    return VendorOnboarding.objects.filter(
        vendor_id=vendor_id, environment_id=environment_id, status=OnboardingStatus.LIVE
    ).exists()


def live_vendors(environment_id: int):
    """Vendors that may receive this environment's requests."""
    return Vendor.objects.filter(
        onboardings__environment_id=environment_id, onboardings__status=OnboardingStatus.LIVE
    ).order_by("name")


def routing_suggest(service_request: ServiceRequest) -> Vendor | None:
    """The vendor the routing rules pick, or None to leave the request with the program manager."""
    rules = (
        RoutingRule.objects.filter(is_active=True)
        .filter(Q(request_type="") | Q(request_type=service_request.request_type))
        .filter(Q(environment__isnull=True) | Q(environment_id=service_request.environment_id))
        .filter(Q(stack__isnull=True) | Q(stack_id=service_request.stack_id))
        .filter(
            vendor__onboardings__environment_id=service_request.environment_id,
            vendor__onboardings__status=OnboardingStatus.LIVE,
        )
        .select_related("vendor")
    )
    best = max(rules, key=lambda rule: (rule.specificity, -rule.pk), default=None)
    return best.vendor if best else None
