"""The outcomes dashboard's read model: a refresh gives exactly the figures that the source
tables give, the page says how old its figures are, and refreshes never run twice at once."""

import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from booking.models import Site
from followup.dashboard_stats import (
    OutcomeFilters,
    Quartiles,
    filtered_answers,
    filtered_episodes,
    kaplan_meier_median_of_counts,
    outcome_stats,
)
from followup.models import (
    CheckIn,
    Message,
    MessageKind,
    MessageState,
    OutcomeEpisode,
    OutcomeFact,
    OutcomeRefresh,
)
from followup.outcome_facts import refresh_outcome_facts, refreshed_at
from followup.tasks import refresh_outcome_facts_task
from followup.trends import relief_duration
from tests.factories import (
    ClinicianFactory,
    LocationFactory,
    PatientFactory,
    answer_check_in,
    episode_after_procedure,
)

PERFORMED = datetime(2026, 12, 1, 15, tzinfo=UTC)
NOW = datetime(2027, 7, 1, 15, tzinfo=UTC)
URL = "/staff/outcomes/"


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def varied(db, clock):
    """Every kind of data the figures treat apart: late answers, an episode closed by a new
    procedure, baselines of 0 and missing, one and several injectates, two clinicians, two
    locations, three sites, a procedure late in the evening (another date in New York than
    in UTC), an answer whose message was never sent and a message sent but unanswered."""
    from followup.models import Episode

    clinicians = [ClinicianFactory(), ClinicianFactory()]
    locations = [LocationFactory(), LocationFactory()]

    def episode(n, baseline, site="lumbar", injectates=("saline",), **kwargs):
        kwargs.setdefault("patient", PatientFactory(consent_email=True))
        kwargs.setdefault("performed_at", PERFORMED + timedelta(days=n % 3))
        return episode_after_procedure(
            site_slug=site,
            clinician=clinicians[n % 2],
            location=locations[n // 2 % 2],
            pain_before=baseline,
            injectates=injectates,
            **kwargs,
        )

    e1 = episode(0, 8, injectates=("saline", "corticosteroid"))
    answer_check_in(e1, 1, 7)
    answer_check_in(e1, 7, 3, activity="more", medication="less")
    answer_check_in(e1, 30, 6, hours_after_due=100)  # late: counts at day 30
    e2 = episode(1, 0, site="cervical-trigger-point", injectates=("botulinum_toxin",))
    answer_check_in(e2, 7, 0, side_effects=["fever"])
    e3 = episode(2, 6, site="thoracic")
    Episode.objects.filter(pk=e3.pk).update(baseline_pain=None)
    answer_check_in(e3, 7, 2, send=False)
    e4 = episode(3, 10, performed_at=datetime(2026, 12, 3, 3, tzinfo=UTC))  # 2 Dec in NY
    answer_check_in(e4, 7, 4)
    answer_check_in(e4, 14, 5)
    answer_check_in(e4, 90, 9, medication="same")
    patient = PatientFactory(consent_email=True)
    closed = episode(4, 9, patient=patient, injectates=("local_anaesthetic", "saline"))
    answer_check_in(closed, 7, 2)
    episode(5, 7, patient=patient, performed_at=PERFORMED + timedelta(days=20))
    Message.objects.filter(check_in__episode=e4, check_in__day=30).update(
        state=MessageState.SENT, sent_at=PERFORMED + timedelta(days=31)
    )
    refresh_outcome_facts()
    return {"clinicians": clinicians, "locations": locations}


def filters_of_every_dimension(varied) -> list[OutcomeFilters]:
    lumbar = Site.objects.get(slug="lumbar")
    cervical = Site.objects.get(slug="cervical-trigger-point")
    return [
        OutcomeFilters(),
        OutcomeFilters(sites=(lumbar,)),
        OutcomeFilters(sites=(lumbar, cervical)),
        *(
            OutcomeFilters(injectate=kind)
            for kind in ("saline", "corticosteroid", "local_anaesthetic", "botulinum_toxin")
        ),
        OutcomeFilters(clinician=varied["clinicians"][1]),
        OutcomeFilters(location=varied["locations"][0]),
        OutcomeFilters(date_from=date(2026, 12, 2)),
        OutcomeFilters(date_to=date(2026, 12, 2)),
        OutcomeFilters(date_from=date(2026, 12, 3), date_to=date(2026, 12, 3)),
        OutcomeFilters(sites=(lumbar,), injectate="saline", clinician=varied["clinicians"][0]),
    ]


def live_figures(filters: OutcomeFilters) -> dict[str, object]:
    """The dashboard's figures computed answer by answer from the source tables."""
    answers = filtered_answers(filters).select_related("check_in__episode")
    pain: dict[int, Counter[float]] = {}
    answered_by_episode: dict[int, list[tuple[int, int]]] = {}
    baselines: dict[int, int | None] = {}
    for answer in answers:
        episode = answer.check_in.episode
        pain.setdefault(answer.check_in.day, Counter())[answer.pain] += 1
        answered_by_episode.setdefault(episode.pk, []).append((answer.check_in.day, answer.pain))
        baselines[episode.pk] = episode.baseline_pain
    sent = CheckIn.objects.filter(
        episode__in=filtered_episodes(filters),
        messages__kind=MessageKind.CHECK_IN,
        messages__state=MessageState.SENT,
    ).distinct()
    completion = Counter((c.day, hasattr(c, "answer")) for c in sent.select_related("answer"))
    observations = []
    for episode_id, answered in answered_by_episode.items():
        relief = relief_duration(baselines[episode_id], answered)
        if relief.days is not None:
            observations.append((relief.days, True))
        elif relief.still_at_day is not None:
            observations.append((max(day for day, _ in answered), False))
    return {
        "episodes": filtered_episodes(filters).count(),
        "pain": {day: Quartiles.of_counts(counts) for day, counts in pain.items()},
        "completion": {
            day: (completion[day, True], completion[day, True] + completion[day, False])
            for day, _ in completion
        },
        "relief": kaplan_meier_median_of_counts((day, ended, 1) for day, ended in observations),
    }


def read_model_figures(filters: OutcomeFilters) -> dict[str, object]:
    stats = outcome_stats(filters)
    return {
        "episodes": stats.episodes,
        "pain": {p.day: p.pain for p in stats.time_points if p.pain.n},
        "completion": {
            p.day: (p.completion.successes, p.completion.n)
            for p in stats.time_points
            if p.completion.n
        },
        "relief": stats.relief,
    }


def test_the_refreshed_figures_equal_the_live_ones_for_every_filter(varied):
    for filters in filters_of_every_dimension(varied):
        assert read_model_figures(filters) == live_figures(filters), filters.describe()


def test_the_fixture_exercises_what_it_claims(varied):
    everything = outcome_stats(OutcomeFilters())
    assert everything.episodes == 6
    # e1 relieved at 7 and ended at 30, e4 at 7 and ended at 90; the closed one censored.
    assert everything.relief.n == 3
    assert (everything.relief.events, everything.relief.censored) == (2, 1)
    day7 = next(p for p in everything.time_points if p.day == 7)
    assert day7.pain.n == 5
    assert day7.percent_change.n == 3  # baselines 0 and missing have no percent
    assert (day7.completion.successes, day7.completion.n) == (4, 4)  # e3's was never sent
    day30 = next(p for p in everything.time_points if p.day == 30)
    assert (day30.completion.successes, day30.completion.n) == (1, 2)  # e4's went unanswered
    assert outcome_stats(OutcomeFilters(date_to=date(2026, 12, 2))).episodes == 4


def test_answers_after_a_refresh_count_at_the_next_one(varied):
    before = outcome_stats(OutcomeFilters())
    episode = OutcomeEpisode.objects.filter(baseline=10).get().episode
    answer_check_in(episode, 180, 2)
    assert outcome_stats(OutcomeFilters()) == before  # read model not yet refreshed
    refresh_outcome_facts()
    after = {p.day: p.pain.n for p in outcome_stats(OutcomeFilters()).time_points}
    assert after[180] == 1


def test_refreshing_twice_gives_the_same_tables(varied):
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


def test_the_page_says_when_its_figures_were_computed(clinician_user, varied, clock):
    clock.move_to(NOW + timedelta(minutes=9))  # under twice the 5-minute interval
    html = client_for(clinician_user).get(URL).content.decode()
    assert "Figures as of 1 Jul 2027, 11:00 EDT" in html  # 15:00 UTC in New York
    assert "out of date" not in html


def test_the_page_warns_when_its_figures_are_old(clinician_user, varied, clock, settings):
    settings.OUTCOME_REFRESH_MINUTES = 5
    clock.move_to(NOW + timedelta(minutes=11))
    html = client_for(clinician_user).get(URL).content.decode()
    assert "Figures as of 1 Jul 2027, 11:00 EDT" in html
    assert "These figures are out of date" in html


def test_the_page_warns_when_figures_were_never_computed(clinician_user, clock):
    html = client_for(clinician_user).get(URL).content.decode()
    assert "These figures have not been computed yet" in html
    assert "Figures as of" not in html


def test_reception_still_cannot_see_the_outcomes(receptionist, varied):
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
