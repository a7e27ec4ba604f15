"""How the request list's sort and saved-view parameters appear in the API schema (applied in `desk.lists`)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.filters import BaseFilterBackend, OrderingFilter
from rest_framework.request import Request
from rest_framework.views import APIView

from ..selectors import COLUMNS, LEGACY_ORDERINGS, requests_ordered


class DeskOrderingFilter(OrderingFilter):
    """`ordering=<column>` or `-<column>`; default urgency. Ties go by urgency, then id."""

    ordering_description = (
        "Sort by one column (prefix `-` to reverse): "
        + ", ".join(COLUMNS)
        + "; default `sla` (breached first, then least time left). Also response_due_at, resolution_due_at, "
        "created_at. Ties go by urgency, then id."
    )

    def filter_queryset(self, request: Request, queryset: QuerySet, view: APIView) -> QuerySet:
        return requests_ordered(queryset, request.query_params.get(self.ordering_param))

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        names = [*COLUMNS, *sorted(LEGACY_ORDERINGS)]
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": str(self.ordering_description),
                "schema": {"type": "string", "enum": [*names, *(f"-{name}" for name in names)]},
            }
        ]


class SavedViewParameter(BaseFilterBackend):
    """`view=<id>`: start from a saved view's filters and sort; other parameters given override them."""

    def filter_queryset(self, request: Request, queryset: QuerySet, view: APIView) -> QuerySet:
        return queryset  # applied by `desk.lists.list_params`

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        return [
            {
                "name": "view",
                "required": False,
                "in": "query",
                "description": "A saved view's id (see /api/v1/views/): its filters and sort, overridden by any "
                "parameter given alongside.",
                "schema": {"type": "integer"},
            }
        ]
