from django.urls import path

from . import views

urlpatterns = [
    path("mail/inbound/", views.inbound_list, name="inbound-list"),
    path("mail/inbound/<int:message_id>/raw/", views.inbound_raw, name="inbound-raw"),
]
