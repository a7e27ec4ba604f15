"""The conversations API: my notification settings, following a request, mention autocomplete, chat webhooks."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.parsers import PortalJSONParser
from portal.api.schema import error_responses
from portal.api.viewsets import PortalViewSet
from portal.exceptions import Forbidden, NotFound
from portal.http import AuthenticatedRequest
from requests_app import permissions as perms
from requests_app.models import ServiceRequest

from . import watchers
from .models import Channel, ChatWebhook, RequestMute
from .preferences import notification_settings, notification_settings_set
from .serializers import (
    ChatWebhookSerializer,
    MentionQuerySerializer,
    NotificationSettingsSerializer,
    PersonSerializer,
    WatchersSerializer,
    WatchInputSerializer,
)


def _parse(serializer_class: type, data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _visible_request(request: AuthenticatedRequest, reference: str) -> ServiceRequest:
    found = ServiceRequest.objects.visible_to(request.user).filter(reference=reference).first()
    if found is None:
        raise NotFound("No such request.")
    return found


class NotificationSettingsView(APIView):
    """How I hear about requests, per channel, and where my own chat posts go."""

    parser_classes = [PortalJSONParser]

    @extend_schema(responses={200: NotificationSettingsSerializer, **error_responses(401)})
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response(notification_settings(request.user))

    @extend_schema(
        request=NotificationSettingsSerializer,
        responses={200: NotificationSettingsSerializer, **error_responses(400, 401)},
    )
    def put(self, request: AuthenticatedRequest) -> Response:
        fields = _parse(NotificationSettingsSerializer, request.data)
        modes = {channel.value: fields[channel.value] for channel in Channel if channel.value in fields}
        return Response(
            notification_settings_set(
                request.user,
                modes=modes,
                chat_webhook_url=fields.get("chat_webhook_url"),
                chat_webhook_kind=fields.get("chat_webhook_kind", ""),
            )
        )


class RequestWatchersView(APIView):
    """Who watches a request; watch (with mute or copy-team options) or stop watching it."""

    parser_classes = [PortalJSONParser]

    def _render(self, service_request: ServiceRequest, request: AuthenticatedRequest) -> Response:
        people = [w.user for w in service_request.watchers.select_related("user").order_by("user__username")]
        return Response(
            WatchersSerializer(
                {
                    "watching": any(p.pk == request.user.pk for p in people),
                    "muted": RequestMute.objects.filter(service_request=service_request, user=request.user).exists(),
                    "watchers": people,
                }
            ).data
        )

    @extend_schema(responses={200: WatchersSerializer, **error_responses(401, 404)})
    def get(self, request: AuthenticatedRequest, reference: str) -> Response:
        return self._render(_visible_request(request, reference), request)

    @extend_schema(request=WatchInputSerializer, responses={200: WatchersSerializer, **error_responses(400, 401, 404)})
    def post(self, request: AuthenticatedRequest, reference: str) -> Response:
        service_request = _visible_request(request, reference)
        fields = _parse(WatchInputSerializer, request.data)
        if fields.get("copy_team"):
            watchers.copy_team(service_request, request.user)
        if "muted" in fields:
            watchers.mute(service_request, request.user, muted=fields["muted"])
        else:
            watchers.watch(service_request, request.user)
        return self._render(service_request, request)

    @extend_schema(responses={200: WatchersSerializer, **error_responses(401, 404)})
    def delete(self, request: AuthenticatedRequest, reference: str) -> Response:
        service_request = _visible_request(request, reference)
        watchers.unwatch(service_request, request.user)
        return self._render(service_request, request)


class MentionableView(APIView):
    """Up to ten people a mention on this request would reach, by the start of their username or name."""

    @extend_schema(
        parameters=[
            OpenApiParameter("q", OpenApiTypes.STR, description="What was typed after the @."),
            OpenApiParameter(
                "internal", OpenApiTypes.BOOL, description="For an internal note: only people who can read it."
            ),
        ],
        responses={200: PersonSerializer(many=True), **error_responses(400, 401, 404)},
    )
    def get(self, request: AuthenticatedRequest, reference: str) -> Response:
        service_request = _visible_request(request, reference)
        query = _parse(MentionQuerySerializer, request.query_params)
        people = watchers.mentionable(service_request, prefix=query["q"], internal=query["internal"])
        return Response(PersonSerializer(people, many=True).data)


@extend_schema_view(
    list=extend_schema(summary="Chat webhooks", responses={200: ChatWebhookSerializer, **error_responses(401, 403)}),
    create=extend_schema(
        summary="Add a chat webhook", responses={201: ChatWebhookSerializer, **error_responses(400, 401, 403)}
    ),
    destroy=extend_schema(summary="Remove a chat webhook", responses={204: None, **error_responses(401, 403, 404)}),
)
class ChatWebhookViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin, PortalViewSet):
    """Slack and Teams incoming webhooks per vendor and environment; the program manager's to manage."""

    queryset = ChatWebhook.objects.select_related("vendor", "environment")
    serializer_class = ChatWebhookSerializer
    pagination_class = None
    filter_backends: list = []

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if not (request.user.is_authenticated and perms.is_program_manager(request.user)):
            raise Forbidden("Only the program manager manages chat webhooks.")

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self.get_object().delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
