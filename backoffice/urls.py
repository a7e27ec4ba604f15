from django.urls import path

from . import calendar_views, policy_views, views

urlpatterns = [
    path("manage/", views.index, name="backoffice-home"),
    path("manage/history/", views.history, name="backoffice-history"),
    path("manage/sla-policies/", policy_views.sla_policies, name="backoffice-sla-policies"),
    path(
        "manage/sla-policies/<str:priority>/revise/",
        policy_views.sla_policy_revise,
        name="backoffice-sla-policy-revise",
    ),
    path("manage/calendars/", calendar_views.calendar_list, name="backoffice-calendars"),
    path("manage/calendars/<slug:slug>/", calendar_views.calendar_detail, name="backoffice-calendar"),
    path("manage/calendars/<slug:slug>/year/", calendar_views.calendar_year_view, name="backoffice-calendar-year"),
    path(
        "manage/calendars/<slug:slug>/settings/", calendar_views.calendar_settings, name="backoffice-calendar-settings"
    ),
    path("manage/calendars/<slug:slug>/import/", calendar_views.calendar_import, name="backoffice-calendar-import"),
    path("manage/calendars/<slug:slug>/days/add/", calendar_views.calendar_day_add, name="backoffice-calendar-day-add"),
    path(
        "manage/calendars/<slug:slug>/days/remove/",
        calendar_views.calendar_day_remove,
        name="backoffice-calendar-day-remove",
    ),
    path(
        "manage/calendars/<slug:slug>/closures/add/",
        calendar_views.calendar_closure_add,
        name="backoffice-calendar-closure-add",
    ),
    path(
        "manage/calendars/<slug:slug>/closures/<int:closure_id>/remove/",
        calendar_views.calendar_closure_remove,
        name="backoffice-calendar-closure-remove",
    ),
]
