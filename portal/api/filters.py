"""Filter backends every API list shares."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request
from rest_framework.views import APIView


class StableOrderingFilter(OrderingFilter):
    """`ordering=` over the view's `ordering_fields`; unknown names are ignored, and ties go by primary key
    so that rows never repeat or vanish between pages."""

    def get_ordering(self, request: Request, queryset: QuerySet, view: APIView) -> list[str] | None:
        ordering = super().get_ordering(request, queryset, view)
        if not ordering:
            return None
        return [*ordering, "-pk" if ordering[-1].startswith("-") else "pk"]
