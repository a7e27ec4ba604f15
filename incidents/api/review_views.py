"""The hypercare and post-incident review API: every read starts from `visible_to`, every write is one service."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.parsers import PortalJSONParser
from portal.api.schema import error_responses
from portal.exceptions import ValidationFailed
from portal.http import AuthenticatedRequest
from portal.models import User
from requests_app.models import Team

from ..hypercare import hypercare_open, hypercare_windows
from ..reviews import request_visible, review_action_item_add, review_for, review_publish, review_update
from .review_serializers import (
    ActionItemCreateSerializer,
    ActionItemSerializer,
    HypercareOpenSerializer,
    HypercareWindowSerializer,
    ReviewSerializer,
    ReviewUpdateSerializer,
)


class HypercareListView(APIView):
    parser_classes = [PortalJSONParser]

    @extend_schema(
        summary="Hypercare windows and their production issues",
        description="Windows after releases and deployments the caller can see, each with the production issues "
        "filed in it that the caller can see, and how many of those have each priority now.",
        responses={200: HypercareWindowSerializer(many=True), **error_responses(401)},
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        windows = hypercare_windows(user=request.user)
        return Response(HypercareWindowSerializer(windows, many=True).data)

    @extend_schema(
        summary="Open a hypercare window",
        description="For a resolved release or deployment support request, by the PM or the requester's team. "
        "`days` defaults to 14.",
        request=HypercareOpenSerializer,
        responses={201: HypercareWindowSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        serializer = HypercareOpenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        window = hypercare_open(
            request_visible(request.user, data["request"]),
            actor=request.user,
            days=data.get("days"),
            raise_priority=data["raise_priority"],
        )
        window = hypercare_windows(user=request.user).get(pk=window.pk)
        return Response(HypercareWindowSerializer(window).data, status=status.HTTP_201_CREATED)


def _review_data(review: Any) -> dict[str, Any]:
    return ReviewSerializer(review).data


class ReviewView(APIView):
    parser_classes = [PortalJSONParser]

    @extend_schema(
        summary="A request's post-incident review",
        responses={200: ReviewSerializer, **error_responses(401, 404)},
    )
    def get(self, request: AuthenticatedRequest, reference: str) -> Response:
        return Response(_review_data(review_for(request_visible(request.user, reference), user=request.user)))

    @extend_schema(
        summary="Write a draft review's findings",
        description="The PM, the request's vendor and the requester's team, while the review is a draft.",
        request=ReviewUpdateSerializer,
        responses={200: ReviewSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def put(self, request: AuthenticatedRequest, reference: str) -> Response:
        review = review_for(request_visible(request.user, reference), user=request.user)
        serializer = ReviewUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        review = review_update(review, actor=request.user, changes=dict(serializer.validated_data))
        return Response(_review_data(review))


class ReviewPublishView(APIView):
    parser_classes = [PortalJSONParser]

    @extend_schema(
        summary="Publish a review",
        description="The PM or the lead of the request's vendor; the root cause must be written.",
        request=None,
        responses={200: ReviewSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request: AuthenticatedRequest, reference: str) -> Response:
        review = review_for(request_visible(request.user, reference), user=request.user)
        return Response(_review_data(review_publish(review, actor=request.user)))


def _owner(username: str | None) -> User | None:
    if not username:
        return None
    owner = User.objects.filter(username=username, is_active=True).first()
    if owner is None:
        raise ValidationFailed("No such owner.", fields={"owner": "No active user has that username."})
    return owner


def _team(slug: str | None) -> Team | None:
    if not slug:
        return None
    team = Team.objects.filter(slug=slug).first()
    if team is None:
        raise ValidationFailed("No such team.", fields={"team": "No team has that slug."})
    return team


class ReviewActionItemsView(APIView):
    parser_classes = [PortalJSONParser]

    @extend_schema(
        summary="Add an action item",
        description="Files a follow-up request through the normal filing service (as the caller, for `team` or the "
        "incident's team), needed by `due_on`, owned by `owner`.",
        request=ActionItemCreateSerializer,
        responses={201: ActionItemSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request: AuthenticatedRequest, reference: str) -> Response:
        review = review_for(request_visible(request.user, reference), user=request.user)
        serializer = ActionItemCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        item = review_action_item_add(
            review,
            actor=request.user,
            title=data["title"],
            description=data.get("description", ""),
            due_on=data["due_on"],
            owner=_owner(data.get("owner")),
            team=_team(data.get("team")),
            request_type=data["request_type"],
            priority=data["priority"],
        )
        return Response(ActionItemSerializer(item).data, status=status.HTTP_201_CREATED)
