"""When a clock counts as running, at risk or breached: the one definition the scan, its partial indexes, the
lists' SLA filter and the weekly report all build on (as SQL conditions over `RequestClock` columns).

A clock runs from its start until it is met, ended (cancelled, rejected, handed to another vendor) or paused.
It is breached when it was met or ended after its due time (`breached`, stored by the ledger), or while it
still runs past its due time. It is at risk while it runs between its at-risk instant and its due time.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q

# Neither met, ended nor paused: the partial indexes' condition (with "not yet flagged"), so it stays a dict
# that `Q(**NOT_STOPPED, ...)` spreads into one flat condition.
NOT_STOPPED: dict[str, bool] = {"met_at__isnull": True, "ended_at__isnull": True, "paused_since__isnull": True}


def _prefixed(lookups: dict[str, object], prefix: str) -> dict[str, object]:
    return {f"{prefix}{name}": value for name, value in lookups.items()}


def running(prefix: str = "") -> Q:
    """Started and neither met, ended nor paused (`prefix` e.g. "clocks__" from another model)."""
    return Q(**_prefixed({**NOT_STOPPED, "started_at__isnull": False}, prefix))


def overdue(now: datetime, prefix: str = "") -> Q:
    """Running past its due time at `now`."""
    return running(prefix) & Q(**{f"{prefix}due_at__lte": now})


def breached(now: datetime, prefix: str = "") -> Q:
    """Met or ended late, or running past its due time at `now`."""
    return Q(**{f"{prefix}breached": True}) | overdue(now, prefix)


def without_due_time(prefix: str = "") -> Q:
    """Running with no due time: a goal "due at the needed-by date" on a request that has none."""
    return running(prefix) & Q(**{f"{prefix}due_at__isnull": True})


def at_risk(now: datetime, prefix: str = "") -> Q:
    """Running, past its at-risk instant and not yet due at `now`."""
    return running(prefix) & Q(**{f"{prefix}at_risk_at__lte": now, f"{prefix}due_at__gt": now})


# --- the same rules over one request's stored columns ---------------------------------------------------------
# `sla.services.request_sla_columns` keeps two instants on each request from its SLA clocks (the vendor's OLA does
# not count), so the lists can filter by an index instead of a subquery over the clocks:
#   sla_breach_at   — the earliest due time of an SLA clock that finished late or still runs: the request is
#                     breached at `now` exactly when one of its SLA clocks is (`breached` above) — a late clock's
#                     due time has passed by the time it finished late.
#   next_at_risk_at — the earliest at-risk instant of a running SLA clock; at risk at `now` exactly when one runs
#                     between its at-risk and due time and none is breached (a running clock with an at-risk time
#                     has a due time, so `sla_breach_at` is then set).
# A paused clock counts for neither, as above.
def is_running(clock: object) -> bool:
    """`running()` for a clock in hand (a `RequestClock`, saved or not)."""
    return (
        getattr(clock, "started_at", None) is not None
        and getattr(clock, "met_at", None) is None
        and getattr(clock, "ended_at", None) is None
        and getattr(clock, "paused_since", None) is None
    )


def request_breached(now: datetime, prefix: str = "") -> Q:
    """A request (`prefix` e.g. "service_request__" from another model) one of whose SLA clocks is breached."""
    return Q(**{f"{prefix}sla_breach_at__lte": now})


def request_at_risk(now: datetime, prefix: str = "") -> Q:
    """A request one of whose SLA clocks is at risk at `now`, and none breached."""
    return Q(**{f"{prefix}next_at_risk_at__lte": now, f"{prefix}sla_breach_at__gt": now})
