from django.urls import path

from . import views

urlpatterns = [
    path("requests/<str:reference>/attachments/", views.AttachmentListView.as_view(), name="request-attachments"),
    path(
        "requests/<str:reference>/attachments/<int:attachment_id>/download/",
        views.AttachmentDownloadView.as_view(),
        name="request-attachment-download",
    ),
]
