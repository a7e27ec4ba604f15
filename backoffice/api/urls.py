from rest_framework.routers import SimpleRouter

from . import calendars, views

router = SimpleRouter()
router.register("management/changes", views.ChangeRecordViewSet, basename="management-change")
router.register("sla-policies", views.SlaPolicyViewSet, basename="sla-policy")
router.register("calendars", calendars.CalendarViewSet, basename="calendar")

urlpatterns = router.urls
