"""Red-flag rules, one table each: plain functions of an answer, no database.

The clinic's list (docs/clinical.md): fever or chills; redness, swelling or warmth at the
site; pus at the site; new weakness or numbness; new bowel or bladder problems; a severe
headache after any injection; a headache worse upright after injections beside the spine
(cervical, thoracic, lumbar); chest pain or breathlessness after thoracic and cervical
injections (pneumothorax); hives or swelling of the face, lips or throat (allergy); a rash;
a "Y" by text to the question about all the warning signs; pain at least 3 points above
the episode's baseline after day 2. A flare in the first 48 hours and flushing are expected,
and "none of these" is no flag.
"""

import pytest

from followup.models import SideEffect
from followup.redflags import (
    FlagContext,
    allergy,
    cauda_equina,
    dural_puncture_headache,
    fever,
    neurological,
    pain_flare,
    pneumothorax,
    pus,
    rash,
    red_flags,
    severe_headache,
    site_infection,
    warning_sign_by_text,
)

SITES = ["bursal", "cervical-trigger-point", "intra-articular", "lumbar", "thoracic"]


def context(
    *effects: str, pain: int = 3, baseline: int | None = 5, day: int = 7, site: str = "lumbar"
) -> FlagContext:
    return FlagContext(frozenset(effects), pain, baseline, day, site)


@pytest.mark.parametrize(
    ("rule", "effect", "reason"),
    [
        (fever, SideEffect.FEVER, "Fever or chills"),
        (site_infection, SideEffect.REDNESS, "Redness, swelling or warmth at the site"),
        (pus, SideEffect.PUS, "Pus or discharge from the site (possible infection)"),
        (neurological, SideEffect.WEAKNESS, "New weakness or numbness"),
        (neurological, SideEffect.NUMBNESS, "New weakness or numbness"),
        (cauda_equina, SideEffect.BOWEL_BLADDER, "Loss of bowel or bladder control"),
        (severe_headache, SideEffect.SEVERE_HEADACHE, "Severe headache"),
        (
            allergy,
            SideEffect.ALLERGY,
            "Hives, facial or throat swelling (possible allergic reaction)",
        ),
        (rash, SideEffect.RASH, "A rash"),
        (warning_sign_by_text, SideEffect.WARNING_SIGN, "A warning sign reported by text"),
    ],
)
@pytest.mark.parametrize("site", SITES)
def test_site_independent_rules_fire_at_every_site(rule, effect, reason, site):
    assert rule(context(effect, site=site)) == reason
    assert rule(context(site=site)) is None
    assert red_flags(side_effects=[effect], pain=3, baseline=5, day=7, site_slug=site) == [reason]


@pytest.mark.parametrize(
    ("rule", "unrelated"),
    [
        (fever, SideEffect.REDNESS),
        (site_infection, SideEffect.PUS),
        (pus, SideEffect.REDNESS),
        (neurological, SideEffect.SORENESS),
        (cauda_equina, SideEffect.NUMBNESS),
        (severe_headache, SideEffect.POSITIONAL_HEADACHE),
        (allergy, SideEffect.FLUSHING),
        (allergy, SideEffect.RASH),
        (rash, SideEffect.ALLERGY),
        (warning_sign_by_text, SideEffect.NONE),
    ],
)
def test_a_rule_ignores_the_other_side_effects(rule, unrelated):
    assert rule(context(unrelated)) is None


@pytest.mark.parametrize(
    ("site", "fires"),
    [
        ("cervical-trigger-point", True),
        ("thoracic", True),
        ("lumbar", True),
        ("bursal", False),
        ("intra-articular", False),
    ],
)
def test_a_headache_worse_upright_is_a_red_flag_after_injections_beside_the_spine(site, fires):
    reason = dural_puncture_headache(context(SideEffect.POSITIONAL_HEADACHE, site=site))
    assert reason == (
        "Severe headache worse when upright (possible dural puncture)" if fires else None
    )


@pytest.mark.parametrize(
    ("site", "flags"),
    [
        (
            "lumbar",
            ["Severe headache", "Severe headache worse when upright (possible dural puncture)"],
        ),
        ("bursal", ["Severe headache"]),
    ],
)
def test_a_severe_headache_worse_upright_names_both(site, flags):
    effects = [SideEffect.SEVERE_HEADACHE, SideEffect.POSITIONAL_HEADACHE]
    assert red_flags(side_effects=effects, pain=3, baseline=5, day=7, site_slug=site) == flags


@pytest.mark.parametrize(
    ("site", "reason"),
    [
        ("thoracic", "Chest pain or breathlessness (possible pneumothorax)"),
        ("cervical-trigger-point", "Chest pain or breathlessness (possible pneumothorax)"),
        ("lumbar", None),
        ("bursal", None),
        ("intra-articular", None),
    ],
)
def test_chest_pain_or_breathlessness_is_a_red_flag_after_thoracic_and_cervical_injections(
    site, reason
):
    assert pneumothorax(context(SideEffect.CHEST, site=site)) == reason
    flags = red_flags(side_effects=[SideEffect.CHEST], pain=3, baseline=5, day=7, site_slug=site)
    assert flags == ([reason] if reason else [])


def test_breathlessness_with_swelling_of_the_face_is_an_allergy_at_any_site():
    flags = red_flags(
        side_effects=[SideEffect.CHEST, SideEffect.ALLERGY],
        pain=3,
        baseline=5,
        day=7,
        site_slug="intra-articular",
    )
    assert flags == ["Hives, facial or throat swelling (possible allergic reaction)"]


@pytest.mark.parametrize(
    ("pain", "baseline", "day", "reason"),
    [
        (8, 5, 3, "Pain 8/10, 3 above baseline"),  # 3 above, on day 3: fires
        (10, 5, 7, "Pain 10/10, 5 above baseline"),
        (7, 5, 7, None),  # 2 above: not enough
        (9, 5, 2, None),  # a flare in the first 48 hours is expected
        (9, 5, 1, None),
        (10, 0, 180, "Pain 10/10, 10 above baseline"),
        (10, None, 7, None),  # no baseline: nothing to compare with
        (3, 8, 14, None),  # better, not worse
    ],
)
@pytest.mark.parametrize("site", SITES)
def test_a_pain_flare_is_3_points_above_baseline_after_day_2(pain, baseline, day, reason, site):
    assert pain_flare(context(pain=pain, baseline=baseline, day=day, site=site)) == reason


@pytest.mark.parametrize(
    "effects",
    [
        [SideEffect.SORENESS],
        [SideEffect.BRUISING],
        [SideEffect.FLUSHING],  # expected for a few days after a steroid
        [SideEffect.OTHER],
        [SideEffect.NONE],
        [SideEffect.SORENESS, SideEffect.BRUISING, SideEffect.FLUSHING, SideEffect.NONE],
        [],  # not answered: no flag, and shown as "not answered", never as "none"
    ],
)
@pytest.mark.parametrize("site", SITES)
def test_expected_effects_and_none_of_these_raise_nothing(effects, site):
    assert red_flags(side_effects=effects, pain=6, baseline=5, day=2, site_slug=site) == []


def test_several_flags_come_in_the_rules_order():
    flags = red_flags(
        side_effects=[
            "warning_sign",
            "rash",
            "allergy",
            "chest",
            "positional_headache",
            "severe_headache",
            "bowel_bladder",
            "weakness",
            "pus",
            "redness",
            "fever",
        ],
        pain=9,
        baseline=4,
        day=7,
        site_slug="cervical-trigger-point",
    )
    assert flags == [
        "Fever or chills",
        "Redness, swelling or warmth at the site",
        "Pus or discharge from the site (possible infection)",
        "New weakness or numbness",
        "Loss of bowel or bladder control",
        "Severe headache",
        "Severe headache worse when upright (possible dural puncture)",
        "Chest pain or breathlessness (possible pneumothorax)",
        "Hives, facial or throat swelling (possible allergic reaction)",
        "A rash",
        "A warning sign reported by text",
        "Pain 9/10, 5 above baseline",
    ]


def test_the_functions_take_plain_strings_as_stored():
    # CheckInAnswer.side_effects is JSON: plain strings, not the enum members.
    assert red_flags(side_effects=["fever"], pain=0, baseline=None, day=1, site_slug="bursal") == [
        "Fever or chills"
    ]
