"""OpenAPI pieces shared by every endpoint: the one error shape and the answers that use it."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

ERROR_DESCRIPTIONS = {
    400: "Invalid input; `fields` says which field and why.",
    401: "Not authenticated.",
    403: "Authenticated, but not allowed to do this.",
    404: "No such object for this user (outside their visibility, or truly absent).",
    409: "The request is in a state that does not allow this; `allowed` lists what is possible now.",
    413: "The file is larger than the attachment limit.",
    415: "The file's type (sniffed from its bytes) is not one that may be attached.",
}


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    # The error body's field is called `fields`, the name DRF's Serializer uses for its own field map.
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))  # type: ignore[assignment]
    state = serializers.CharField(required=False, help_text="The request's state (workflow errors only).")
    allowed = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Transitions allowed now (workflow errors only)."
    )


class ErrorSerializer(serializers.Serializer):
    """Every API error: {"error": {"code", "message", "fields"}}."""

    error = ErrorDetailSerializer()


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """`responses=` entries for the given error statuses, all in the one error shape."""
    return {status: OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[status]) for status in statuses}


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """Documents personal API tokens as HTTP bearer authentication."""

    target_class = "portal.tokens.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: object) -> dict:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "A personal token from POST /api/v1/me/tokens/. Its scopes decide what it may call: `read` for GET, "
                "`write` for every other method, `tokens` to create and revoke tokens; anything else answers 403."
            ),
        }


PAGE_ERRORS = {
    400: "The page number is not a whole number.",
    404: "No such page: past the last one, or below 1.",
}


def _error_response(description: str, **extra: object) -> dict:
    """An OpenAPI response in the one error shape."""
    return {
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        "description": description,
        **extra,
    }


def _operations(result: dict) -> list[dict]:
    return [
        operation
        for path_item in result.get("paths", {}).values()
        for operation in path_item.values()
        if isinstance(operation, dict)
    ]


def document_page_errors(result: dict, generator: object, request: object, public: bool) -> dict:
    """drf-spectacular post-processing hook: every paginated list can answer 400 (a page that is not a number)
    and 404 (a page past the end), in the one error shape, whether or not its view listed them."""
    for operation in _operations(result):
        if not any(parameter.get("name") == "page" for parameter in operation.get("parameters", [])):
            continue
        responses = operation.setdefault("responses", {})
        for status, description in PAGE_ERRORS.items():
            responses.setdefault(str(status), _error_response(description))
    return result


RETRY_AFTER_HEADER = {
    "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before trying again."}
}


def document_transport_errors(result: dict, generator: object, request: object, public: bool) -> dict:
    """drf-spectacular post-processing hook: what any endpoint may answer before or around its view, in the one
    error shape (portal.middleware): 503 with Retry-After while the database is unavailable, and, where the
    endpoint takes a body, 413 for one over DATA_UPLOAD_MAX_MEMORY_SIZE and 415 for a Content-Type it does not
    parse (DRF's parser negotiation, before the view)."""
    for operation in _operations(result):
        responses = operation.setdefault("responses", {})
        if "requestBody" in operation:
            responses.setdefault("413", _error_response("The body is larger than the server accepts."))
            responses.setdefault("415", _error_response("The body's Content-Type is not one this endpoint reads."))
        responses.setdefault(
            "503",
            _error_response("The database is unavailable; try again after Retry-After.", headers=RETRY_AFTER_HEADER),
        )
    return result


def document_token_scopes(result: dict, generator: object, request: object, public: bool) -> dict:
    """drf-spectacular post-processing hook: every call that changes something can answer 403 to a token without
    the `write` scope (portal.tokens.TokenScopePermission), whether or not its view listed 403."""
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in ("post", "put", "patch", "delete") or not isinstance(operation, dict):
                continue
            operation.setdefault("responses", {}).setdefault(
                "403",
                {
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                    "description": ERROR_DESCRIPTIONS[403],
                },
            )
    return result
