"""The onboarding stage machine: which moves are allowed, what each stage asks to be done before it is left, and what
a move into a stage must bring. Pure rules over stage names; the services apply them to rows.

Forward one stage at a time (evaluation → … → live); any active stage may be paused, and a paused onboarding
resumes at the stage it was paused at or an earlier one; offboarding is allowed from anywhere and is final.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from portal.exceptions import InvalidTransition
from requests_app.choices import OnboardingStatus

Stage = OnboardingStatus

# The active stages, in order; the board shows its columns in this order too.
ACTIVE: tuple[Stage, ...] = (
    Stage.EVALUATION,
    Stage.SHORTLISTED,
    Stage.TRAINING,
    Stage.NDA_SIGNED,
    Stage.DOCUMENTATION_SHARED,
    Stage.ACCESS_GRANTED,
    Stage.LIVE,
)
FIRST = Stage.EVALUATION


@dataclass(frozen=True)
class Item:
    """One thing to do in a stage; a required one must be ticked before the stage is left forward."""

    key: str
    label: str
    required: bool = True


CHECKLISTS: dict[str, tuple[Item, ...]] = {
    Stage.EVALUATION: (
        Item("capabilities", "Capabilities assessed against the stacks they would work on"),
        Item("references", "References from earlier programmes checked"),
        Item("proposal", "Commercial proposal received", required=False),
    ),
    Stage.SHORTLISTED: (
        Item("approved", "Shortlist approved by the programme"),
        Item("contact", "Point of contact and escalation lead named"),
    ),
    Stage.TRAINING: (
        Item("sessions", "Training sessions attended"),
        Item("exercise", "Hands-on exercise passed"),
    ),
    Stage.NDA_SIGNED: (Item("countersigned", "NDA countersigned by eGov"),),
    Stage.DOCUMENTATION_SHARED: (
        Item("runbooks", "Runbooks shared"),
        Item("escalation", "Escalation matrix shared"),
        Item("walkthrough", "Architecture walkthrough held", required=False),
    ),
    Stage.ACCESS_GRANTED: (
        Item("verified", "Vendor confirmed the access works"),
        Item("register", "Access entered in the access register"),
    ),
    Stage.LIVE: (Item("announced", "Implementation teams told who now works their requests", required=False),),
}

# What a forward move into a stage must bring (the services check the values).
NEEDS: dict[str, tuple[str, ...]] = {
    Stage.TRAINING: ("training_start", "training_end"),
    Stage.NDA_SIGNED: ("document",),
    Stage.ACCESS_GRANTED: ("access",),
}


def label(stage: str) -> str:
    return Stage(stage).label if stage in Stage.values else "Not started"


def checklist(stage: str) -> tuple[Item, ...]:
    return CHECKLISTS.get(stage, ())


def item_named(stage: str, key: str) -> Item | None:
    return next((item for item in checklist(stage) if item.key == key), None)


def next_stage(stage: str) -> Stage | None:
    """The stage a forward move from `stage` reaches; None from live, paused, offboarded or an unknown stage."""
    if stage not in ACTIVE:
        return None
    index = ACTIVE.index(Stage(stage))
    return ACTIVE[index + 1] if index + 1 < len(ACTIVE) else None


def is_forward(current: str | None, target: str) -> bool:
    """A move that needs the current stage's checklist done and the target's data: the next stage, or starting."""
    return (current is None and target == FIRST) or (current is not None and next_stage(current) == target)


def allowed_moves(current: str | None, *, paused_from: str = "") -> list[Stage]:
    """Every stage a move from `current` may reach (None: not started), in the order a page offers them."""
    if current is None:
        return [FIRST]
    if current == Stage.OFFBOARDED:
        return []
    if current == Stage.PAUSED:
        limit = ACTIVE.index(Stage(paused_from)) if paused_from in ACTIVE else len(ACTIVE) - 1
        return [*ACTIVE[: limit + 1], Stage.OFFBOARDED]
    moves: list[Stage] = []
    following = next_stage(current)
    if following:
        moves.append(following)
    return [*moves, Stage.PAUSED, Stage.OFFBOARDED]


def missing_items(stage: str, ticked: AbstractSet[str]) -> list[Item]:
    return [item for item in checklist(stage) if item.required and item.key not in ticked]


def move_check(
    current: str | None, target: str, *, paused_from: str = "", ticked: AbstractSet[str] = frozenset()
) -> None:
    """Raise InvalidTransition, saying why and what would be allowed, unless `current` → `target` may happen now."""
    if target not in Stage.values:
        raise InvalidTransition(f"“{target}” is not an onboarding stage.", fields={"to": "Choose a stage."})
    if target not in allowed_moves(current, paused_from=paused_from):
        raise InvalidTransition(_refusal(current, Stage(target), paused_from), fields={"to": "Not allowed now."})
    if current is not None and is_forward(current, target):
        missing = missing_items(current, ticked)
        if missing:
            names = "; ".join(item.label for item in missing)
            raise InvalidTransition(
                f"{label(current)} cannot be left until its checklist is done: {names}.",
                fields={"to": f"Tick these first: {names}."},
            )


def _refusal(current: str | None, target: Stage, paused_from: str) -> str:
    if current is None:
        return f"Onboarding starts with {FIRST.label}; it cannot start at {target.label}."
    if current == Stage.OFFBOARDED:
        return "This vendor is offboarded in this environment; that is final."
    if current == target:
        return f"It is already at {target.label}."
    if current == Stage.PAUSED:
        return (
            f"It was paused at {label(paused_from)}; it resumes there or at an earlier stage, "
            "then moves on one stage at a time."
        )
    following = next_stage(current)
    if following is None:
        return f"{label(current)} is the last stage; it can only be paused or offboarded."
    return f"Onboarding moves forward one stage at a time: from {label(current)} the next stage is {following.label}."
