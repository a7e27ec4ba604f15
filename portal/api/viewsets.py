"""The base of every API viewset: JSON in, the visibility gate in get_queryset(), one error shape out."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import viewsets

from .parsers import PortalJSONParser


class PortalViewSet(viewsets.GenericViewSet):
    """Applies `visible_to(request.user)` to any model that has it, so no viewset can forget the gate."""

    parser_classes = [PortalJSONParser]

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()
        if hasattr(queryset, "visible_to"):
            queryset = queryset.visible_to(self.request.user)
        return queryset

    def get_serializer_context(self) -> dict:
        # One "now" per response, so every SLA countdown on a page is measured at the same instant.
        return {**super().get_serializer_context(), "now": timezone.now()}
