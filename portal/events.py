"""The one extension point for workflow events: an explicit registry of handlers, frozen once the apps are ready.

A lower layer that needs work done above it records an event (`requests_app.timeline.timeline_append`); the
apps above register handlers for the kinds they care about in their `AppConfig.ready()`. Handlers run in the
transaction that recorded the event, in the order they were registered, and only write their own rows or enqueue
work through the outbox, so a rolled-back change leaves nothing behind. Unlike Django signals the wiring is
listed in one place (`registry.describe()`, printed by a test) and cannot change after start-up.

The kernel knows nothing of what an event is: it passes the object along and reads only its `kind`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

EventHandler = Callable[[Any], None]


class RegistryFrozen(RuntimeError):
    """A handler was registered after the first event was dispatched (register in `AppConfig.ready()`)."""


@dataclass(frozen=True)
class Registration:
    """One handler: its name for the wiring list, the kinds it hears (None: every kind), and the function."""

    name: str
    kinds: frozenset[str] | None
    handler: EventHandler

    def hears(self, kind: str) -> bool:
        return self.kinds is None or kind in self.kinds


class EventRegistry:
    """Handlers by event kind; filled in `ready()`, frozen at the first dispatch."""

    def __init__(self) -> None:
        self._registrations: list[Registration] = []
        self._frozen = False
        self._by_kind: dict[str, tuple[Registration, ...]] = {}

    def register(self, name: str, *, kinds: Iterable[str] | None = None) -> Callable[[EventHandler], EventHandler]:
        """Decorator: call the function with every event of `kinds` (every event when None)."""

        def decorate(handler: EventHandler) -> EventHandler:
            self.add(name, handler, kinds=kinds)
            return handler

        return decorate

    def add(self, name: str, handler: EventHandler, *, kinds: Iterable[str] | None = None) -> None:
        """Register `handler` under `name`; a name is registered once (a second `ready()` run is harmless)."""
        if self._frozen:
            raise RegistryFrozen(
                f"Cannot register {name!r}: events are already flowing; register in AppConfig.ready()."
            )
        if any(r.name == name for r in self._registrations):
            return
        chosen = frozenset(str(kind) for kind in kinds) if kinds is not None else None
        self._registrations.append(Registration(name=name, kinds=chosen, handler=handler))

    def freeze(self) -> None:
        """No more registrations; called at the first dispatch (and by tests that want to check it)."""
        self._frozen = True

    @property
    def frozen(self) -> bool:
        return self._frozen

    def handlers_for(self, kind: str) -> tuple[Registration, ...]:
        if not self._frozen:
            self.freeze()
        cached = self._by_kind.get(kind)
        if cached is None:
            cached = self._by_kind[kind] = tuple(r for r in self._registrations if r.hears(kind))
        return cached

    def dispatch(self, event: Any) -> None:
        """Run every handler that hears `event.kind`, in registration order; their errors propagate."""
        for registration in self.handlers_for(str(event.kind)):
            registration.handler(event)

    def describe(self) -> list[str]:
        """The wiring, one line per handler: `name: kind, kind, …` (or `every event`)."""
        lines = []
        for r in self._registrations:
            kinds = ", ".join(sorted(r.kinds)) if r.kinds is not None else "every event"
            lines.append(f"{r.name}: {kinds}")
        return lines


registry = EventRegistry()
