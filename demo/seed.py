"""Writing the demo: generated requests in bulk (COPY on PostgreSQL, for benchmark-sized seeds), the reset that
empties every request, and the counts `manage.py seed_demo` reports."""

from __future__ import annotations

import io
import json
import random
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone

from portal.models import User
from reports.spans import state_spans_derive
from requests_app.choices import FINAL_STATES, RequestState
from requests_app.models import (
    Environment,
    Notification,
    RequestEvent,
    RequestSearchDocument,
    ServiceRequest,
    Team,
    Vendor,
)
from sla.models import ClockLedgerEntry, RequestClock

from .stories import WINDOW, RequestStory
from .world import DemoWorld

S = RequestState

# How the demo's requests are spread over the states; the first ten requests take one of each, so even a
# tiny seed shows every state.
STATE_WEIGHTS = {
    S.SUBMITTED: 8,
    S.PENDING_APPROVAL: 5,
    S.QUEUED: 10,
    S.IN_PROGRESS: 14,
    S.WAITING_ON_REQUESTER: 6,
    S.BLOCKED: 5,
    S.RESOLVED: 8,
    S.CLOSED: 32,
    S.REJECTED: 6,
    S.CANCELLED: 6,
}
# Large seeds (benchmarks) look like a service desk that has been running for a while: about this many
# requests filed a week, spread back as far as the count needs, and only the last few weeks' worth still in
# flight. Without it a million requests would all be filed in eight weeks with half of them open.
WEEKLY_INTAKE = 6_400
ACTIVE_WEEKS = 8


def _spread(count: int) -> tuple[timedelta, float]:
    """The history window of `count` generated requests and the share of them drawn from every state (the
    rest are finished ones): small seeds keep the eight-week window with every state well represented."""
    window = max(WINDOW, timedelta(weeks=count / WEEKLY_INTAKE))
    active = min(1.0, ACTIVE_WEEKS * WEEKLY_INTAKE / count) if count else 1.0
    return window, active


def _targets_for(count: int, rng: random.Random) -> Iterator[str]:
    """The state each generated request ends in. A small seed takes one of each first, then draws from every
    state; a large one draws its finished requests first and the recent, every-state share last."""
    states = list(STATE_WEIGHTS)
    finished = [state for state in states if state in FINAL_STATES]
    _window, active = _spread(count)
    recent = count if active >= 1 else round(count * active)
    for _ in range(count - recent):
        yield rng.choices(finished, weights=[STATE_WEIGHTS[state] for state in finished])[0]
    for index in range(recent):
        yield states[index] if index < len(states) else rng.choices(states, weights=list(STATE_WEIGHTS.values()))[0]


# --- writing ----------------------------------------------------------------------------------------------
def _next_id(model: type[models.Model]) -> int:
    """The first id to use: past every id the table's sequence ever handed out, so no reference is reused."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [model._meta.db_table])
            return int(cursor.fetchone()[0])
    return (model._default_manager.aggregate(top=Max("id"))["top"] or 0) + 1


def _reset_sequences(*models_: type[models.Model]) -> None:
    """Move the id sequences past the explicit ids we wrote, so the next filed request gets a fresh number."""
    statements = connection.ops.sequence_reset_sql(no_style(), list(models_))
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def _copy_value(value: Any) -> str:
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return f"{value.total_seconds()} seconds"
    if isinstance(value, dict | list):
        value = json.dumps(value)
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _write(model: type[models.Model], rows: list[dict[str, Any]]) -> None:
    """Insert rows with their explicit ids: COPY on PostgreSQL (fast enough for millions), bulk_create elsewhere."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create([model(**row) for row in rows], batch_size=2000)
        return
    # Columns the generator does not fill (added by later features) get their model default.
    columns = [f for f in model._meta.concrete_fields]
    defaults = {f.attname: f.get_default() for f in columns if f.attname not in rows[0]}
    buffer = io.StringIO()
    for row in rows:
        buffer.write(
            "\t".join(_copy_value(row[f.attname] if f.attname in row else defaults[f.attname]) for f in columns)
        )
        buffer.write("\n")
    names = ", ".join(connection.ops.quote_name(f.column) for f in columns if f.column)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        copy.write(buffer.getvalue())


def demo_requests_generate(
    world: DemoWorld,
    *,
    count: int,
    seed: int = 2026,
    batch_size: int = 20_000,
    progress: Callable[[int], None] | None = None,
) -> Counter[str]:
    """Write `count` requests with consistent histories in bulk, committing batch by batch; returns per-state counts."""
    rng = random.Random(seed)  # noqa: S311 — demo data, not secrets
    now = timezone.now()
    states: Counter[str] = Counter()
    targets = _targets_for(count, rng)
    window, active = _spread(count)
    # A large seed's finished requests fill the window oldest first, each in a slot of its own, and each batch is
    # written in filing order: ids grow with time as in production, so a week's rows sit together on disk.
    finished = 0 if active >= 1 else count - round(count * active)
    slot = window / finished if finished else timedelta(0)
    written = 0
    while written < count:
        size = min(batch_size, count - written)
        with transaction.atomic():
            request_pk, event_pk = _next_id(ServiceRequest), _next_id(RequestEvent)
            ledger_pk, clock_pk = _next_id(ClockLedgerEntry), _next_id(RequestClock)
            requests, events, ledger, clocks = [], [], [], []
            stories = []
            for index, target in enumerate(_take(targets, size), start=written):
                story = RequestStory(rng, world, now, target, window=window)
                story.build()
                story.place((window - slot * (index + 1), window - slot * index) if index < finished else None)
                stories.append(story)
            stories.sort(key=lambda story: story.created)
            for story in stories:
                request, story_events, story_ledger, story_clocks = story.rows(request_pk, event_pk)
                requests.append(request)
                events.extend(story_events)
                for entry in story_ledger:
                    ledger.append(_ledger_row(entry, ledger_pk, now))
                    ledger_pk += 1
                for clock in story_clocks:
                    clocks.append({**clock, "id": clock_pk, "updated_at": now})
                    clock_pk += 1
                states[story.state] += 1
                request_pk += 1
                event_pk += len(story_events)
            _write(ServiceRequest, requests)
            _write(RequestEvent, events)
            # COPY passes no event to the timeline's handlers: the batch's state spans are derived in one go.
            state_spans_derive(requests[0]["id"], requests[-1]["id"])
            _write(ClockLedgerEntry, ledger)
            _write(RequestClock, clocks)
            _reset_sequences(ServiceRequest, RequestEvent, ClockLedgerEntry, RequestClock)
        written += size
        batches = written // batch_size
        if batches & (batches - 1) == 0:  # after 1, 2, 4, 8, … batches
            _analyze(ServiceRequest, RequestEvent, RequestSearchDocument, ClockLedgerEntry, RequestClock)
        if progress:
            progress(written)
    return states


def _analyze(*models_: type[models.Model]) -> None:
    """Refresh the planner's statistics while a large seed grows the tables: statistics taken at a tenth of the
    final size once chose a plan in the search trigger that made later batches crawl. Autovacuum would get there
    too, but only after the batches it was needed for."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in models_:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def _ledger_row(entry: ClockLedgerEntry, pk: int, now: datetime) -> dict[str, Any]:
    return {
        "id": pk,
        "service_request_id": entry.service_request_id,
        "clock": entry.clock,
        "measure": entry.measure,
        "kind": entry.kind,
        "at": entry.at,
        "vendor_id": entry.vendor_id,
        "policy_id": entry.policy_id,
        "reason": entry.reason,
        "created_at": now,
    }


def _take(iterator: Iterator[str], size: int) -> Iterable[str]:
    for _ in range(size):
        yield next(iterator)


def demo_requests_wipe() -> None:
    """Remove every request with its events, notifications and anything else hanging off a request."""
    # RequestEvent refuses delete() by design (the audit trail is append-only), so a demo reset goes below the
    # ORM: TRUNCATE ... CASCADE on PostgreSQL, raw DELETEs children-first elsewhere. Only for demo databases.
    doomed = _dependents(ServiceRequest)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in doomed)
            with connection.cursor() as cursor:
                # Deferred foreign-key checks still pending in this transaction would make TRUNCATE refuse.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
            return
        for model in doomed:
            model._default_manager.all()._raw_delete(using=connection.alias)


def _dependents(root: type[models.Model]) -> list[type[models.Model]]:
    """`root` and every model that points at it, directly or through another, children before parents."""
    order: list[type[models.Model]] = []

    def visit(model: type[models.Model], path: frozenset[type[models.Model]]) -> None:
        if model in path:  # a cycle: its rows go with the first visit
            return
        for relation in model._meta.get_fields(include_hidden=True):
            related = relation.related_model
            reverse = relation.auto_created and not relation.concrete and (relation.one_to_many or relation.one_to_one)
            if reverse and isinstance(related, type):  # a model class, never the "self" placeholder here
                visit(related, path | {model})
        if model not in order:
            order.append(model)

    visit(root, frozenset())
    return order


def demo_summary() -> dict[str, Any]:
    """Counts for the command's closing report."""
    return {
        "environments": Environment.objects.count(),
        "vendors": Vendor.objects.count(),
        "teams": Team.objects.count(),
        "users": User.objects.count(),
        "requests": ServiceRequest.objects.count(),
        "events": RequestEvent.objects.count(),
        "notifications": Notification.objects.count(),
        "by_state": dict(ServiceRequest.objects.values_list("state").annotate(n=models.Count("pk")).order_by()),
    }
