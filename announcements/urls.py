from django.urls import path

from . import views

urlpatterns = [
    path("manage/announcements/", views.announcement_manage, name="announcement-manage"),
    path("manage/announcements/new/", views.announcement_new, name="announcement-new"),
    path("manage/announcements/<int:announcement_id>/", views.announcement_detail, name="announcement-detail"),
    path("manage/announcements/<int:announcement_id>/edit/", views.announcement_edit, name="announcement-edit"),
    path("manage/announcements/<int:pk>/withdraw/", views.announcement_withdraw, name="announcement-withdraw"),
    path("announcements/<int:pk>/acknowledge/", views.announcement_ack, name="announcement-acknowledge"),
]
