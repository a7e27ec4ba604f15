"""`visible_to(user)` for queries compiled once per process (`portal.compiled.CompiledList`, `CompiledObjects`).

The gate itself stays in `querysets.ServiceRequestQuerySet.visible_to`: a compiled query is built through it with a
stand-in user whose id and vendor are markers, so its SQL is the gate's SQL. What differs between users beyond
their ids is the scope, so each scope gets its own compiled query:

- "all": the user holds VIEW_ALL (eGov DevOps, the program manager): no condition;
- "vendor": a vendor's people: their teams, their own requests and their vendor's;
- "member": everyone else: their teams and their own requests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from portal.models import User

# Values no id takes (ids are positive), found again among a compiled query's parameters.
USER_MARKER = -7_300_001
VENDOR_MARKER = -7_300_002


def scope_of(user: Any) -> str | None:
    """ "all", "vendor" or "member"; None for a user the gate shows nothing (signed out, inactive)."""
    from .permissions import VIEW_ALL

    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if user.has_perm(VIEW_ALL):
        return "all"
    return "vendor" if user.vendor_id else "member"


def stand_in(scope: str, *, vendor: bool) -> User:
    """A user of `scope` whose id is USER_MARKER and whose vendor (if `vendor`) is VENDOR_MARKER; never saved."""
    from portal.models import User

    from .permissions import VIEW_ALL

    def has_perm(perm: str, obj: Any = None) -> bool:
        # The scope says nothing of any other permission: a query that read one would be compiled wrong for some
        # of the scope's users, so asking is a mistake in the query, not a question to answer.
        if perm != VIEW_ALL:
            raise ValueError(f"a query compiled per scope asked its stand-in for {perm!r}; it knows {VIEW_ALL!r} only")
        return scope == "all"

    user = User(pk=USER_MARKER, username="stand-in", is_active=True, vendor_id=VENDOR_MARKER if vendor else None)
    user.has_perm = has_perm  # type: ignore[method-assign]
    return user


def markers(scope: str, *, vendor: bool, user_always: bool = False) -> dict[str, int]:
    """The markers a query compiled for `scope` holds: the user's id unless the scope is "all" (or the query
    names the user itself, `user_always`), the vendor's when the scope or the query uses it."""
    found = {}
    if scope != "all" or user_always:
        found["user"] = USER_MARKER
    if vendor:
        found["vendor"] = VENDOR_MARKER
    return found
