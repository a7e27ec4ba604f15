"""Browser endpoints of the desk (the lists themselves are the request app's pages)."""

from django.urls import path

from . import views

urlpatterns = [
    path("views/", views.saved_view_save, name="saved-view-save"),
    path("views/<int:pk>/default/", views.saved_view_default, name="saved-view-default"),
    path("views/<int:pk>/delete/", views.saved_view_delete, name="saved-view-delete"),
    path("bulk/", views.bulk, name="desk-bulk"),
]
