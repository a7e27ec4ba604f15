"""The request API: each endpoint parses its input, calls one service or selector, and renders the result."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, cast

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from desk.api.filters import DeskOrderingFilter, SavedViewParameter
from desk.api_list import requests_list_compiled
from desk.filtersets import DeskFilterSet
from desk.lists import list_params, requests_list
from portal.api.pagination import PortalPagination, RequestListPagination
from portal.api.rows import plain_rows
from portal.api.schema import error_responses
from portal.api.viewsets import PortalViewSet
from portal.exceptions import Forbidden
from portal.http import AuthenticatedRequest
from requests_app import permissions as perms
from requests_app import services
from requests_app.choices import EventKind, OnboardingStatus
from requests_app.compiled import request_for_page, request_visible_by_reference, request_with_related
from requests_app.models import Environment, RequestEvent, ServiceRequest, Stack, Team, Vendor, VendorOnboarding
from requests_app.querysets import ServiceRequestQuerySet
from sla.selectors import clock_snapshots, clock_snapshots_of
from sla.services import sla_extend

from .serializers import (
    CommentInputSerializer,
    CommentSerializer,
    EnvironmentSerializer,
    EventSerializer,
    ExtensionInputSerializer,
    LinkInputSerializer,
    LinkSerializer,
    MeSerializer,
    ServiceRequestFileSerializer,
    ServiceRequestSerializer,
    ServiceRequestUpdateSerializer,
    StackSerializer,
    TeamSerializer,
    TransitionInputSerializer,
    TransitionSerializer,
    VendorSerializer,
    me_representation,
    request_representation,
)

TRANSITION_NAME = OpenApiParameter(
    "name", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(services.TRANSITIONS), description="Transition name."
)


def _parse(serializer_class: type[serializers.Serializer], data: Any, **context: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data, context=context)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


@extend_schema_view(
    list=extend_schema(
        summary="Requests I can see", responses={200: ServiceRequestSerializer, **error_responses(400, 401)}
    ),
    retrieve=extend_schema(
        summary="One request", responses={200: ServiceRequestSerializer, **error_responses(401, 404)}
    ),
)
class ServiceRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PortalViewSet):
    """Requests, keyed by their reference (REQ-000123); only those `visible_to` the user exist here."""

    # Clocks' policies and vendors are prefetched, not joined: a page of 50 shares a handful of each, where a
    # join built one object per clock (600 model instances instead of ~210).
    queryset = ServiceRequest.objects.with_related().prefetch_related("clocks__policy", "clocks__vendor")
    serializer_class = ServiceRequestSerializer
    lookup_field = "reference"
    lookup_value_regex = r"REQ-[0-9]+"
    # Both backends describe the parameters in the schema; `filter_queryset` applies them through the desk's one
    # list selector, so a saved view (`?view=`) and the browser's lists filter and sort exactly alike.
    filter_backends = [DjangoFilterBackend, DeskOrderingFilter, SavedViewParameter]
    filterset_class = DeskFilterSet
    # API 1.1: the list's count is estimated past a threshold, and `?pagination=cursor` pages by cursor. A
    # request's comments and events keep plain page numbers.
    pagination_class = RequestListPagination
    request: AuthenticatedRequest

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()
        # A list reads its page's clocks in one flat query instead (see `list`); a transition needs none.
        return queryset.prefetch_related(None) if self.action in ("list", "transition") else queryset

    def list(self, request: AuthenticatedRequest) -> Response:  # type: ignore[override]
        # The page's rows as plain objects, not model instances (`portal.api.rows`): the same SQL, so the same
        # count, estimate and cursors, without 300 instances a page of 50. ServiceRequestSerializer's output is
        # built directly (`request_representation`), its clocks read in one query. Most lists' SQL is compiled once
        # per shape (`desk.api_list`), with this call's values bound; the others are built as before.
        params = list_params(request.user, request.query_params)
        cursor = RequestListPagination.wants_cursor(request)
        listed: Any = requests_list_compiled(_listed, request.user, params, cursor=cursor)
        if listed is None:
            listed = plain_rows(requests_list(self.get_queryset(), params, request=request, by_rank=not cursor))
        page = self.paginate_queryset(listed) or []
        now, snapshots = timezone.now(), clock_snapshots(row.pk for row in page)
        rows = [request_representation(row, now=now, clocks=snapshots.get(row.pk, [])) for row in page]
        return self.get_paginated_response(rows)

    def retrieve(self, request: AuthenticatedRequest, reference: str) -> Response:  # type: ignore[override]
        service_request = self._visible_or_404(reference, clocks=True)
        return Response(request_representation(service_request, now=timezone.now()))

    def _visible_or_404(self, reference: str, *, clocks: bool = False) -> ServiceRequest:
        """`get_object()` through the request page's compiled query (requests_app.compiled): the same gate and
        joins (and, with `clocks`, the prefetched clocks), without building and compiling them on every call."""
        read = request_for_page if clocks else request_visible_by_reference
        service_request = read(self.request.user, reference)
        if service_request is None:
            raise Http404("No ServiceRequest matches the given query.")
        self.check_object_permissions(self.request, service_request)
        return service_request

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        # Filters and ordering shape lists; a request named by its reference is found whatever the query says.
        if self.action != "list":
            return queryset
        params = list_params(self.request.user, self.request.query_params)
        by_rank = not RequestListPagination.wants_cursor(self.request)
        return requests_list(queryset, params, request=self.request, by_rank=by_rank)

    def _render(self, service_request: ServiceRequest, status_code: int = status.HTTP_200_OK) -> Response:
        # The result of the user's own write, read again with the list's joins and prefetches (two queries, not
        # one per related object); not through the gate, as the write may have moved it out of their sight.
        # Its clocks come as the list reads them (one flat query), not as models with their policies and vendors.
        # Both reads are compiled once per process (requests_app.compiled, sla.selectors): building them was most of
        # their CPU.
        fresh = request_with_related(service_request.pk)
        clocks = clock_snapshots_of(fresh.pk)
        return Response(request_representation(fresh, now=timezone.now(), clocks=clocks), status=status_code)

    @extend_schema(
        summary="File a request",
        request=ServiceRequestFileSerializer,
        responses={201: ServiceRequestSerializer, **error_responses(400, 401, 403)},
    )
    def create(self, request: AuthenticatedRequest) -> Response:
        fields = _parse(ServiceRequestFileSerializer, request.data)
        service_request = services.request_file(actor=request.user, **fields)
        return self._render(service_request, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Edit a request (never its state)",
        request=ServiceRequestUpdateSerializer,
        responses={200: ServiceRequestSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def partial_update(self, request: AuthenticatedRequest, reference: str) -> Response:
        service_request = self.get_object()
        changes = _parse(ServiceRequestUpdateSerializer, request.data)
        reason = changes.pop("reason", "")
        service_request = services.request_update(service_request, actor=request.user, changes=changes, reason=reason)
        return self._render(service_request)

    @extend_schema(
        summary="Transitions I may run now",
        responses={200: TransitionSerializer(many=True), **error_responses(401, 404)},
    )
    @action(detail=True, methods=["get"], url_path="transitions", pagination_class=None, filter_backends=[])
    def transitions(self, request: AuthenticatedRequest, reference: str) -> Response:
        service_request = self.get_object()
        allowed = [
            {"name": name, **asdict(services.TRANSITIONS[name])}
            for name in services.allowed_transitions(service_request, request.user)
        ]
        return Response(TransitionSerializer(allowed, many=True).data)

    @extend_schema(
        summary="Run a transition",
        description="Body: `reason` plus the fields the transition takes (see the transitions list). "
        "404 for an unknown name, 409 with `allowed` when the request's state does not allow it, "
        "403 when you may see the request but not run this transition.",
        parameters=[TRANSITION_NAME],
        request=TransitionInputSerializer,
        responses={200: ServiceRequestSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"transitions/(?P<name>[a-z_]+)",
        url_name="transition",
        filter_backends=[],
    )
    def transition(self, request: AuthenticatedRequest, reference: str, name: str) -> Response:
        service_request = self._visible_or_404(reference)
        # Refusals (404/409/403) come before input errors, so a 400 never hides that the step is impossible.
        services.request_transition_check(service_request, name, actor=request.user)
        spec = services.TRANSITIONS[name]
        fields = _parse(TransitionInputSerializer, request.data, fields=spec.fields)
        service_request = spec.service(service_request, actor=request.user, **fields)
        return self._render(service_request)

    @extend_schema(
        summary="Extend a due time (program manager)",
        description="Moves the request's SLA response or resolution due time later, `by` a duration or `until` a new "
        "instant, with a `reason`; recorded in the clock ledger and on the timeline. 403 for anyone but the program "
        "manager; 400 for an instant in the past or not later than the current due time, a duration of zero or "
        "less, or a clock that is not running (met or ended).",
        request=ExtensionInputSerializer,
        responses={200: ServiceRequestSerializer, **error_responses(400, 401, 403, 404)},
    )
    @action(detail=True, methods=["post"], url_path="extensions", filter_backends=[])
    def extensions(self, request: AuthenticatedRequest, reference: str) -> Response:
        service_request = self.get_object()
        if not perms.is_program_manager(request.user):  # refused before any input error
            raise Forbidden("Only the program manager can extend a due time.")
        fields = _parse(ExtensionInputSerializer, request.data)
        sla_extend(service_request, actor=request.user, **fields)
        return self._render(service_request)

    @extend_schema(
        methods=["GET"],
        summary="Comments I can see",
        responses={200: CommentSerializer(many=True), **error_responses(400, 401, 404)},
    )
    @extend_schema(
        methods=["POST"],
        summary="Add a comment",
        request=CommentInputSerializer,
        responses={201: CommentSerializer, **error_responses(400, 401, 404)},
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[], pagination_class=PortalPagination)
    def comments(self, request: AuthenticatedRequest, reference: str) -> Response:
        service_request = self.get_object()
        if request.method == "POST":
            fields = _parse(CommentInputSerializer, request.data)
            comment = services.request_comment(service_request, actor=request.user, **fields)
            return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)
        comments = self._events_of(service_request).filter(kind=EventKind.COMMENT)
        page = self.paginate_queryset(comments)
        return self.get_paginated_response(CommentSerializer(page, many=True).data)

    @extend_schema(
        summary="The request's timeline",
        responses={200: EventSerializer(many=True), **error_responses(400, 401, 404)},
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=PortalPagination)
    def events(self, request: Request, reference: str) -> Response:
        page = self.paginate_queryset(self._events_of(self.get_object()))
        return self.get_paginated_response(EventSerializer(page, many=True).data)

    @extend_schema(
        methods=["GET"],
        summary="The request's links (to requests I can see)",
        responses={200: LinkSerializer(many=True), **error_responses(401, 404)},
    )
    @extend_schema(
        methods=["POST"],
        summary="Link this request to another",
        request=LinkInputSerializer,
        responses={201: LinkSerializer, **error_responses(400, 401, 404)},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None, filter_backends=[])
    def links(self, request: AuthenticatedRequest, reference: str) -> Response:
        service_request = self.get_object()
        if request.method == "POST":
            fields = _parse(LinkInputSerializer, request.data)
            link = services.link_add(
                actor=request.user,
                service_request=service_request,
                relation=fields["relation"],
                other_reference=fields["other"],
            )
            created = next(view for view in services.links_of(service_request, user=request.user) if view.link == link)
            return Response(LinkSerializer(created).data, status=status.HTTP_201_CREATED)
        return Response(LinkSerializer(services.links_of(service_request, user=request.user), many=True).data)

    @extend_schema(
        summary="Remove a link",
        parameters=[OpenApiParameter("link_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses={204: None, **error_responses(401, 404)},
    )
    @action(detail=True, methods=["delete"], url_path=r"links/(?P<link_id>[0-9]+)", url_name="link", filter_backends=[])
    def link(self, request: AuthenticatedRequest, reference: str, link_id: str) -> Response:
        services.link_remove(actor=request.user, service_request=self.get_object(), link_id=int(link_id))
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _events_of(self, service_request: ServiceRequest) -> QuerySet[RequestEvent]:
        return (
            RequestEvent.objects.visible_to(self.request.user)
            .filter(service_request=service_request)
            .select_related("actor")
            .order_by("created_at", "pk")
        )


def _listed(user: Any) -> QuerySet[ServiceRequest]:
    """The request list's queryset before its filters, as `ServiceRequestViewSet.get_queryset` gives it for a
    list (the gate, the joins, no prefetching): what its compiled shapes are built from."""
    return cast(ServiceRequestQuerySet, ServiceRequestViewSet.queryset).visible_to(user).prefetch_related(None)


class ReferenceViewSet(mixins.ListModelMixin, PortalViewSet):
    """Read-only reference data (in the model's order), for pickers and scripts."""

    filter_backends: list = []


@extend_schema_view(list=extend_schema(summary="Vendors, with the environments they are live in"))
class VendorViewSet(ReferenceViewSet):
    queryset = Vendor.objects.prefetch_related(
        Prefetch(
            "onboardings",
            queryset=VendorOnboarding.objects.filter(status=OnboardingStatus.LIVE)
            .select_related("environment")
            .order_by("environment__code"),
            to_attr="live_onboardings",
        )
    )
    serializer_class = VendorSerializer


@extend_schema_view(list=extend_schema(summary="Environments"))
class EnvironmentViewSet(ReferenceViewSet):
    queryset = Environment.objects.all()
    serializer_class = EnvironmentSerializer


@extend_schema_view(list=extend_schema(summary="Stacks"))
class StackViewSet(ReferenceViewSet):
    queryset = Stack.objects.all()
    serializer_class = StackSerializer


@extend_schema_view(list=extend_schema(summary="Implementation teams"))
class TeamViewSet(ReferenceViewSet):
    queryset = Team.objects.all()
    serializer_class = TeamSerializer


class MeView(APIView):
    """The signed-in user: who they are, their role, teams and vendor."""

    @extend_schema(operation_id="me_retrieve", responses={200: MeSerializer, **error_responses(401)})
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response(me_representation(request.user))
