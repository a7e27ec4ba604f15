"""/api/v1/routing-rules/: the routing section over the API (the program manager writes, with a reason; eGov
DevOps reads), and /api/v1/routing-rules/test/, the tester."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from portal.api import fields as portal_fields
from portal.api.schema import error_responses
from portal.exceptions import Forbidden
from portal.http import AuthenticatedRequest
from requests_app.api.serializers import MAX_TEXT, KeyRelatedField, StrictSerializer
from requests_app.catalogue import TYPE_CHOICES
from requests_app.choices import RoutingOutcome
from requests_app.models import Environment, RoutingRule, Stack, Vendor
from requests_app.routing import routing_decide

from ..api.views import ManagementViewSet
from ..permissions import can_manage
from .services import routing_rule_create, routing_rule_delete, routing_rule_update


class RoutingRuleSerializer(portal_fields.ModelSerializer):
    environment: serializers.SlugRelatedField[Environment] = serializers.SlugRelatedField(
        read_only=True, slug_field="code", allow_null=True, help_text="null: any environment."
    )
    stack: serializers.SlugRelatedField[Stack] = serializers.SlugRelatedField(
        read_only=True, slug_field="code", allow_null=True, help_text="null: any stack."
    )
    vendor: serializers.SlugRelatedField[Vendor] = serializers.SlugRelatedField(read_only=True, slug_field="slug")
    request_type = serializers.ChoiceField(choices=TYPE_CHOICES, allow_blank=True, help_text="Empty: any type.")
    match = serializers.CharField(source="match_label", read_only=True, help_text="What the rule matches, in words.")

    class Meta:
        model = RoutingRule
        fields = ["id", "request_type", "environment", "stack", "vendor", "is_active", "note", "match"]
        read_only_fields = fields


class RoutingRuleInputSerializer(StrictSerializer):
    """A rule's fields, and the reason for the change (required)."""

    request_type = serializers.ChoiceField(
        choices=TYPE_CHOICES, allow_blank=True, required=False, default="", help_text="Empty: any type."
    )
    environment = KeyRelatedField(
        noun="environment", slug_field="code", queryset=Environment.objects.all(), required=False, allow_null=True,
        default=None, help_text="null: any environment.",
    )  # fmt: skip
    stack = KeyRelatedField(
        noun="stack", slug_field="code", queryset=Stack.objects.all(), required=False, allow_null=True, default=None,
        help_text="null: any stack.",
    )  # fmt: skip
    vendor = KeyRelatedField(noun="vendor", slug_field="slug", queryset=Vendor.objects.all())
    is_active = serializers.BooleanField(required=False, default=True)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    reason = serializers.CharField(
        max_length=MAX_TEXT, required=False, allow_blank=True, help_text="Why; kept in the change history. Required."
    )


class ReasonSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=MAX_TEXT, required=False, allow_blank=True, help_text="Required.")


class RoutingTestInputSerializer(StrictSerializer):
    request_type = serializers.ChoiceField(choices=TYPE_CHOICES)
    environment = KeyRelatedField(noun="environment", slug_field="code", queryset=Environment.objects.all())
    stack = KeyRelatedField(
        noun="stack", slug_field="code", queryset=Stack.objects.all(), required=False, allow_null=True, default=None
    )


class RoutingTestResultSerializer(serializers.Serializer):
    vendor = serializers.CharField(
        source="vendor.slug", read_only=True, allow_null=True, help_text="null: the request waits in triage unrouted."
    )
    rule = RoutingRuleSerializer(read_only=True, allow_null=True, help_text="The deciding rule, if any.")
    outcome = serializers.ChoiceField(choices=RoutingOutcome.choices, read_only=True)
    explanation = serializers.CharField(read_only=True)


def _parse(serializer_class: type[serializers.Serializer], data: Any, *, partial: bool = False) -> dict[str, Any]:
    serializer = serializer_class(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


@extend_schema_view(
    list=extend_schema(
        summary="Routing rules",
        description="Every rule, active or not, oldest first. The program manager and eGov DevOps.",
        responses={200: RoutingRuleSerializer, **error_responses(401, 403)},
    ),
    retrieve=extend_schema(
        summary="One routing rule", responses={200: RoutingRuleSerializer, **error_responses(401, 403, 404)}
    ),
    create=extend_schema(
        summary="Add a routing rule",
        description="The program manager only; `reason` is required and kept in the change history. A rule that "
        "matches exactly what another rule matches is refused (400, code `duplicate_match`).",
        request=RoutingRuleInputSerializer,
        responses={201: RoutingRuleSerializer, **error_responses(400, 401, 403)},
    ),
    partial_update=extend_schema(
        summary="Change a routing rule",
        description="Send only what changes, with `reason`; `is_active: false` deactivates the rule.",
        request=RoutingRuleInputSerializer,
        responses={200: RoutingRuleSerializer, **error_responses(400, 401, 403, 404)},
    ),
    destroy=extend_schema(
        summary="Delete a routing rule",
        description='Body `{"reason": "…"}` (or `?reason=`); required.',
        request=ReasonSerializer,
        parameters=[OpenApiParameter("reason", str, required=False, description="Why; instead of a body.")],
        responses={204: None, **error_responses(400, 401, 403, 404)},
    ),
)
class RoutingRuleViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin,
    ManagementViewSet,
):  # fmt: skip
    queryset = RoutingRule.objects.select_related("environment", "stack", "vendor")
    serializer_class = RoutingRuleSerializer
    filter_backends: list = []
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    request: AuthenticatedRequest

    def initial(self, request: Any, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # Refused before the input is read, so eGov DevOps learns it may not write rather than what to fix.
        if self.action in {"create", "partial_update", "destroy"} and not can_manage(request.user):
            raise Forbidden("Only the program manager changes routing rules.")

    def _render(self, rule: RoutingRule, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(RoutingRuleSerializer(self.queryset.all().get(pk=rule.pk)).data, status=status_code)

    def create(self, request: AuthenticatedRequest, *args: Any, **kwargs: Any) -> Response:
        fields = _parse(RoutingRuleInputSerializer, request.data)
        rule = routing_rule_create(actor=request.user, **{"reason": "", **fields})
        return self._render(rule, status.HTTP_201_CREATED)

    def partial_update(self, request: AuthenticatedRequest, pk: str) -> Response:
        rule = self.get_object()
        changes = _parse(RoutingRuleInputSerializer, request.data, partial=True)
        reason = changes.pop("reason", "")
        return self._render(routing_rule_update(rule.pk, actor=request.user, reason=reason, **changes))

    def destroy(self, request: AuthenticatedRequest, *args: Any, **kwargs: Any) -> Response:
        rule = self.get_object()
        body = _parse(ReasonSerializer, request.data or {})
        routing_rule_delete(
            rule.pk, actor=request.user, reason=body.get("reason") or request.query_params.get("reason", "")
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Test the routing rules",
        description="Where a request of this type, environment and stack would go, the deciding rule and why "
        "(the decision filing makes). Changes nothing.",
        request=RoutingTestInputSerializer,
        responses={200: RoutingTestResultSerializer, **error_responses(400, 401, 403)},
    )
    @action(detail=False, methods=["post"], url_path="test", filter_backends=[], pagination_class=None)
    def test(self, request: AuthenticatedRequest) -> Response:
        decision = routing_decide(**_parse(RoutingTestInputSerializer, request.data))
        return Response(RoutingTestResultSerializer(decision).data)
