from django.urls import path

from . import views

urlpatterns = [
    path("canned-responses/", views.canned_list, name="canned-list"),
    path("canned-responses/<int:canned_id>/", views.canned_edit, name="canned-edit"),
    path("canned-responses/<int:canned_id>/delete/", views.canned_remove, name="canned-delete"),
]
