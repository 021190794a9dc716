"""The outcomes dashboard's read model against a hand-computed clinic: every figure below
(the rows of the read model, quartiles, responder rates with their Wilson bounds, the
missing-as-non-responder rates, the Kaplan-Meier lower bound of the duration of relief) was
worked out by hand from the fixture's table, never recomputed with the code under test. And
the page says how old its figures are, and refreshes never run twice at once."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from booking.models import Site
from followup.models import CheckIn, Episode, OutcomeEpisode, OutcomeFact, OutcomeRefresh
from followup.outcome_facts import refresh_outcome_facts, refreshed_at
from followup.outcome_stats import OutcomeFilters, outcome_stats
from followup.tasks import refresh_outcome_facts_task
from tests.factories import (
    ClinicianFactory,
    PatientFactory,
    answer_check_in,
    episode_after_procedure,
)

PERFORMED = datetime(2026, 12, 1, 15, tzinfo=UTC)  # 10:00 in New York
NOW = datetime(2027, 7, 1, 15, tzinfo=UTC)  # 11:00 EDT
RECENT = datetime(2027, 6, 1, 14, tzinfo=UTC)  # 10:00 EDT: its day-30 check-in is due at NOW - 1 h
NEW_PROCEDURE = datetime(2026, 12, 20, 15, tzinfo=UTC)  # closes L7 on day 19
URL = "/staff/outcomes/"
DASH = "\N{EN DASH}"  # between the bounds of a range on the page


@pytest.fixture
def clinic(db, clock):
    """Ten episodes. Baseline = pain before the injection; "pgic" 1 very much improved,
    2 much improved, 3 minimally improved, 4 no change, 5 minimally worse; "-" unanswered.

    | ep | site     | baseline | day 7            | day 14 | day 30        | day 90       |
    |----|----------|----------|------------------|--------|---------------|--------------|
    | L1 | lumbar   | 8        | 4, pgic 2        | 3      | 6, pgic 4     | 7            |
    | L2 | lumbar   | 6        | 3, pgic 1        |        | 2, pgic 3     | - (over)     |
    | L3 | lumbar   | 0        | 0, pgic 2        |        | - (over)      | - (over)     |
    | L4 | lumbar   | 10       | 6 (late)         |        | - (over)      | 4, pgic 2    |
    | L5 | lumbar   | none     | 3, pgic 2        |        | - (over)      | - (over)     |
    | L6 | lumbar   | 7        | - (over)         |        | - (open)      | - (not due)  |
    | L7 | lumbar   | 9        | 2                | -      | closed, unasked | closed, unasked |
    | L8 | lumbar   | 7        | - (over)         |        | - (over)      | - (over)     |
    | C1 | cervical | 9        | 1, pgic 1        |        | 8, pgic 5     | - (over)     |
    | C2 | cervical | 5        | 5, pgic 4        |        | 2             | 3            |

    L6 was injected on 1 Jun 2027: its day-30 check-in fell due an hour before NOW and can
    still be answered. L8 is the same patient's next lumbar injection, on 20 Dec 2026, which
    closed L7: L7's day-30 and day-90 check-ins were cancelled before they were due.
    """

    def episode(baseline, site="lumbar", **kwargs):
        kwargs.setdefault("patient", PatientFactory(consent_email=True))
        kwargs.setdefault("performed_at", PERFORMED)
        return episode_after_procedure(site_slug=site, pain_before=baseline, **kwargs)

    eps = {name: episode(baseline) for name, baseline in (("L1", 8), ("L2", 6), ("L3", 0))}
    eps["L4"] = episode(10)
    eps["L5"] = episode(6, injectates=("saline",))
    Episode.objects.filter(pk=eps["L5"].pk).update(baseline_pain=None)
    eps["L6"] = episode(7, performed_at=RECENT)
    patient = PatientFactory(consent_email=True)
    eps["L7"] = episode(9, patient=patient)
    eps["C1"] = episode(9, site="cervical-trigger-point")
    eps["C2"] = episode(5, site="cervical-trigger-point", clinician=ClinicianFactory())
    for name, day, pain, details in (
        ("L1", 7, 4, {"pgic": 2}),
        ("L1", 14, 3, {}),
        ("L1", 30, 6, {"pgic": 4}),
        ("L1", 90, 7, {}),
        ("L2", 7, 3, {"pgic": 1}),
        ("L2", 30, 2, {"pgic": 3}),
        ("L3", 7, 0, {"pgic": 2}),
        ("L4", 7, 6, {"hours_after_due": 80}),  # after its expiry, within the grace
        ("L4", 90, 4, {"pgic": 2}),
        ("L5", 7, 3, {"pgic": 2}),
        ("L7", 7, 2, {}),
        ("C1", 7, 1, {"pgic": 1}),
        ("C1", 30, 8, {"pgic": 5}),
        ("C2", 7, 5, {"pgic": 4}),
        ("C2", 30, 2, {}),
        ("C2", 90, 3, {}),
    ):
        answer_check_in(eps[name], day, pain, **details)
    eps["L8"] = episode(7, patient=patient, performed_at=NEW_PROCEDURE)  # closes L7
    refresh_outcome_facts()
    return eps


def lumbar() -> OutcomeFilters:
    return OutcomeFilters(sites=(Site.objects.get(slug="lumbar"),))


def cervical() -> OutcomeFilters:
    return OutcomeFilters(sites=(Site.objects.get(slug="cervical-trigger-point"),))


# --- the read model's rows ---------------------------------------------------------------


def test_the_read_model_stores_relief_as_an_interval(clinic):
    relief = {
        name: OutcomeEpisode.objects.values_list("relief_at_least", "relief_at_most").get(
            episode=episode
        )
        for name, episode in clinic.items()
    }
    # Relief is pain <= baseline / 2 (pain x 100 <= baseline x 50).
    assert relief == {
        "L1": (14, 30),  # 4 <= 4 at day 7, 3 at day 14, then 6 > 4 at day 30 (not "30 days")
        "L2": (30, None),  # 3 <= 3, 2 <= 3: still relieved at its last answer
        "L3": (None, None),  # baseline 0: no percent
        "L4": (90, None),  # 6 > 5 at day 7, 4 <= 5 at day 90: began and lasts at day 90
        "L5": (None, None),  # no baseline
        "L6": (None, None),  # no answer
        "L7": (7, None),  # 2 <= 4.5, then closed
        "L8": (None, None),
        "C1": (7, 30),  # 1 <= 4.5, then 8
        "C2": (30, 90),  # 5 > 2.5, 2 <= 2.5 (began at 30), 3 > 2.5 at day 90
    }


def test_the_read_model_stores_pgic_and_until_when_a_check_in_could_be_answered(clinic):
    def fact(name, day):
        return OutcomeFact.objects.get(episode=clinic[name], day=day)

    assert (fact("L1", 7).pgic, fact("L1", 14).pgic, fact("C1", 30).pgic) == (2, None, 5)
    # Due at 10:00 local, answerable for 72 h plus a 72 h grace: 144 h.
    # L6's day 30: due 1 Jul 2027 10:00 EDT = 14:00 UTC; + 144 h = 7 Jul 14:00 UTC.
    assert fact("L6", 30).answerable_until == datetime(2027, 7, 7, 14, tzinfo=UTC)
    # L7's day 14: due 15 Dec 2026 15:00 UTC (+ 144 h = 21 Dec 15:00), but its episode was
    # closed on 20 Dec 15:00 UTC, before that.
    assert fact("L7", 14).answerable_until == NEW_PROCEDURE
    # L7's day 30 (due 31 Dec) was cancelled by the closing before it was due: never asked.
    assert fact("L7", 30).answerable_until is None
    assert fact("L7", 90).answerable_until is None


def test_the_database_refuses_relief_that_ends_before_it_was_last_seen(clinic):
    with pytest.raises(IntegrityError), transaction.atomic():
        OutcomeEpisode.objects.filter(episode=clinic["L1"]).update(
            relief_at_least=30, relief_at_most=14
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        OutcomeEpisode.objects.filter(episode=clinic["L3"]).update(relief_at_most=14)


# --- the figures -------------------------------------------------------------------------


def test_episodes_pain_quartiles_and_the_baseline_at_day_0(clinic):
    stats = outcome_stats(OutcomeFilters(), now=NOW)
    assert stats.episodes == 10
    day7 = next(point for point in stats.time_points if point.day == 7)
    # Day-7 pains 0 1 2 3 3 4 5 6 (n = 8; positions p x 7): median at 3.5 -> 3 (a tie),
    # Q1 at 1.75 -> 1 + 0.75 x (2 - 1) = 1.75, Q3 at 5.25 -> 4 + 0.25 x (5 - 4) = 4.25.
    assert (day7.pain.n, day7.pain.q1, day7.pain.median, day7.pain.q3) == (8, 1.75, 3, 4.25)
    by_site = {series.site.slug: series.baseline for series in stats.per_site}
    # Lumbar baselines 0 6 7 7 8 9 10 (L5 has none; n = 7; positions p x 6): median at 3 ->
    # 7, Q1 at 1.5 -> 6.5, Q3 at 4.5 -> 8.5.
    lumbar_baseline = by_site["lumbar"]
    assert (lumbar_baseline.n, lumbar_baseline.q1, lumbar_baseline.median) == (7, 6.5, 7)
    assert lumbar_baseline.q3 == 8.5
    # Cervical 5 9: median 5 + 0.5 x 4 = 7, Q1 5 + 0.25 x 4 = 6, Q3 5 + 0.75 x 4 = 8.
    assert by_site["cervical-trigger-point"].median == 7
    assert (by_site["cervical-trigger-point"].q1, by_site["cervical-trigger-point"].q3) == (6, 8)


def test_the_kaplan_meier_median_reads_the_lower_bound_of_relief(clinic):
    # Lower bounds (time, ended): C1 (7, yes), L7 (7, no), L1 (14, yes), C2 (30, yes),
    # L2 (30, no), L4 (90, no).
    # Day 7: 6 at risk, 1 ended: S = 5/6; C1 and L7 leave, 4 at risk.
    # Day 14: 1 of 4 ended: S = 5/6 x 3/4 = 0.625; 3 at risk.
    # Day 30: 1 of 3 ended: S = 0.625 x 2/3 = 0.4167 <= 0.5: the median is 30 days.
    # (Reading the days relief was found gone, as before, gives 90: S(30) = 1 - 2/5 after
    # the censored day 7, S(90) = 0.6 x 1/2.)
    relief = outcome_stats(OutcomeFilters(), now=NOW).relief
    assert (relief.n, relief.events, relief.censored, relief.median) == (6, 3, 3, 30)
    # Lumbar: L7 censored at 7 (3 at risk), L1 ends at 14: S = 2/3; L2 and L4 censored:
    # never at or below 1/2, not reached.
    relief = outcome_stats(lumbar(), now=NOW).relief
    assert (relief.n, relief.events, relief.censored, relief.median) == (4, 1, 3, None)
    # Cervical: C1 ends at 7 of 2 at risk: S = 1/2, the median is 7.
    relief = outcome_stats(cervical(), now=NOW).relief
    assert (relief.n, relief.events, relief.censored, relief.median) == (2, 2, 0, 7)


def rates(stats, site_slug, day):
    """{method: ((responders, completers), (responders, check-ins over))} of one table row."""
    table = next(t for t in stats.responders if (t.site.slug if t.site else None) == site_slug)
    row = next(row for row in table.days if row.day == day)
    return {
        rates.method.key: (
            (rates.completers.successes, rates.completers.n),
            (rates.missing_as_non_responder.successes, rates.missing_as_non_responder.n),
        )
        for rates in row.methods
    }


def test_responder_rates_per_site_by_every_method(clinic):
    stats = outcome_stats(OutcomeFilters(), now=NOW)
    assert [t.site.slug if t.site else None for t in stats.responders] == [
        None,
        "cervical-trigger-point",
        "lumbar",
    ]
    # Lumbar day 7. NRS methods, baseline above 0 and answered: L1 8->4, L2 6->3, L4 10->6,
    # L7 9->2. >= 30 %: pain x 100 <= baseline x 70: 400<=560, 300<=420, 600<=700,
    # 200<=630: 4. >= 50 %: x 50: 400<=400, 300<=300, 600>500, 200<=450: 3. >= 2 points:
    # 4, 3, 4, 7: 4. Time over, baseline above 0: those four and L6, L8 (unanswered,
    # expired): 6. PGIC given: L1 2, L2 1, L3 2, L5 2: 4 of 4; over, any episode: L1-L8: 8.
    assert rates(stats, "lumbar", 7) == {
        "moderate": ((4, 4), (4, 6)),
        "substantial": ((3, 4), (3, 6)),
        "points": ((4, 4), (4, 6)),
        "pgic": ((4, 4), (4, 8)),
    }
    # Lumbar day 30. Answered with a baseline above 0: L1 8->6 (600>560, 2 points), L2 6->2
    # (200<=420, 200<=300, 4 points). Over, baseline above 0: L1, L2, L4, L8 (L6's is still
    # open, L7's was never asked): 4. PGIC: L1 4, L2 3: 0 of 2; over: L1-L5, L8: 6.
    assert rates(stats, "lumbar", 30) == {
        "moderate": ((1, 2), (1, 4)),
        "substantial": ((1, 2), (1, 4)),
        "points": ((2, 2), (2, 4)),
        "pgic": ((0, 2), (0, 6)),
    }
    # Lumbar day 90: L1 8->7 (700>560, 1 point), L4 10->4 (400<=500, 6 points); over, with
    # a baseline: L1, L2, L4, L8 (L6's is not due). PGIC: L4 2: 1 of 1; over: L1-L5, L8: 6.
    assert rates(stats, "lumbar", 90) == {
        "moderate": ((1, 2), (1, 4)),
        "substantial": ((1, 2), (1, 4)),
        "points": ((1, 2), (1, 4)),
        "pgic": ((1, 1), (1, 6)),
    }
    # Cervical day 7: C1 9->1 (all), C2 5->5 (none; PGIC 4). Day 30: C1 9->8 (800>630,
    # 1 point; PGIC 5), C2 5->2 (200<=350, 200<=250, 3 points; no PGIC). Day 90: C2 5->3
    # (300<=350, 300>250, 2 points), C1 unanswered and over.
    assert rates(stats, "cervical-trigger-point", 7) == {
        "moderate": ((1, 2), (1, 2)),
        "substantial": ((1, 2), (1, 2)),
        "points": ((1, 2), (1, 2)),
        "pgic": ((1, 2), (1, 2)),
    }
    assert rates(stats, "cervical-trigger-point", 30) == {
        "moderate": ((1, 2), (1, 2)),
        "substantial": ((1, 2), (1, 2)),
        "points": ((1, 2), (1, 2)),
        "pgic": ((0, 1), (0, 2)),
    }
    assert rates(stats, "cervical-trigger-point", 90) == {
        "moderate": ((1, 1), (1, 2)),
        "substantial": ((0, 1), (0, 2)),
        "points": ((1, 1), (1, 2)),
        "pgic": ((0, 0), (0, 2)),
    }
    # Both sites together at day 7: the sums.
    assert rates(stats, None, 7) == {
        "moderate": ((5, 6), (5, 8)),
        "substantial": ((4, 6), (4, 8)),
        "points": ((5, 6), (5, 8)),
        "pgic": ((5, 6), (5, 10)),
    }


def test_responder_rates_carry_their_wilson_intervals(clinic):
    everything = next(t for t in outcome_stats(OutcomeFilters(), now=NOW).responders if not t.site)
    day7 = next(row for row in everything.days if row.day == 7).of("substantial")
    # z = 1.959964, z^2 = 3.841459. Completers 4/6: 1 + z^2/6 = 1.640243; centre
    # (0.666667 + 0.320122) / 1.640243 = 0.601610; half z x sqrt(0.037037 + 0.026677)
    # / 1.640243 = 0.301618: 30.00 to 90.32 %.
    assert day7.completers.interval == pytest.approx((30.00, 90.32), abs=0.005)
    # Missing = non-responder 4/8: centre (0.5 + 0.240091) / 1.480182 = 0.5; half
    # z x sqrt(0.03125 + 0.015006) / 1.480182 = 0.284784: 21.52 to 78.48 %.
    assert day7.missing_as_non_responder.interval == pytest.approx((21.52, 78.48), abs=0.005)


def test_a_check_in_still_open_is_not_counted_as_missing_until_its_time_is_over(clinic):
    # L6's day-30 check-in (baseline 7) can be answered until 7 Jul 2027 14:00 UTC.
    just_before = outcome_stats(lumbar(), now=datetime(2027, 7, 7, 13, 59, tzinfo=UTC))
    assert rates(just_before, "lumbar", 30)["moderate"] == ((1, 2), (1, 4))
    at_its_end = outcome_stats(lumbar(), now=datetime(2027, 7, 7, 14, tzinfo=UTC))
    assert rates(at_its_end, "lumbar", 30)["moderate"] == ((1, 2), (1, 5))  # L6 now missing
    assert rates(at_its_end, "lumbar", 30)["pgic"] == ((0, 2), (0, 7))


# --- refreshing --------------------------------------------------------------------------


def test_answers_after_a_refresh_count_at_the_next_one(clinic):
    before = outcome_stats(OutcomeFilters(), now=NOW)
    answer_check_in(clinic["L4"], 180, 2)
    assert outcome_stats(OutcomeFilters(), now=NOW) == before  # read model not yet refreshed
    refresh_outcome_facts()
    after = {p.day: p.pain.n for p in outcome_stats(OutcomeFilters(), now=NOW).time_points}
    assert after[180] == 1


def test_refreshing_twice_gives_the_same_tables(clinic):
    def tables():
        return (
            sorted(OutcomeFact.objects.values_list()),
            sorted(OutcomeEpisode.objects.values_list()),
        )

    first = tables()
    assert len(first[0]) == CheckIn.objects.count()
    first_time = refreshed_at()
    later = NOW + timedelta(minutes=5)
    with time_machine.travel(later, tick=False):
        record = refresh_outcome_facts()
    assert record is not None
    assert tables() == first
    assert refreshed_at() == later != first_time


def test_the_task_and_the_command_refresh(db, clock):
    assert refreshed_at() is None
    assert refresh_outcome_facts_task() is True
    assert refreshed_at() == NOW
    OutcomeRefresh.objects.update(refreshed_at=None)
    call_command("refresh_outcomes")
    assert refreshed_at() == NOW


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
def test_a_refresh_skips_while_another_is_running():
    refresh_outcome_facts()
    results = []

    def second_refresh():
        try:
            results.append(refresh_outcome_facts())
        finally:
            connection.close()

    with transaction.atomic():
        OutcomeRefresh.objects.select_for_update().get(pk=1)  # as a running refresh holds it
        thread = threading.Thread(target=second_refresh)
        thread.start()
        thread.join(timeout=30)
    assert results == [None]
    assert refresh_outcome_facts() is not None


# --- the page ----------------------------------------------------------------------------


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_page_shows_the_figures_of_the_hand_computed_clinic(clinician_user, clinic):
    html = client_for(clinician_user).get(URL).content.decode()
    assert "Median duration of relief (lower bound): <strong>at least 30 days</strong>" in html
    assert "(n = 6: 3 ended, 3 censored)" in html
    for caption in (
        "All sites together: responder rates at day 7, 30, 90",
        "Cervical trigger point: responder rates at day 7, 30, 90",
        "Lumbar: responder rates at day 7, 30, 90",
    ):
        assert caption in html
    assert "Missing = non-responder" in html
    assert "a check-in still open today, or cancelled before it was due, is not counted" in html
    # All sites, day 7, >= 50 %: 4/6 (30.00-90.32 %) and 4/8 (21.52-78.48 %), rounded.
    assert f"67 % (4/6; 95 % CI 30{DASH}90 %)" in html
    assert f"50 % (4/8; 95 % CI 22{DASH}78 %)" in html
    # Lumbar's baseline at day 0: median 7, IQR 6.5-8.5 of 7 baselines, in the table and
    # in the chart's description.
    assert (
        f'<th scope="row" class="num">0 (baseline)</th><td class="num">7</td>'
        f'<td class="num">7</td><td class="num">6.5{DASH}8.5</td>'
    ) in html
    # Then day 7 (no lumbar answer on days 1 and 3): 0 2 3 3 4 6, positions p x 5: median
    # at 2.5 -> 3, Q1 at 1.25 -> 2 + 0.25 x 1 = 2.25, Q3 at 3.75 -> 3 + 0.75 x 1 = 3.75.
    assert "baseline median 7 (IQR 6.5-8.5, n=7); day 7 median 3 (IQR 2.25-3.75, n=6)" in html


def test_the_page_says_when_its_figures_were_computed(clinician_user, clinic, clock):
    clock.move_to(NOW + timedelta(minutes=9))  # under twice the 5-minute interval
    html = client_for(clinician_user).get(URL).content.decode()
    assert "Figures as of Jul 1, 2027, 11:00 AM EDT" in html  # 15:00 UTC in New York
    assert "out of date" not in html


def test_the_page_warns_when_its_figures_are_old(clinician_user, clinic, clock, settings):
    settings.OUTCOME_REFRESH_MINUTES = 5
    clock.move_to(NOW + timedelta(minutes=11))
    html = client_for(clinician_user).get(URL).content.decode()
    assert "Figures as of Jul 1, 2027, 11:00 AM EDT" in html
    assert "These figures are out of date" in html


def test_the_page_warns_when_figures_were_never_computed(clinician_user, clock):
    html = client_for(clinician_user).get(URL).content.decode()
    assert "These figures have not been computed yet" in html
    assert "Figures as of" not in html


def test_reception_still_cannot_see_the_outcomes(receptionist, clinic):
    assert client_for(receptionist).get(URL).status_code == 403


def test_the_patient_trend_page_reads_the_users_groups_once(clinician_user, clock):
    clinician = ClinicianFactory(user=clinician_user)
    episode = episode_after_procedure(clinician=clinician, performed_at=PERFORMED)
    answer_check_in(episode, 7, 3)
    client = client_for(clinician_user)
    with CaptureQueriesContext(connection) as page:
        assert client.get(f"/staff/patients/{episode.patient_id}/trends/").status_code == 200
    group_reads = [q for q in page.captured_queries if "auth_user_groups" in q["sql"]]
    assert len(group_reads) == 1
