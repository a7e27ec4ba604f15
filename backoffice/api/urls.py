from rest_framework.routers import SimpleRouter

from ..routing_rules.api import RoutingRuleViewSet
from . import views

router = SimpleRouter()
router.register("management/changes", views.ChangeRecordViewSet, basename="management-change")
router.register("routing-rules", RoutingRuleViewSet, basename="routing-rule")

urlpatterns = router.urls
