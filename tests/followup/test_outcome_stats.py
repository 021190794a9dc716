"""The clinic's outcome figures against hand-computed fixtures, the Wilson interval, the
Kaplan-Meier median, the dashboard page and who may open it."""

from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from booking.models import AuditEvent, Site
from followup.models import Alert, Episode
from followup.outcome_facts import refresh_outcome_facts
from followup.outcome_stats import (
    OutcomeFilters,
    Survival,
    kaplan_meier_median_of_counts,
    outcome_stats,
    percentile_of_counts,
    wilson_interval,
)
from tests.factories import (
    ClinicianFactory,
    LocationFactory,
    PatientFactory,
    answer_check_in,
    episode_after_procedure,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

PERFORMED = datetime(2026, 12, 1, 15, tzinfo=UTC)
NOW = datetime(2027, 7, 1, 15, tzinfo=UTC)  # after day 180 of every fixture episode
URL = "/staff/outcomes/"


# --- pure functions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("successes", "n", "lower", "upper"),
    [
        # Newcombe (1998), Stat Med 17:857-872, table I, method 3 (the Wilson score interval
        # without continuity correction), to 4 decimals.
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
        # Hand-computed: centre (p + z²/2n) / (1 + z²/n), half-width
        # z·sqrt(p(1-p)/n + z²/4n²) / (1 + z²/n), z = 1.959964, z² = 3.841459.
        (0, 10, 0.0, 0.2775),  # upper = (z²/n) / (1 + z²/n) = 0.384146 / 1.384146
        (5, 10, 0.2366, 0.7634),  # 0.5 ± z·sqrt(0.025 + 0.009604) / 1.384146 = ± 0.263407
        (10, 10, 0.7225, 1.0),
        # 1/3: centre (0.333333 + 0.640243) / 2.280486 = 0.426916; half z·sqrt(0.074074
        # + 0.106707) / 2.280486 = 0.365424.
        (1, 3, 0.0615, 0.7923),
    ],
)
def test_wilson_interval(successes, n, lower, upper):
    low, high = wilson_interval(successes, n)
    assert (round(low, 4), round(high, 4)) == (lower, upper)


def test_wilson_interval_without_observations_is_none():
    assert wilson_interval(0, 0) is None
    with pytest.raises(ValueError, match="between 0 and n"):
        wilson_interval(4, 3)


def percentile_cont(ordered: list[float], fraction: float) -> float | None:
    return percentile_of_counts([(value, 1) for value in ordered], fraction)


def kaplan_meier_median(observations: list[tuple[int, bool]]) -> Survival:
    return kaplan_meier_median_of_counts((time, event, 1) for time, event in observations)


def test_percentile_cont_interpolates_like_postgresql():
    assert percentile_cont([], 0.5) is None
    assert percentile_cont([7], 0.25) == 7
    assert percentile_cont([1, 2, 3, 4], 0.5) == 2.5
    assert percentile_cont([1, 2, 3, 4], 0.25) == 1.75
    assert percentile_cont([0, 3, 3, 4, 6], 0.5) == 3  # a tie at the median
    assert percentile_of_counts([(0, 1), (3, 2), (4, 1), (6, 1)], 0.5) == 3  # the same, counted


def test_kaplan_meier_median():
    # Events at 7 and 30, one censored at 30: S(7) = 2/3, S(30) = 2/3 x 1/2 = 1/3.
    survival = kaplan_meier_median([(7, True), (30, True), (30, False)])
    assert (survival.n, survival.events, survival.censored, survival.median) == (3, 2, 1, 30)
    # Censored early: S(14) = 1 x (1 - 1/2) after the censored 7 leaves 2 at risk.
    assert kaplan_meier_median([(7, False), (14, True), (90, False)]).median == 14
    # More than half still relieved at the end: not reached.
    assert kaplan_meier_median([(7, True), (30, False), (90, False)]).median is None
    assert kaplan_meier_median([]) == kaplan_meier_median([])
    assert kaplan_meier_median([]).n == 0


# --- the figures of a hand-computed clinic -----------------------------------------------


def episode(pain_before, **kwargs):
    kwargs.setdefault("patient", PatientFactory(consent_email=True))
    return episode_after_procedure(performed_at=PERFORMED, pain_before=pain_before, **kwargs)


@pytest.fixture
def clinic(db):
    """Five lumbar episodes (and a cervical one) with these answers:

    | episode | baseline | day 7     | day 30                      | day 90             |
    |---------|----------|-----------|-----------------------------|--------------------|
    | e1      | 8        | 4 (-50 %) | 6 (-25 %) more, less        | 8 (0 %) more, less |
    | e2      | 6        | 3 (-50 %) | 2 (-67 %) same, less        |                    |
    | e3      | 0        | 0         | 1, medication more          |                    |
    | e4      | 10       | 6 late    |                             |                    |
    | e5      | none     | 3         |                             |                    |
    """
    e1 = episode(8)
    e2 = episode(6)
    e3 = episode(0)
    e4 = episode(10)
    e5 = episode(6, injectates=("saline",))
    Episode.objects.filter(pk=e5.pk).update(baseline_pain=None)
    e5.refresh_from_db()
    answer_check_in(e1, 7, 4)
    answer_check_in(e1, 30, 6, activity="more", medication="less")
    answer_check_in(e1, 90, 8, activity="more", medication="less")
    answer_check_in(e2, 7, 3)
    answer_check_in(e2, 30, 2, activity="same", medication="less")
    answer_check_in(e3, 7, 0)
    answer_check_in(e3, 30, 1, medication="more")
    late = answer_check_in(e4, 7, 6, hours_after_due=80)
    assert late.late
    answer_check_in(e5, 7, 3, send=False)
    cervical = episode(9, site_slug="cervical-trigger-point")
    answer_check_in(cervical, 7, 1, side_effects=["fever"])  # an open red flag
    refresh_outcome_facts()
    return {"e1": e1, "e2": e2, "e3": e3, "e4": e4, "e5": e5, "cervical": cervical}


def lumbar() -> OutcomeFilters:
    return OutcomeFilters(sites=(Site.objects.get(slug="lumbar"),))


def test_time_points_median_iqr_and_percent_change(clinic):
    stats = outcome_stats(lumbar(), now=NOW)
    points = {point.day: point for point in stats.time_points}
    assert sorted(points) == [1, 3, 7, 14, 30, 42, 90, 180]
    assert stats.episodes == 5
    day7 = points[7]
    # Pains 0, 3, 3, 4, 6 (the late answer counts): median 3 (a tie), IQR 3-4.
    assert (day7.pain.n, day7.pain.q1, day7.pain.median, day7.pain.q3) == (5, 3, 3, 4)
    # Baselines above 0 only: -50, -50, -40 (e3's baseline 0 and e5's none are left out).
    assert day7.percent_change.n == 3
    assert day7.percent_change.median == pytest.approx(-50)
    assert day7.percent_change.q3 == pytest.approx(-45)
    day30 = points[30]
    assert (day30.pain.n, day30.pain.median) == (3, 2)
    assert day30.percent_change.n == 2
    assert day30.percent_change.median == pytest.approx((-25 + -200 / 3) / 2)
    assert (points[90].pain.n, points[90].pain.median, points[90].percent_change.median) == (
        1,
        8,
        0,
    )
    # No answers: no figure, n = 0.
    assert points[180].pain.n == 0
    assert points[180].pain.median is None
    assert points[180].percent_change.n == 0


def test_responders_with_wilson_intervals(clinic):
    pooled, lumbar_table = outcome_stats(lumbar(), now=NOW).responders
    assert (pooled.site, lumbar_table.site.slug) == (None, "lumbar")
    by_day = {row.day: row for row in lumbar_table.days}
    # Day 7, baseline > 0: e1 8->4 (-50 %), e2 6->3 (-50 %), e4 10->6 (-40 %, late).
    moderate, substantial = by_day[7].of("moderate"), by_day[7].of("substantial")
    assert (moderate.completers.successes, moderate.completers.n) == (3, 3)
    assert (substantial.completers.successes, substantial.completers.n) == (2, 3)
    # 2/3: 1 + z²/3 = 2.280486; centre (0.666667 + 0.640243) / 2.280486 = 0.573084; half
    # 1.959964 x sqrt(0.074074 + 0.106707) / 2.280486 = 0.365424: 20.77 to 93.85 %.
    assert substantial.completers.interval == pytest.approx((20.77, 93.85), abs=0.005)
    # Day 30: e1 8->6 (-25 %), e2 6->2 (-67 %); e3 (baseline 0) is not counted. e4's
    # day-30 check-in expired unanswered: a non-responder when missing answers count.
    moderate = by_day[30].of("moderate")
    assert (moderate.completers.successes, moderate.completers.n) == (1, 2)
    assert (
        moderate.missing_as_non_responder.successes,
        moderate.missing_as_non_responder.n,
    ) == (1, 3)
    assert by_day[30].of("substantial").completers.successes == 1
    day90 = by_day[90].of("moderate").completers
    assert (day90.successes, day90.n) == (0, 1)  # e1 8->8


def test_duration_of_relief_is_read_at_its_lower_bound(clinic):
    relief = outcome_stats(lumbar(), now=NOW).relief
    # e1 relieved at day 7 (4 <= 8/2) and no longer at day 30 (6): between 7 and 30 days,
    # an event at 7. e2 is still relieved at its last answer (day 30): censored at 30.
    # e4 never reached 50 % relief; e3 (baseline 0) and e5 (none) have no percent.
    # Day 7: 1 of 2 ended: S = 1/2, the median (lower bound) is 7 days.
    assert (relief.n, relief.events, relief.censored) == (2, 1, 1)
    assert relief.median == 7


def test_activity_medication_completion_and_alerts(clinic):
    stats = outcome_stats(lumbar(), now=NOW)
    benefits = {row.day: row for row in stats.benefits}
    assert (benefits[30].more_activity.successes, benefits[30].more_activity.n) == (1, 2)
    assert (benefits[30].less_medication.successes, benefits[30].less_medication.n) == (2, 3)
    assert (benefits[90].more_activity.successes, benefits[90].more_activity.n) == (1, 1)
    completion = {point.day: point.completion for point in stats.time_points}
    # Day 7: messages sent to e1-e4 (e5's was not sent, so its answer is not in the rate).
    assert (completion[7].successes, completion[7].n) == (4, 4)
    assert (completion[14].successes, completion[14].n) == (0, 0)
    assert stats.open_alerts == 0
    everything = outcome_stats(OutcomeFilters(), now=NOW)
    assert everything.open_alerts == Alert.objects.filter(acknowledged_at__isnull=True).count()
    assert everything.open_alerts == 1
    assert everything.episodes == 6


def test_filters(clinic):
    saline = outcome_stats(OutcomeFilters(injectate="saline"), now=NOW)
    assert saline.episodes == 1
    assert {p.day: p.pain.n for p in saline.time_points}[7] == 1
    clinician = clinic["e1"].procedure.performed_by
    assert outcome_stats(OutcomeFilters(clinician=clinician), now=NOW).episodes == 1
    location = clinic["e2"].procedure.appointment.location
    assert outcome_stats(OutcomeFilters(location=location), now=NOW).episodes == 1
    assert outcome_stats(OutcomeFilters(date_from=date(2026, 12, 2)), now=NOW).episodes == 0
    assert outcome_stats(OutcomeFilters(date_to=date(2026, 12, 1)), now=NOW).episodes == 6
    cervical = outcome_stats(
        OutcomeFilters(sites=(Site.objects.get(slug="cervical-trigger-point"),)),
        now=NOW,
    )
    assert cervical.open_alerts == 1
    assert [s.site.slug for s in cervical.per_site] == ["cervical-trigger-point"]


def test_no_answers_is_no_data(db):
    stats = outcome_stats(lumbar(), now=NOW)
    assert stats.episodes == 0
    assert all(point.pain.n == 0 and point.pain.median is None for point in stats.time_points)
    assert [table.site.slug if table.site else None for table in stats.responders] == [
        None,
        "lumbar",  # selected, so shown with n = 0
    ]
    assert all(
        rates.missing_as_non_responder.n == 0 and rates.completers.interval is None
        for table in stats.responders
        for row in table.days
        for rates in row.methods
    )
    assert stats.relief.n == 0
    assert stats.relief.median is None


def test_a_constant_number_of_queries(clinic, django_assert_max_num_queries):
    with CaptureQueriesContext(connection) as small:
        outcome_stats(OutcomeFilters(), now=NOW)
    for pain in (2, 5, 7):
        more = episode(8, clinician=ClinicianFactory(), location=LocationFactory())
        answer_check_in(more, 7, pain)
        answer_check_in(more, 30, pain)
    refresh_outcome_facts()
    with CaptureQueriesContext(connection) as large:
        outcome_stats(OutcomeFilters(), now=NOW)
    assert len(large.captured_queries) == len(small.captured_queries)
    with django_assert_max_num_queries(11):
        outcome_stats(OutcomeFilters(), now=NOW)


# --- the page ----------------------------------------------------------------------------


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_anonymous_users_are_sent_to_log_in(db):
    response = Client().get(URL)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("who", ["receptionist", "patient_user"])
def test_reception_and_non_staff_are_refused(request, who):
    user = request.getfixturevalue(who)
    assert client_for(user).get(URL).status_code == 403
    assert client_for(user).get(URL + "export.csv").status_code == 403


@pytest.mark.parametrize("who", ["clinician_user", "clinic_admin"])
def test_clinicians_and_admins_see_the_dashboard_and_it_is_audited(request, who, clinic):
    user = request.getfixturevalue(who)
    response = client_for(user).get(URL, {"site": ["lumbar", "cervical-trigger-point"]})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Responders" in html
    assert "Kaplan" in html
    assert "censored" in html
    assert html.count("<svg") == 2  # one chart per selected site
    assert "Lumbar: median pain and interquartile range by day" in html
    assert "no data" in html
    event = AuditEvent.objects.get(user=user)
    assert event.action == "view"
    assert "lumbar" in event.summary


def test_invalid_filters_show_form_errors(clinician_user):
    client = client_for(clinician_user)
    response = client.get(URL, {"date_from": "2027-01-10", "date_to": "2027-01-01"})
    assert response.status_code == 400
    assert "The end date is before the start date." in response.content.decode()
    response = client.get(URL, {"site": "nowhere", "date_from": "yesterday", "clinician": "x"})
    assert response.status_code == 400
    assert "Please check the filters" in response.content.decode()
    assert not AuditEvent.objects.exists()


def test_an_episode_closed_by_a_new_procedure_is_censored_at_its_last_answer(db):
    patient = PatientFactory(consent_email=True)
    first = episode(8, patient=patient)
    answer_check_in(first, 7, 2)  # -75 %: still relieved when the next injection came
    episode_after_procedure(
        patient=patient, performed_at=datetime(2026, 12, 21, 15, tzinfo=UTC), pain_before=7
    )
    first.refresh_from_db()
    assert first.closed_at is not None
    refresh_outcome_facts()
    stats = outcome_stats(lumbar(), now=NOW)
    assert stats.episodes == 2
    assert (stats.relief.n, stats.relief.events, stats.relief.censored) == (1, 0, 1)
    assert stats.relief.median is None  # not reached
    completion = {point.day: point.completion for point in stats.time_points}
    assert (completion[7].successes, completion[7].n) == (1, 1)
    assert completion[30].n == 0  # the closed episode's day-30 check-in was cancelled unsent


def test_the_page_reads_a_constant_number_of_queries(clinician_user, clinic):
    client = client_for(clinician_user)
    with CaptureQueriesContext(connection) as small:
        assert client.get(URL).status_code == 200
    more = episode(9, clinician=ClinicianFactory(), location=LocationFactory())
    answer_check_in(more, 7, 4)
    refresh_outcome_facts()
    with CaptureQueriesContext(connection) as large:
        assert client.get(URL).status_code == 200
    assert len(large.captured_queries) == len(small.captured_queries)
