"""Red-flag rules, one table each: plain functions of an answer, no database.

The issue's list: fever or chills; redness, swelling or warmth at the site; new weakness or
numbness; loss of bowel or bladder control; a headache worse upright (after cervical or
lumbar injections); chest pain or breathlessness (pneumothorax after thoracic or upper-back
injections); hives or facial/throat swelling (allergy); pain at least 3 points above the
episode's baseline after day 2. A flare in the first 48 hours and flushing are expected.
"""

import pytest

from followup.models import SideEffect
from followup.redflags import (
    FlagContext,
    allergy,
    breathing,
    cauda_equina,
    dural_puncture_headache,
    fever,
    neurological,
    pain_flare,
    pneumothorax,
    red_flags,
    site_infection,
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
        (neurological, SideEffect.WEAKNESS, "New weakness or numbness"),
        (neurological, SideEffect.NUMBNESS, "New weakness or numbness"),
        (cauda_equina, SideEffect.BOWEL_BLADDER, "Loss of bowel or bladder control"),
        (
            allergy,
            SideEffect.ALLERGY,
            "Hives, facial or throat swelling (possible allergic reaction)",
        ),
    ],
)
@pytest.mark.parametrize("site", SITES)
def test_site_independent_rules_fire_at_every_site(rule, effect, reason, site):
    assert rule(context(effect, site=site)) == reason
    assert rule(context(site=site)) is None


@pytest.mark.parametrize(
    ("rule", "unrelated"),
    [
        (fever, SideEffect.REDNESS),
        (site_infection, SideEffect.FEVER),
        (neurological, SideEffect.SORENESS),
        (cauda_equina, SideEffect.NUMBNESS),
        (allergy, SideEffect.FLUSHING),
    ],
)
def test_a_rule_ignores_the_other_side_effects(rule, unrelated):
    assert rule(context(unrelated)) is None


@pytest.mark.parametrize(
    ("site", "fires"),
    [
        ("cervical-trigger-point", True),
        ("lumbar", True),
        ("thoracic", False),
        ("bursal", False),
        ("intra-articular", False),
    ],
)
def test_a_headache_worse_upright_is_a_red_flag_after_cervical_and_lumbar_only(site, fires):
    reason = dural_puncture_headache(context(SideEffect.POSITIONAL_HEADACHE, site=site))
    assert (reason is not None) is fires
    if fires:
        assert reason == "Severe headache worse when upright (possible dural puncture)"


@pytest.mark.parametrize(
    ("site", "pneumothorax_reason", "breathing_reason"),
    [
        ("thoracic", "Chest pain or breathlessness (possible pneumothorax)", None),
        (
            "cervical-trigger-point",
            "Chest pain or breathlessness (possible pneumothorax)",
            None,
        ),
        # Elsewhere it still needs a clinician (trouble breathing can be an allergy), named
        # without the pneumothorax.
        ("lumbar", None, "Chest pain or breathlessness"),
        ("bursal", None, "Chest pain or breathlessness"),
        ("intra-articular", None, "Chest pain or breathlessness"),
    ],
)
def test_chest_pain_or_breathlessness_names_a_pneumothorax_near_the_chest(
    site, pneumothorax_reason, breathing_reason
):
    answer = context(SideEffect.CHEST, site=site)
    assert pneumothorax(answer) == pneumothorax_reason
    assert breathing(answer) == breathing_reason
    assert (
        len(red_flags(side_effects=[SideEffect.CHEST], pain=2, baseline=5, day=7, site_slug=site))
        == 1
    )


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
def test_a_pain_flare_is_3_points_above_baseline_after_day_2(pain, baseline, day, reason):
    assert pain_flare(context(pain=pain, baseline=baseline, day=day)) == reason


@pytest.mark.parametrize(
    "effects",
    [
        [SideEffect.SORENESS],
        [SideEffect.BRUISING],
        [SideEffect.FLUSHING],  # expected for a few days after a steroid
        [SideEffect.OTHER],
        [SideEffect.SORENESS, SideEffect.BRUISING, SideEffect.FLUSHING, SideEffect.OTHER],
        [],
    ],
)
@pytest.mark.parametrize("site", SITES)
def test_expected_effects_raise_nothing(effects, site):
    assert red_flags(side_effects=effects, pain=6, baseline=5, day=2, site_slug=site) == []


def test_several_flags_come_in_the_rules_order():
    flags = red_flags(
        side_effects=["allergy", "fever", "weakness", "chest", "positional_headache"],
        pain=9,
        baseline=4,
        day=7,
        site_slug="cervical-trigger-point",
    )
    assert flags == [
        "Fever or chills",
        "New weakness or numbness",
        "Severe headache worse when upright (possible dural puncture)",
        "Chest pain or breathlessness (possible pneumothorax)",
        "Hives, facial or throat swelling (possible allergic reaction)",
        "Pain 9/10, 5 above baseline",
    ]


def test_the_functions_take_plain_strings_as_stored():
    # CheckInAnswer.side_effects is JSON: plain strings, not the enum members.
    assert red_flags(side_effects=["fever"], pain=0, baseline=None, day=1, site_slug="bursal") == [
        "Fever or chills"
    ]
