from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("views", views.SavedViewViewSet, basename="saved-view")

urlpatterns = [path("requests/bulk/", views.RequestBulkView.as_view(), name="requests-bulk"), *router.urls]
