from django.urls import path

from . import views

urlpatterns = [
    path("notifications/", views.notification_list, name="notification-list"),
    path("notifications/read/", views.notification_mark_all_read, name="notification-mark-all-read"),
    path("notifications/unread/", views.notification_unread, name="notification-unread"),
    path("notifications/deliveries/", views.delivery_failures, name="notification-deliveries"),
    path("account/notifications/", views.notification_settings, name="notification-settings"),
    path("requests/<str:reference>/watch/", views.request_watch, name="request-watch"),
    path("requests/<str:reference>/mentionable/", views.request_mentionable, name="request-mentionable"),
]
