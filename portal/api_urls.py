"""Everything under /api/: version 1 of the API, its OpenAPI schema and docs, and a JSON 404 for the rest."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from portal.api.views import ApiTokenDetailView, ApiTokenListView, api_not_found
from portal.security import redoc_csp, swagger_csp

# Namespaced so API route names ("api:request-detail") never collide with the browser UI's.
app_name = "api"

urlpatterns = [
    path("v1/me/tokens/", ApiTokenListView.as_view(), name="me-tokens"),
    path("v1/me/tokens/<int:token_id>/", ApiTokenDetailView.as_view(), name="me-token"),
    path("v1/", include("conversations.api_urls")),
    path("v1/", include("desk.api.urls")),
    path("v1/", include("requests_app.api.urls")),
    path("v1/reports/", include("reports.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's init script as a file, so the docs need no inline script (see portal.security).
    path("docs/", swagger_csp(SpectacularSwaggerSplitView.as_view(url_name="api:schema")), name="docs"),
    path("redoc/", redoc_csp(SpectacularRedocView.as_view(url_name="api:schema")), name="redoc"),
    path("v1/webhooks/jira/", include("jira_bridge.urls")),
    path("v1/webhooks/alertmanager/", include("inbound.alertmanager_urls")),
    path("v1/", include("provisioning.api.urls")),
    path("v1/", include("attachments.api.urls")),
    path("v1/", include("canned.api.urls")),
    path("v1/", include("backoffice.api.urls")),
    path("v1/", include("announcements.api.urls")),
    path("v1/", include("incidents.api.urls")),
    re_path(r"^(?P<path>.*)$", api_not_found),  # keep last: it answers every path not matched above
]
