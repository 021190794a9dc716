"""The check-in's two questions about side effects, and how a stored answer to them reads.

Effects expected after an injection (soreness, bruising, flushing) are asked apart from the
warning signs, which need the clinic. The warning-sign question takes signs or "none of
these", never both, and the page, the app and staff must have an answer to it. Both
questions are stored together in `CheckInAnswer.side_effects`; a stored answer with no sign
and no "none" never answered the warning-sign question (a text with only a score, an
answer from before the question was asked), so it reads "Not answered", never as no
symptoms.
"""

from collections.abc import Iterable

from followup.models import SideEffect

EXPECTED = (SideEffect.SORENESS, SideEffect.BRUISING, SideEffect.FLUSHING, SideEffect.OTHER)
# In the order the page asks them (the clinic's list: infection, nerves, chest, allergy,
# headache, cauda equina).
WARNING_SIGNS = (
    SideEffect.FEVER,
    SideEffect.REDNESS,
    SideEffect.PUS,
    SideEffect.WEAKNESS,
    SideEffect.NUMBNESS,
    SideEffect.CHEST,
    SideEffect.RASH,
    SideEffect.ALLERGY,
    SideEffect.SEVERE_HEADACHE,
    SideEffect.POSITIONAL_HEADACHE,
    SideEffect.BOWEL_BLADDER,
)
# What the warning-sign question offers; a "Y" by text (WARNING_SIGN) is only ever stored.
WARNING_SIGN_CHOICES = (*WARNING_SIGNS, SideEffect.NONE)
# What a stored answer to the warning-sign question may hold.
ANSWERS_TO_WARNING_SIGNS = (*WARNING_SIGNS, SideEffect.WARNING_SIGN, SideEffect.NONE)

NOT_ANSWERED = "Not answered"
WARNING_SIGNS_MISSING = "Tick each warning sign you have had, or “None of these”."
NONE_AND_A_SIGN = "Tick the warning signs you have had, or “None of these”, not both."


def choices(effects: Iterable[SideEffect]) -> list[tuple[str, str]]:
    return [(effect.value, effect.label) for effect in effects]


def warning_signs_problem(chosen: Iterable[str]) -> str | None:
    """What is wrong with an answer to the warning-sign question, in the patient's words;
    None when it names signs, or only "none of these"."""
    values = set(chosen)
    if not values:
        return WARNING_SIGNS_MISSING
    if SideEffect.NONE in values and len(values) > 1:
        return NONE_AND_A_SIGN
    return None


def expected_effects(stored: Iterable[str]) -> list[str]:
    """A stored answer's expected effects, in the question's order."""
    values = set(stored)
    return [effect.value for effect in EXPECTED if effect in values]


def warning_signs(stored: Iterable[str]) -> list[str]:
    """A stored answer to the warning-sign question, in its order (empty: not answered)."""
    values = set(stored)
    return [sign.value for sign in ANSWERS_TO_WARNING_SIGNS if sign in values]


def expected_effect_labels(stored: Iterable[str]) -> list[str]:
    return [SideEffect(value).label for value in expected_effects(stored)]


def warning_sign_labels(stored: Iterable[str]) -> list[str]:
    """The warning signs in words: the signs, ["None of these"], or ["Not answered"]."""
    return [SideEffect(value).label for value in warning_signs(stored)] or [NOT_ANSWERED]
