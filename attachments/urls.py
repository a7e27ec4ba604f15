from django.urls import path

from . import views

urlpatterns = [
    path("requests/<str:reference>/attachments/", views.attachment_upload, name="attachment-upload"),
    path("requests/<str:reference>/attachments/<int:attachment_id>/", views.attachment_get, name="attachment-get"),
]
