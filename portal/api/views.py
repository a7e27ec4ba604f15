"""The kernel's API endpoints: my API tokens, and a JSON 404 for any path the API does not know."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import Resolver404, resolve
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.choices import TokenScope
from portal.models import ApiToken
from portal.tokens import api_token_create, api_token_revoke

from .exceptions import error_body
from .schema import error_responses
from .serializers import ApiTokenCreatedSerializer, ApiTokenInputSerializer, ApiTokenSerializer


def api_not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Unknown API paths answer in the API's error shape rather than Django's HTML page."""
    message = f"No API endpoint at {request.path}."
    if not request.path.endswith("/"):
        try:
            match = resolve(f"{request.path}/")
        except Resolver404:
            match = None
        if match is not None and match.func is not api_not_found:
            message = f"{message} Did you mean {request.path}/ (with the trailing slash)?"
    return JsonResponse(error_body(code="not_found", message=message), status=404)


class ApiTokenListView(APIView):
    """My API tokens: list them, or create one (its key is shown in this answer only).

    Creating one takes a session (past two-factor, where the user owes it) or a token with the `tokens` scope."""

    token_scopes = {"POST": TokenScope.TOKENS}

    @extend_schema(
        operation_id="me_tokens_list", responses={200: ApiTokenSerializer(many=True), **error_responses(401)}
    )
    def get(self, request: Request) -> Response:
        return Response(ApiTokenSerializer(request.user.api_tokens.all(), many=True).data)

    @extend_schema(
        operation_id="me_tokens_create",
        request=ApiTokenInputSerializer,
        responses={201: ApiTokenCreatedSerializer, **error_responses(400, 401, 403)},
    )
    def post(self, request: Request) -> Response:
        data = ApiTokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        parent = request.auth if isinstance(request.auth, ApiToken) else None
        token, key = api_token_create(user=request.user, parent=parent, **data.validated_data)
        token.key = key
        return Response(ApiTokenCreatedSerializer(token).data, status=201)


class ApiTokenDetailView(APIView):
    """Revoke one of my tokens, and every token created through it (with a token: it needs the `tokens` scope)."""

    token_scopes = {"DELETE": TokenScope.TOKENS}

    @extend_schema(operation_id="me_tokens_revoke", responses={204: None, **error_responses(401, 403, 404)})
    def delete(self, request: Request, token_id: int) -> Response:
        api_token_revoke(user=request.user, token_id=token_id)
        return Response(status=204)
