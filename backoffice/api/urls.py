from django.urls import path
from rest_framework.routers import SimpleRouter

from ..routing_rules.api import RoutingRuleViewSet
from . import calendars, views
from .onboarding import VendorOnboardingViewSet

router = SimpleRouter()
router.register("management/changes", views.ChangeRecordViewSet, basename="management-change")
router.register("sla-policies", views.SlaPolicyViewSet, basename="sla-policy")
router.register("calendars", calendars.CalendarViewSet, basename="calendar")
router.register("routing-rules", RoutingRuleViewSet, basename="routing-rule")

urlpatterns = [
    path(
        "vendors/<slug:slug>/onboarding/",
        VendorOnboardingViewSet.as_view({"get": "list"}),
        name="vendor-onboarding-list",
    ),
    path(
        "vendors/<slug:slug>/onboarding/<slug:environment>/move/",
        VendorOnboardingViewSet.as_view({"post": "move"}),
        name="vendor-onboarding-move",
    ),
    path(
        "vendors/<slug:slug>/onboarding/<slug:environment>/checklist/",
        VendorOnboardingViewSet.as_view({"post": "tick"}),
        name="vendor-onboarding-tick",
    ),
    *router.urls,
]
