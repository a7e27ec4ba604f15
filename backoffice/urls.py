from django.urls import include, path

from . import views

urlpatterns = [
    path("manage/", views.index, name="backoffice-home"),
    path("manage/history/", views.history, name="backoffice-history"),
    path("", include("backoffice.routing_rules.urls")),
]
