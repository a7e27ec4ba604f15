from django.urls import path
from rest_framework.routers import SimpleRouter

from . import review_views, views

router = SimpleRouter()
router.register("oncall", views.OnCallViewSet, basename="oncall")
router.register("pages", views.PageViewSet, basename="page")
router.register("break-glass", views.BreakGlassViewSet, basename="break-glass")

urlpatterns = [
    *router.urls,
    path("hypercare/", review_views.HypercareListView.as_view(), name="hypercare-list"),
    path("requests/<str:reference>/review/", review_views.ReviewView.as_view(), name="request-review"),
    path(
        "requests/<str:reference>/review/publish/",
        review_views.ReviewPublishView.as_view(),
        name="request-review-publish",
    ),
    path(
        "requests/<str:reference>/review/action-items/",
        review_views.ReviewActionItemsView.as_view(),
        name="request-review-action-items",
    ),
]
