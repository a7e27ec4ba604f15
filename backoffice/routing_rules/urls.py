from django.urls import path

from . import views

urlpatterns = [
    path("manage/routing/", views.routing_rules, name="backoffice-routing"),
    path("manage/routing/new/", views.routing_rule_new, name="backoffice-routing-new"),
    path("manage/routing/test/", views.routing_test, name="backoffice-routing-test"),
    path("manage/routing/<int:rule_id>/", views.routing_rule_edit, name="backoffice-routing-edit"),
    path("manage/routing/<int:rule_id>/delete/", views.routing_rule_remove, name="backoffice-routing-delete"),
]
