"""Red-flag rules: answers that need a clinician now. Plain functions, one rule each.

A flare in the first 48 hours and flushing for a few days after a steroid are expected, so
neither is a red flag; the check-in form tells the patient so. docs/clinical.md lists each
rule with the sites it applies to and its source.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from followup.models import SideEffect

FLARE_POINTS = 3
FLARE_FROM_DAY = 3  # "after day 2"
# Where the needle works beside the spine, so it can puncture the dura.
SPINAL_SITES = frozenset({"cervical-trigger-point", "thoracic", "lumbar"})
# Where the needle works over the lung's apex or the chest wall.
PNEUMOTHORAX_SITES = frozenset({"cervical-trigger-point", "thoracic"})


@dataclass(frozen=True)
class FlagContext:
    side_effects: frozenset[str]
    pain: int
    baseline: int | None
    day: int
    site_slug: str


Rule = Callable[[FlagContext], str | None]


def fever(context: FlagContext) -> str | None:
    return "Fever or chills" if SideEffect.FEVER in context.side_effects else None


def site_infection(context: FlagContext) -> str | None:
    if SideEffect.REDNESS in context.side_effects:
        return "Redness, swelling or warmth at the site"
    return None


def pus(context: FlagContext) -> str | None:
    if SideEffect.PUS in context.side_effects:
        return "Pus or discharge from the site (possible infection)"
    return None


def neurological(context: FlagContext) -> str | None:
    found = {SideEffect.WEAKNESS, SideEffect.NUMBNESS} & context.side_effects
    return "New weakness or numbness" if found else None


def cauda_equina(context: FlagContext) -> str | None:
    if SideEffect.BOWEL_BLADDER in context.side_effects:
        return "Loss of bowel or bladder control"
    return None


def severe_headache(context: FlagContext) -> str | None:
    if SideEffect.SEVERE_HEADACHE in context.side_effects:
        return "Severe headache"
    return None


def dural_puncture_headache(context: FlagContext) -> str | None:
    if SideEffect.POSITIONAL_HEADACHE in context.side_effects and context.site_slug in SPINAL_SITES:
        return "Severe headache worse when upright (possible dural puncture)"
    return None


def pneumothorax(context: FlagContext) -> str | None:
    if SideEffect.CHEST in context.side_effects and context.site_slug in PNEUMOTHORAX_SITES:
        return "Chest pain or breathlessness (possible pneumothorax)"
    return None


def allergy(context: FlagContext) -> str | None:
    if SideEffect.ALLERGY in context.side_effects:
        return "Hives, facial or throat swelling (possible allergic reaction)"
    return None


def rash(context: FlagContext) -> str | None:
    return "A rash" if SideEffect.RASH in context.side_effects else None


def warning_sign_by_text(context: FlagContext) -> str | None:
    """A "Y" to the text that asks about every warning sign at once: which one is unknown
    until someone calls the patient."""
    if SideEffect.WARNING_SIGN in context.side_effects:
        return "A warning sign reported by text"
    return None


def pain_flare(context: FlagContext) -> str | None:
    if (
        context.baseline is not None
        and context.day >= FLARE_FROM_DAY
        and context.pain >= context.baseline + FLARE_POINTS
    ):
        return f"Pain {context.pain}/10, {context.pain - context.baseline} above baseline"
    return None


RULES: tuple[Rule, ...] = (
    fever,
    site_infection,
    pus,
    neurological,
    cauda_equina,
    severe_headache,
    dural_puncture_headache,
    pneumothorax,
    allergy,
    rash,
    warning_sign_by_text,
    pain_flare,
)


def red_flags(
    *, side_effects: Iterable[str], pain: int, baseline: int | None, day: int, site_slug: str
) -> list[str]:
    """The red flags an answer raises, in the rules' order (empty: none)."""
    context = FlagContext(frozenset(side_effects), pain, baseline, day, site_slug)
    return [reason for rule in RULES if (reason := rule(context)) is not None]
