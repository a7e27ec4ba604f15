"""Reading Jira's webhook payloads: who did something, what a comment says, when it happened, and which portal
account (if any) a Jira person is."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model

if TYPE_CHECKING:
    from portal.models import User


def as_dict(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one: payloads are read defensively, never trusted."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """`value` when it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []


def event_time(payload: Mapping[str, Any]) -> datetime | None:
    """The payload's own timestamp (Jira sends milliseconds), or None when it has none."""
    try:
        return datetime.fromtimestamp(int(payload["timestamp"]) / 1000, tz=UTC)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return None


def person(data: Any) -> tuple[str, str]:
    """(display name, e-mail) of a Jira user object; Cloud often hides the e-mail."""
    data = as_dict(data)
    email = str(data.get("emailAddress") or "").strip()
    name = str(data.get("displayName") or data.get("name") or email or "someone in Jira")
    return name, email


def user_by_email(email: str) -> User | None:
    """The one active portal user with this e-mail address, or None (also when two accounts share it)."""
    if not email:
        return None
    matches = list(get_user_model().objects.filter(email__iexact=email, is_active=True)[:2])
    return matches[0] if len(matches) == 1 else None  # two accounts on one address: guessing would be wrong


def text(body: Any) -> str:
    """A comment body: a string in REST v2, an Atlassian Document (nested nodes) in v3."""
    if isinstance(body, str):
        return body.strip()
    if isinstance(body, dict):
        if body.get("type") == "text":
            return str(body.get("text") or "")
        parts = [text(child) for child in body.get("content") or []]
        joiner = "\n" if body.get("type") in ("doc", "bulletList", "orderedList") else ""
        return joiner.join(p for p in parts if p).strip()
    return ""
