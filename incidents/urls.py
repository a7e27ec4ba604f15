from django.urls import path

from . import review_views, views

urlpatterns = [
    path("oncall/", views.oncall_list, name="oncall-list"),
    path("oncall/<int:rota_id>/", views.oncall_rota, name="oncall-rota"),
    path("oncall/<int:rota_id>/overrides/", views.oncall_override_add, name="oncall-override-add"),
    path(
        "oncall/<int:rota_id>/overrides/<int:override_id>/delete/",
        views.oncall_override_delete,
        name="oncall-override-delete",
    ),
    path("oncall/<int:rota_id>/calendar-token/", views.oncall_token_reset, name="oncall-token-reset"),
    path("oncall/<int:rota_id>/delete/", views.oncall_rota_delete, name="oncall-rota-delete"),
    path("oncall/<int:rota_id>/calendar.ics", views.oncall_calendar, name="oncall-calendar"),
    path("pages/acknowledge/<str:token>/", views.page_acknowledge_link, name="page-acknowledge-link"),
    path("pages/<int:page_id>/acknowledge/", views.page_acknowledge, name="page-acknowledge"),
    path("requests/<str:reference>/break-glass/", views.break_glass_take, name="break-glass-take"),
    path("break-glass/<int:grant_id>/review/", views.break_glass_review, name="break-glass-review"),
    path("hypercare/", review_views.hypercare_list, name="hypercare-list"),
    path("requests/<str:reference>/hypercare/", review_views.request_hypercare_open, name="request-hypercare-open"),
    path("requests/<str:reference>/review/", review_views.request_review, name="request-review"),
    path("requests/<str:reference>/review/open/", review_views.request_review_open, name="request-review-open"),
    path(
        "requests/<str:reference>/review/publish/", review_views.request_review_publish, name="request-review-publish"
    ),
    path(
        "requests/<str:reference>/review/action-items/",
        review_views.request_review_action_item,
        name="request-review-action-item",
    ),
]
