"""The one way a management change is recorded: who, when, what, before and after, and the reason they gave."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django.core.serializers.json import DjangoJSONEncoder

from portal.exceptions import ValidationFailed

from .models import ChangeRecord

if TYPE_CHECKING:
    from django.db import models

    from portal.models import User


def require_reason(reason: str | None) -> str:
    """Every change needs a reason; services call this before they touch anything, so nothing half-happens."""
    text = (reason or "").strip()
    if not text:
        raise ValidationFailed("Say why you are making this change.", fields={"reason": "Give a reason."})
    return text


def _plain(value: Any) -> Any:
    # JSON as PostgreSQL and SQLite both store it: dates and decimals as strings.
    return None if value is None else json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def record_change(
    *,
    actor: User,
    area: str,
    action: str,
    obj: models.Model,
    reason: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> ChangeRecord:
    return ChangeRecord.objects.create(
        area=area,
        action=action[:64],
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        reason=require_reason(reason),
        before=_plain(before),
        after=_plain(after),
        actor=actor,
    )
