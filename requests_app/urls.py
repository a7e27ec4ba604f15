"""Browser pages of the request portal."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("requests/new/", views.request_new, name="request-new"),
    path("requests/new/validate/", views.request_new_validate, name="request-new-validate"),
    path("requests/<str:reference>/", views.request_detail, name="request-detail"),
    path("requests/<str:reference>/edit/", views.request_edit, name="request-edit"),
    path("requests/<str:reference>/transitions/<str:name>/", views.request_transition, name="request-transition"),
    path("requests/<str:reference>/extensions/", views.request_extend, name="request-extend"),
    path("requests/<str:reference>/comments/", views.request_comment, name="request-comment"),
    path("requests/<str:reference>/links/", views.request_link_add, name="request-link-add"),
    path("requests/<str:reference>/links/<int:link_id>/delete/", views.request_link_remove, name="request-link-remove"),
    path("queue/", views.vendor_queue, name="vendor-queue"),
    path("triage/", views.triage_inbox, name="triage-inbox"),
    path("approvals/", views.approvals, name="approvals"),
]
