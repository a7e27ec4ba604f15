"""Small result types shared by every adapter and its dry-run twin."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    """What an ensure_*/remove_* call did; running it again reports UNCHANGED or ABSENT."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DELETED = "deleted"
    ABSENT = "absent"


@dataclass(frozen=True)
class CheckResult:
    """The answer to "test connection", in plain words."""

    system: str
    ok: bool
    summary: str
    details: tuple[str, ...] = ()
    dry_run: bool = False
