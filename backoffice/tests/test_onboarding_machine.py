"""The onboarding stage machine on its own: which moves it allows, what it refuses and how it says so."""

from __future__ import annotations

import pytest

from backoffice.onboarding import machine
from portal.exceptions import InvalidTransition
from requests_app.choices import OnboardingStatus as S


def refusal(current, target, **kwargs) -> str:
    with pytest.raises(InvalidTransition) as refused:
        machine.move_check(current, target, **kwargs)
    assert refused.value.status_code == 409
    return refused.value.message


def everything_ticked(stage) -> set[str]:
    return {item.key for item in machine.checklist(stage)}


def test_forward_one_stage_at_a_time_from_evaluation_to_live():
    current = None
    for target in machine.ACTIVE:
        machine.move_check(current, target, ticked=everything_ticked(current) if current else set())
        current = target
    assert current == S.LIVE


@pytest.mark.parametrize(
    "current,target,message",
    [
        (None, S.TRAINING, "Onboarding starts with Evaluation; it cannot start at Training."),
        (S.EVALUATION, S.TRAINING, "from Evaluation the next stage is Shortlisted"),
        (S.TRAINING, S.SHORTLISTED, "from Training the next stage is NDA signed"),
        (S.NDA_SIGNED, S.LIVE, "from NDA signed the next stage is Documentation shared"),
        (S.TRAINING, S.TRAINING, "It is already at Training."),
        (S.LIVE, S.EVALUATION, "Live is the last stage; it can only be paused or offboarded."),
        (S.OFFBOARDED, S.EVALUATION, "offboarded in this environment; that is final"),
        (S.OFFBOARDED, S.PAUSED, "that is final"),
    ],
)
def test_refused_moves_say_why_and_what_is_allowed(current, target, message):
    assert message in refusal(current, target, ticked=everything_ticked(current) if current else set())


def test_an_unknown_stage_is_refused_by_name():
    assert refusal(S.EVALUATION, "signed") == "“signed” is not an onboarding stage."


@pytest.mark.parametrize("stage", machine.ACTIVE)
def test_any_active_stage_may_be_paused_and_offboarded_without_its_checklist(stage):
    machine.move_check(stage, S.PAUSED)  # raises on a refusal
    machine.move_check(stage, S.OFFBOARDED)
    assert {S.PAUSED, S.OFFBOARDED} <= set(machine.allowed_moves(stage))


def test_paused_resumes_at_its_stage_or_earlier_never_later():
    machine.move_check(S.PAUSED, S.TRAINING, paused_from=S.TRAINING)
    machine.move_check(S.PAUSED, S.SHORTLISTED, paused_from=S.TRAINING)
    machine.move_check(S.PAUSED, S.OFFBOARDED, paused_from=S.TRAINING)
    assert "It was paused at Training; it resumes there or at an earlier stage" in refusal(
        S.PAUSED, S.NDA_SIGNED, paused_from=S.TRAINING
    )
    assert refusal(S.PAUSED, S.PAUSED, paused_from=S.TRAINING) == "It is already at Paused."
    assert machine.allowed_moves(S.PAUSED, paused_from=S.SHORTLISTED) == [S.EVALUATION, S.SHORTLISTED, S.OFFBOARDED]


def test_a_stage_is_not_left_forward_until_its_required_items_are_ticked():
    message = refusal(S.EVALUATION, S.SHORTLISTED, ticked={"capabilities"})
    assert message == (
        "Evaluation cannot be left until its checklist is done: References from earlier programmes checked."
    )
    # The optional item (the proposal) is not needed.
    machine.move_check(S.EVALUATION, S.SHORTLISTED, ticked={"capabilities", "references"})


def test_allowed_moves_list_next_pause_and_offboard():
    assert machine.allowed_moves(None) == [S.EVALUATION]
    assert machine.allowed_moves(S.TRAINING) == [S.NDA_SIGNED, S.PAUSED, S.OFFBOARDED]
    assert machine.allowed_moves(S.LIVE) == [S.PAUSED, S.OFFBOARDED]
    assert machine.allowed_moves(S.OFFBOARDED) == []
