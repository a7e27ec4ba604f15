from django.urls import path

from . import policy_views, views

urlpatterns = [
    path("manage/", views.index, name="backoffice-home"),
    path("manage/history/", views.history, name="backoffice-history"),
    path("manage/sla-policies/", policy_views.sla_policies, name="backoffice-sla-policies"),
    path(
        "manage/sla-policies/<str:priority>/revise/",
        policy_views.sla_policy_revise,
        name="backoffice-sla-policy-revise",
    ),
]
