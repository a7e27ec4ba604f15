"""`Serializer(instance).data` for read-only serializers of plain values, without DRF's per-value machinery.

The weekly report's JSON holds up to a thousand breaches and every slice's figures: ~1,200 nested serializers and
~12,000 fields a response, each value passed through `get_attribute`, `to_representation` and, for a datetime, a
lookup of the current zone. That was most of a stored past week's response time (bench/RESULTS.md, "Findings,
2026-12-06 (session 12)"). `plain_representer(SerializerClass)` walks the declared fields once and returns a
function giving the same output: the common fields (text, numbers, booleans, datetimes, dicts and lists of them,
nested and `many=True` serializers) written directly, any other field through its own `to_representation`. A
serializer whose fields need more of DRF (a `source` other than a plain name, `SerializerMethodField`, write-only
fields) is left to DRF whole. `reports/tests/test_plain_json.py` holds it to DRF's output.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from django.utils import timezone
from rest_framework import ISO_8601, serializers
from rest_framework.settings import api_settings

from .fields import iso_in_zone

Represent = Callable[[Any, Any], Any]  # (value, the response's zone) -> its representation


def _attribute(name: str) -> Callable[[Any], Any]:
    def read(instance: Any) -> Any:
        return instance[name] if isinstance(instance, Mapping) else getattr(instance, name)

    return read


def _datetime(field: serializers.DateTimeField) -> Represent:
    output_format = getattr(field, "format", api_settings.DATETIME_FORMAT)
    if hasattr(field, "timezone") or output_format is None or output_format.lower() != ISO_8601:
        return lambda value, zone: field.to_representation(value)

    def represent(value: Any, zone: Any) -> Any:
        if isinstance(value, datetime) and value.utcoffset() is not None:
            try:
                return iso_in_zone(value, zone)
            except OverflowError:
                pass  # DRF says so, as a validation error
        return field.to_representation(value)  # naive, a date or a string: DRF's own rules

    return represent


def _field(field: serializers.Field) -> Represent:
    """How one field writes a non-null value."""
    if isinstance(field, serializers.ListSerializer) and isinstance(field.child, serializers.Serializer):
        child = _serializer(field.child)
        return lambda value, zone: [child(item, zone) for item in value]
    if isinstance(field, serializers.Serializer):
        return _serializer(field)
    if isinstance(field, serializers.DictField):
        child = _field(field.child)
        return lambda value, zone: {str(k): None if v is None else child(v, zone) for k, v in value.items()}
    if isinstance(field, serializers.ListField):
        child = _field(field.child)
        return lambda value, zone: [None if item is None else child(item, zone) for item in value]
    if isinstance(field, serializers.DateTimeField):
        return _datetime(field)
    if type(field) is serializers.CharField:
        return lambda value, zone: str(value)
    if type(field) is serializers.IntegerField:
        return lambda value, zone: int(value)
    if type(field) is serializers.FloatField:
        return lambda value, zone: float(value)
    if type(field) is serializers.BooleanField:
        return lambda value, zone: value if isinstance(value, bool) else field.to_representation(value)
    return lambda value, zone: field.to_representation(value)


def _plain(serializer: serializers.Serializer) -> bool:
    """Whether every readable field reads one attribute or key of its own name (DRF's default `source`)."""
    return all(
        not field.write_only
        and not isinstance(field, serializers.SerializerMethodField | serializers.HiddenField)
        and field.source_attrs == [name]
        for name, field in serializer.fields.items()
    )


def _serializer(serializer: serializers.Serializer) -> Represent:
    if not _plain(serializer):
        return lambda value, zone: serializer.to_representation(value)
    fields = [(name, _attribute(name), _field(field)) for name, field in serializer.fields.items()]

    def represent(instance: Any, zone: Any) -> dict[str, Any]:
        out = {}
        for name, read, write in fields:
            value = read(instance)
            out[name] = None if value is None else write(value, zone)
        return out

    return represent


def plain_representer(serializer_class: type[serializers.Serializer]) -> Callable[[Any], dict[str, Any]]:
    """A function giving `serializer_class(instance).data` (as a plain dict) for any instance, built once."""
    represent = _serializer(serializer_class())

    def data(instance: Any) -> dict[str, Any]:
        return represent(instance, timezone.get_current_timezone())

    return data
