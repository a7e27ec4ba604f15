"""`/api/v1/calendars/`: the Calendars section for scripts. eGov DevOps reads; only the program manager changes."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from portal.api.parsers import PortalJSONParser
from portal.api.schema import error_responses
from portal.exceptions import Forbidden, ValidationFailed
from portal.http import AuthenticatedRequest
from requests_app.models import Environment
from sla.models import BusinessCalendar

from .. import calendars as services
from ..calendar_import import FORMATS, ImportPreview, calendar_import_apply, calendar_import_preview, decode_upload
from ..calendar_year import DayKind, calendar_year
from ..permissions import can_manage
from .views import ManagementViewSet

FIRST_YEAR, LAST_YEAR = 2001, 2035


class CalendarChangeSerializer(serializers.Serializer):
    date = serializers.DateField()
    kind = serializers.ChoiceField(choices=[("holiday", "Holiday added"), ("working_day", "Holiday removed")])
    name = serializers.CharField()
    reason = serializers.CharField()
    added_by = serializers.CharField(allow_null=True)


class ClosureSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    starts_on = serializers.DateField()
    ends_on = serializers.DateField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    reason = serializers.CharField()
    added_by = serializers.CharField(allow_null=True)


class DayStatusSerializer(serializers.Serializer):
    date = serializers.DateField(source="day")
    is_open = serializers.BooleanField()
    kind = serializers.ChoiceField(choices=DayKind.choices)
    title = serializers.CharField()
    # Named like Field.source, as ErrorDetailSerializer's `fields` is: the metaclass takes it as a declared field.
    source = serializers.CharField(help_text="Where the status comes from, in words.")  # type: ignore[assignment]
    name = serializers.CharField(help_text="The holiday's name, where the day is one (or was, if removed).")
    category = serializers.CharField(help_text="The holidays package's category of a package holiday.")
    added_by = serializers.CharField(help_text="Who added or removed the day, where someone did.")
    reason = serializers.CharField()


class CalendarSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    timezone = serializers.CharField()
    round_the_clock = serializers.BooleanField()
    country = serializers.CharField()
    subdivision = serializers.CharField()
    holiday_categories = serializers.ListField(child=serializers.CharField())
    working_hours = serializers.DictField(
        child=serializers.CharField(), help_text='Weekday → hours, e.g. {"Monday": "09:30–18:00"}.'
    )
    environments = serializers.ListField(child=serializers.CharField(), help_text="Codes of the environments on it.")
    changes = CalendarChangeSerializer(many=True, help_text="Days added or removed here.")
    closures = ClosureSerializer(many=True)
    year = serializers.IntegerField(allow_null=True, help_text="The year `days` covers (`?year=` on retrieve).")
    days = DayStatusSerializer(many=True, allow_null=True, help_text="Each day of `year` and why; null without it.")


def _name(user: Any) -> str | None:
    return (user.get_full_name() or user.username) if user is not None else None


def calendar_data(calendar: BusinessCalendar, *, year: int | None = None) -> dict[str, Any]:
    """A calendar as the API shows it (the list prefetches what this reads)."""
    return {
        "slug": calendar.slug,
        "name": calendar.name,
        "timezone": calendar.timezone,
        "round_the_clock": calendar.round_the_clock,
        "country": calendar.country,
        "subdivision": calendar.subdivision,
        "holiday_categories": list(calendar.holiday_category_list()),
        "working_hours": {name: text for _day, name, text in services.weekly_hours_text(calendar)},
        "environments": [environment.code for environment in calendar.environments.all()],
        "changes": [
            {"date": d.date, "kind": d.kind, "name": d.name, "reason": d.reason, "added_by": _name(d.added_by)}
            for d in calendar.days.all()
        ],
        "closures": [
            {
                "id": c.pk,
                "starts_on": first,
                "ends_on": last,
                "starts_at": c.starts_at,
                "ends_at": c.ends_at,
                "reason": c.reason,
                "added_by": _name(c.added_by),
            }
            for c in calendar.closures.all()
            for first, last in [services.closure_days(calendar, c)]
        ],
        "year": year,
        "days": calendar_year(calendar, year) if year is not None else None,
    }


class DayAddSerializer(serializers.Serializer):
    date = serializers.DateField()
    name = serializers.CharField(max_length=100)
    reason = serializers.CharField(max_length=500, help_text="Why; kept in the change history.")


class DayRemoveSerializer(serializers.Serializer):
    date = serializers.DateField()
    reason = serializers.CharField(max_length=500)


class DayChangeSerializer(serializers.Serializer):
    date = serializers.DateField(source="day")
    is_open = serializers.BooleanField(help_text="Whether the day has working time now.")
    message = serializers.CharField()


class ClosureAddSerializer(serializers.Serializer):
    starts_on = serializers.DateField(help_text="First day closed (whole days, in the calendar's time zone).")
    ends_on = serializers.DateField(help_text="Last day closed.")
    reason = serializers.CharField(max_length=200)


class EnvironmentLinkSerializer(serializers.Serializer):
    environment = serializers.SlugRelatedField(slug_field="code", queryset=Environment.objects.all())
    reason = serializers.CharField(max_length=500)


class ImportSerializer(serializers.Serializer):
    file = serializers.FileField(required=False, help_text="Multipart: the .ics or CSV file.")
    content = serializers.CharField(required=False, trim_whitespace=False, help_text="JSON: the file's text.")
    filename = serializers.CharField(required=False, default="", allow_blank=True, max_length=200)
    format = serializers.ChoiceField(
        choices=list(FORMATS.items()), required=False, default="", allow_blank=True, help_text="Default: guessed."
    )
    reason = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)
    confirm = serializers.BooleanField(default=False, help_text="False: only preview. True: add the new days.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("file")) == bool(attrs.get("content")):
            raise serializers.ValidationError({"file": "Send the file (multipart) or its text as `content` (JSON)."})
        return attrs


class ImportRowSerializer(serializers.Serializer):
    date = serializers.DateField(source="day")
    name = serializers.CharField()
    note = serializers.CharField()


class ImportResultSerializer(serializers.Serializer):
    filename = serializers.CharField()
    format = serializers.CharField()
    confirmed = serializers.BooleanField(help_text="True when the days were added; false for a preview.")
    to_add = ImportRowSerializer(many=True, help_text="Days the import adds (or added).")
    skipped = ImportRowSerializer(many=True, help_text="Days skipped: already holidays, or repeated in the file.")


YEAR = OpenApiParameter(
    "year", OpenApiTypes.INT, description=f"Include `days`, every day of this year ({FIRST_YEAR}–{LAST_YEAR})."
)


def _parse(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


@extend_schema_view(
    list=extend_schema(
        summary="Calendars and the environments on them",
        responses={200: CalendarSerializer, **error_responses(401, 403)},
    ),
    retrieve=extend_schema(
        summary="One calendar; with `?year=`, each day of that year and where its status comes from",
        parameters=[YEAR],
        responses={200: CalendarSerializer, **error_responses(400, 401, 403, 404)},
    ),
)
class CalendarViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ManagementViewSet):
    """Working calendars by slug. Every change needs a `reason` and lands in the change history."""

    lookup_field = "slug"
    serializer_class = CalendarSerializer
    filter_backends: list = []
    pagination_class = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method not in SAFE_METHODS and not can_manage(request.user):
            raise Forbidden("Only the program manager changes calendars.")

    def get_queryset(self) -> QuerySet[BusinessCalendar]:
        return services.calendars_with_environments().prefetch_related("days__added_by", "closures__added_by")

    def list(self, request: AuthenticatedRequest) -> Response:  # type: ignore[override]
        return Response([CalendarSerializer(calendar_data(c)).data for c in self.get_queryset()])

    def retrieve(self, request: AuthenticatedRequest, slug: str) -> Response:  # type: ignore[override]
        year = None
        if "year" in request.query_params:
            try:
                year = int(request.query_params["year"])
            except ValueError:
                year = 0
            if not FIRST_YEAR <= year <= LAST_YEAR:
                raise ValidationFailed(
                    "No such year here.", fields={"year": f"A year from {FIRST_YEAR} to {LAST_YEAR}."}
                )
        return Response(CalendarSerializer(calendar_data(self.get_object(), year=year)).data)

    def _calendar(self) -> BusinessCalendar:
        return services.calendar_get(self.kwargs["slug"])

    @extend_schema(
        summary="Add a holiday",
        description="Closes the day: adds a holiday, or restores a package holiday that had been removed. "
        "400 if it already is one.",
        request=DayAddSerializer,
        responses={201: DayChangeSerializer, **error_responses(400, 401, 403, 404)},
    )
    @action(detail=True, methods=["post"], url_path="days", filter_backends=[])
    def day_add(self, request: AuthenticatedRequest, slug: str) -> Response:
        data = _parse(DayAddSerializer, request.data)
        change = services.calendar_day_add(
            self._calendar(), actor=request.user, day=data["date"], name=data["name"], reason=data["reason"]
        )
        return Response(DayChangeSerializer(change).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Remove a holiday",
        description="Makes a holiday a working day: an added one is dropped; a package holiday is worked here.",
        request=DayRemoveSerializer,
        responses={200: DayChangeSerializer, **error_responses(400, 401, 403, 404)},
    )
    @action(detail=True, methods=["post"], url_path="days/remove", url_name="day-remove", filter_backends=[])
    def day_remove(self, request: AuthenticatedRequest, slug: str) -> Response:
        data = _parse(DayRemoveSerializer, request.data)
        change = services.calendar_day_remove(
            self._calendar(), actor=request.user, day=data["date"], reason=data["reason"]
        )
        return Response(DayChangeSerializer(change).data)

    @extend_schema(
        summary="Close whole days",
        request=ClosureAddSerializer,
        responses={201: ClosureSerializer, **error_responses(400, 401, 403, 404)},
    )
    @action(detail=True, methods=["post"], url_path="closures", filter_backends=[])
    def closure_add(self, request: AuthenticatedRequest, slug: str) -> Response:
        data = _parse(ClosureAddSerializer, request.data)
        calendar = self._calendar()
        closure = services.calendar_closure_add(calendar, actor=request.user, **data)
        body = next(c for c in calendar_data(calendar)["closures"] if c["id"] == closure.pk)
        return Response(ClosureSerializer(body).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Run an environment on this calendar",
        request=EnvironmentLinkSerializer,
        responses={200: CalendarSerializer, **error_responses(400, 401, 403, 404)},
    )
    @action(detail=True, methods=["post"], url_path="environments", filter_backends=[])
    def environment_link(self, request: AuthenticatedRequest, slug: str) -> Response:
        data = _parse(EnvironmentLinkSerializer, request.data)
        calendar = self._calendar()
        services.environment_calendar_link(
            data["environment"], actor=request.user, calendar=calendar, reason=data["reason"]
        )
        return Response(CalendarSerializer(calendar_data(self.get_object())).data)

    @extend_schema(
        summary="Import holidays from an iCalendar or CSV file",
        description="Multipart with `file`, or JSON with the file's text as `content`. Without `confirm` it only "
        "previews: the days it would add and those it skips (already holidays, or repeated). With `confirm: true` "
        "(and a `reason`) it adds them. A file that cannot be read answers 400 with the lines at fault in "
        "`fields.file`.",
        request={"application/json": ImportSerializer, "multipart/form-data": ImportSerializer},
        responses={200: ImportResultSerializer, **error_responses(400, 401, 403, 404)},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="import",
        url_name="import",
        filter_backends=[],
        parser_classes=[PortalJSONParser, MultiPartParser],
    )
    def holidays_import(self, request: AuthenticatedRequest, slug: str) -> Response:
        data = _parse(ImportSerializer, request.data)
        calendar = self._calendar()
        upload = data.get("file")
        content = decode_upload(upload.read()) if upload else data["content"]
        filename = data["filename"] or (upload.name if upload else "")
        result: ImportPreview
        if data["confirm"]:
            result = calendar_import_apply(
                calendar,
                actor=request.user,
                reason=data["reason"],
                filename=filename,
                content=content,
                format=data["format"],
            )
        else:
            result = calendar_import_preview(calendar, filename=filename, content=content, format=data["format"])
        body = {
            "filename": result.filename,
            "format": result.format,
            "confirmed": data["confirm"],
            "to_add": result.to_add,
            "skipped": result.skipped,
        }
        return Response(ImportResultSerializer(body).data)
