from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("management/changes", views.ChangeRecordViewSet, basename="management-change")
router.register("sla-policies", views.SlaPolicyViewSet, basename="sla-policy")

urlpatterns = router.urls
