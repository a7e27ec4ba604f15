from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("oncall", views.OnCallViewSet, basename="oncall")
router.register("pages", views.PageViewSet, basename="page")
router.register("break-glass", views.BreakGlassViewSet, basename="break-glass")

urlpatterns = router.urls
