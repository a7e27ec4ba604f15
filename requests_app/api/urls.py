from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("requests", views.ServiceRequestViewSet, basename="request")
router.register("vendors", views.VendorViewSet, basename="vendor")
router.register("environments", views.EnvironmentViewSet, basename="environment")
router.register("stacks", views.StackViewSet, basename="stack")
router.register("teams", views.TeamViewSet, basename="team")

urlpatterns = [path("me/", views.MeView.as_view(), name="me"), *router.urls]
