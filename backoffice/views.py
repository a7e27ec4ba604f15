"""The management area's index and its change history; each section keeps its own views module."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from portal.http import AuthenticatedHttpRequest

from .models import Area, ChangeRecord
from .permissions import can_view_management
from .sections import SECTIONS


def require_management(request: AuthenticatedHttpRequest) -> None:
    if not can_view_management(request.user):
        raise PermissionDenied("The management area is for the program manager and eGov DevOps.")


@login_required
def index(request: AuthenticatedHttpRequest) -> HttpResponse:
    require_management(request)
    return render(request, "backoffice/index.html", {"sections": SECTIONS})


@login_required
def history(request: AuthenticatedHttpRequest) -> HttpResponse:
    require_management(request)
    area = request.GET.get("area", "")
    if area not in Area.values:
        area = ""
    records = ChangeRecord.objects.of_area(area).select_related("actor")
    page = Paginator(records, 50).get_page(request.GET.get("page"))
    context = {"page": page, "areas": Area.choices, "area": area, "sections": SECTIONS}
    return render(request, "backoffice/history.html", context)
