"""Repeat-injection eligibility: one test per verdict case."""

from datetime import UTC, date, datetime, timedelta

import pytest

from followup.eligibility import (
    ELIGIBLE,
    NOT_SUPPORTED,
    NOT_YET,
    Measurement,
    Rules,
    Session,
    assess,
)

NOW = datetime(2026, 11, 20, 15, tzinfo=UTC)
RULES = Rules(min_weeks=6, max_per_year=3, relief_percent=50, relief_weeks=6)


def session(weeks_ago: float, baseline: int | None, answers: dict[int, int]) -> Session:
    performed = NOW - timedelta(weeks=weeks_ago)
    return Session(
        performed_at=performed,
        baseline=baseline,
        measurements=[
            Measurement(day=day, measured_on=(performed + timedelta(days=day)).date(), pain=pain)
            for day, pain in answers.items()
        ],
    )


LASTING = {7: 4, 14: 3, 30: 3, 42: 4}  # baseline 8: 50 %, 62.5 %, 62.5 %, 50 % at day 42


def test_eligible_with_its_dated_measurements():
    last = session(10, 8, LASTING)
    result = assess(sessions=[session(40, 7, {}), last], now=NOW, rules=RULES)
    assert result.verdict == ELIGIBLE
    assert result.interval_ok
    assert result.within_limit
    assert result.relief_ok
    assert result.sessions_last_year == 2
    assert [(e.measured_on, e.pain, e.reduction) for e in result.evidence] == [
        (last.performed_at.date(), 8, None),
        (last.performed_at.date() + timedelta(days=7), 4, 50),
        (last.performed_at.date() + timedelta(days=42), 4, 50),
    ]
    assert result.next_date is None


def test_not_yet_when_six_weeks_have_not_passed():
    last = session(3, 8, {7: 4, 14: 3})  # relief so far, too early to know if it lasts
    result = assess(sessions=[last], now=NOW, rules=RULES)
    assert result.verdict == NOT_YET
    assert not result.interval_ok
    assert result.next_date == (last.performed_at + timedelta(weeks=6)).date()


def test_not_yet_when_the_yearly_limit_is_reached():
    oldest = session(45, 8, {})
    sessions = [oldest, session(25, 8, {}), session(10, 8, LASTING)]
    result = assess(sessions=sessions, now=NOW, rules=RULES)
    assert result.verdict == NOT_YET
    assert result.sessions_last_year == 3
    assert not result.within_limit
    assert result.next_date == (oldest.performed_at + timedelta(days=365)).date()


def test_a_session_over_a_year_ago_does_not_count():
    sessions = [session(60, 8, {}), session(25, 8, {}), session(10, 8, LASTING)]
    result = assess(sessions=sessions, now=NOW, rules=RULES)
    assert result.sessions_last_year == 2
    assert result.verdict == ELIGIBLE


def test_not_supported_when_relief_fell_before_six_weeks():
    result = assess(sessions=[session(12, 8, {7: 4, 14: 3, 30: 5})], now=NOW, rules=RULES)
    assert result.verdict == NOT_SUPPORTED
    assert "fell below 50 % at day 30" in " ".join(result.reasons)
    assert [e.pain for e in result.evidence] == [8, 3, 5]


def test_not_supported_when_relief_never_reached_50_percent():
    result = assess(sessions=[session(12, 8, {7: 5, 30: 6})], now=NOW, rules=RULES)
    assert result.verdict == NOT_SUPPORTED
    assert "No answered check-in showed" in " ".join(result.reasons)


def test_not_supported_without_a_measurement_at_six_weeks_once_the_wait_is_over():
    result = assess(sessions=[session(12, 8, {7: 4, 30: 3})], now=NOW, rules=RULES)
    assert result.verdict == NOT_SUPPORTED
    assert "measured up to day 30 only" in " ".join(result.reasons)


@pytest.mark.parametrize(("baseline", "words"), [(None, "No baseline"), (0, "baseline NRS was 0")])
def test_not_supported_without_a_usable_baseline(baseline, words):
    result = assess(sessions=[session(12, baseline, {7: 0, 42: 0})], now=NOW, rules=RULES)
    assert result.verdict == NOT_SUPPORTED
    assert words in " ".join(result.reasons)


def test_not_supported_with_no_answers_after_the_wait():
    result = assess(sessions=[session(12, 8, {})], now=NOW, rules=RULES)
    assert result.verdict == NOT_SUPPORTED


def test_not_supported_with_no_session_at_the_site():
    result = assess(sessions=[], now=NOW, rules=RULES)
    assert result.verdict == NOT_SUPPORTED
    assert result.last_injection is None


def test_exactly_six_weeks_is_enough():
    result = assess(sessions=[session(6, 8, LASTING)], now=NOW, rules=RULES)
    assert result.interval_ok
    assert result.verdict == ELIGIBLE


def test_limits_are_the_rules_given():
    rules = Rules(min_weeks=12, max_per_year=4, relief_percent=50, relief_weeks=6)
    result = assess(sessions=[session(10, 8, LASTING)], now=NOW, rules=rules)
    assert result.verdict == NOT_YET
    assert result.next_date == date(2026, 11, 20) + timedelta(weeks=2)
