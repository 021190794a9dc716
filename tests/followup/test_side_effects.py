"""The two side-effect questions: the warning-sign rule (signs or "none of these", never
both, never nothing) and how a stored answer reads. No database."""

import pytest

from followup.models import SideEffect
from followup.side_effects import (
    EXPECTED,
    NONE_AND_A_SIGN,
    WARNING_SIGN_CHOICES,
    WARNING_SIGNS_MISSING,
    expected_effect_labels,
    expected_effects,
    warning_sign_labels,
    warning_signs,
    warning_signs_problem,
)


def test_every_side_effect_belongs_to_one_question():
    asked = [*EXPECTED, *WARNING_SIGN_CHOICES]
    assert len(asked) == len(set(asked))
    # Only the text's "Y" is never offered: it is what a reply to the SMS question stores.
    assert set(SideEffect) - set(asked) == {SideEffect.WARNING_SIGN}
    assert WARNING_SIGN_CHOICES[-1] == SideEffect.NONE


@pytest.mark.parametrize(
    ("chosen", "problem"),
    [
        (["fever"], None),
        (["fever", "rash", "chest"], None),
        (["none"], None),
        ([], WARNING_SIGNS_MISSING),
        (["none", "fever"], NONE_AND_A_SIGN),
        (["rash", "none", "pus"], NONE_AND_A_SIGN),
    ],
)
def test_the_warning_sign_question_takes_signs_or_none_of_these(chosen, problem):
    assert warning_signs_problem(chosen) == problem


@pytest.mark.parametrize(
    ("stored", "effects", "signs"),
    [
        # As record_answer stores them: sorted by code, both questions in one list.
        (["bruising", "fever", "soreness"], ["Soreness where the needle went in", "Bruising"],
         ["Fever or chills"]),
        (["none", "soreness"], ["Soreness where the needle went in"], ["None of these"]),
        (["warning_sign"], [], ["One of the warning signs (answered Y by text)"]),
        ([], [], ["Not answered"]),  # a text with only a score
        (["flushing"], ["Facial flushing"], ["Not answered"]),  # from before the question
    ],
)  # fmt: skip
def test_a_stored_answer_reads_per_question(stored, effects, signs):
    assert expected_effect_labels(stored) == effects
    assert warning_sign_labels(stored) == signs


def test_the_codes_come_back_split_in_the_questions_order():
    stored = ["bowel_bladder", "bruising", "fever", "other", "soreness"]
    assert expected_effects(stored) == ["soreness", "bruising", "other"]
    assert warning_signs(stored) == ["fever", "bowel_bladder"]
    assert warning_signs(["soreness"]) == []
