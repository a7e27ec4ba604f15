from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("oncall", views.OnCallViewSet, basename="oncall")

urlpatterns = router.urls
