"""The sections of the management area, in the order the index and the sub-navigation show them.

Each section adds one entry here and its own URLs; nothing else needs to know about it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    url_name: str
    title: str
    summary: str


SECTIONS: list[Section] = [
    Section(
        "backoffice-sla-policies",
        "SLA policies",
        "Each priority's goals and their revisions; a new revision shows what it would have changed first.",
    ),
    Section(
        "backoffice-calendars",
        "Calendars",
        "Working hours, holidays and closures each environment's due times count on; import a state's holiday list.",
    ),
    Section("backoffice-history", "Change history", "Every change made here: who, when, what and why."),
]
