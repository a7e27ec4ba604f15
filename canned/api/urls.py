from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("canned-responses", views.CannedResponseViewSet, basename="canned-response")

urlpatterns = router.urls
