from django.urls import path

from . import views

urlpatterns = [
    path("manage/", views.index, name="backoffice-home"),
    path("manage/history/", views.history, name="backoffice-history"),
]
