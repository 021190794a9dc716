"""Per-episode figures of the patient trend view, against hand-computed values, and the
trend page itself: chart, tables, access per role, audit."""

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.test import Client

from booking.models import AuditEvent
from booking.roles import CLINICIAN
from followup.clinical import ReliefInterval, percent_reduction
from followup.models import SideEffect
from followup.trends import (
    BASELINE_ZERO,
    MODERATE,
    NO_ANSWER,
    NO_BASELINE,
    NOT_RESPONDER,
    SUBSTANTIAL,
    change_from_baseline,
    patient_figures,
    relief_duration,
    responder_label,
    responders,
)
from tests.factories import (
    ClinicianFactory,
    PatientFactory,
    answer_check_in,
    episode_after_procedure,
)

PERFORMED = datetime(2026, 3, 2, 15, tzinfo=UTC)
NOW = datetime(2026, 11, 20, 15, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"


# --- pure figures ------------------------------------------------------------------------


def test_percent_reduction_and_change():
    assert percent_reduction(8, 4) == 50
    assert percent_reduction(8, 6) == 25
    assert percent_reduction(8, 10) == -25
    assert percent_reduction(0, 3) is None
    assert percent_reduction(None, 3) is None
    assert change_from_baseline(8, 2) == (-6, -75)
    assert change_from_baseline(0, 2) == (2, None)  # points, but no percent
    assert change_from_baseline(None, 2) == (None, None)


def test_responder_thresholds_are_inclusive():
    assert responder_label(10, 5) == SUBSTANTIAL  # exactly 50 %
    assert responder_label(10, 7) == MODERATE  # exactly 30 %
    assert responder_label(10, 8) == NOT_RESPONDER  # 20 %
    assert responder_label(6, 4) == MODERATE  # 33.3 %
    assert responder_label(0, 0) == BASELINE_ZERO
    assert responder_label(None, 3) == NO_BASELINE
    assert responder_label(7, None) == NO_ANSWER


def test_responders_at_7_30_90_with_n():
    result = responders(8, {1: 7, 7: 4, 14: 3, 30: 6})
    assert [(r.day, r.label, r.reduction, r.n) for r in result] == [
        (7, SUBSTANTIAL, 50, 1),
        (30, NOT_RESPONDER, 25, 1),
        (90, NO_ANSWER, None, 0),
    ]


def test_relief_duration_falls_below_again():
    # Baseline 8: day 1 6 (25 %), day 7 4 (50 %), day 14 3 (62.5 %), day 30 5 (37.5 %).
    # Relief lasted at least 14 days (last seen at day 14) and at most 30 (gone at day 30):
    # not "30 days", which would overstate it.
    duration = relief_duration(8, [(1, 6), (7, 4), (14, 3), (30, 5), (42, 2)])
    assert duration.interval == ReliefInterval(began=7, at_least=14, at_most=30)
    assert duration.text == "Between 14 and 30 days (≥ 50 % at day 14, below at day 30)."
    assert duration.n == 5


def test_relief_duration_still_and_never_and_missing():
    lasting = relief_duration(8, [(7, 4), (14, 4)])
    assert lasting.interval == ReliefInterval(began=7, at_least=14, at_most=None)
    assert lasting.text == "At least 14 days (still ≥ 50 % at day 14)."
    never = relief_duration(8, [(7, 5), (14, 6)])
    assert never.interval is None
    assert "No check-in reached" in never.text
    assert relief_duration(8, []).n == 0
    assert "no answers" in relief_duration(8, []).text
    assert "baseline was 0" in relief_duration(0, [(7, 0)]).text
    assert "no baseline" in relief_duration(None, [(7, 0)]).text


def test_relief_duration_single_answer():
    single = relief_duration(6, [(7, 3)])
    assert (single.interval, single.n) == (ReliefInterval(7, 7, None), 1)


# --- figures from the database -------------------------------------------------------------


@pytest.fixture
def patient(db):
    return PatientFactory(consent_email=True)


@pytest.mark.django_db
def test_episode_figures_with_late_answer_red_flag_and_completion(patient, clock):
    episode = episode_after_procedure(patient=patient, performed_at=PERFORMED, pain_before=8)
    answer_check_in(episode, 1, 7)
    answer_check_in(episode, 7, 4, relief_percent=60, pgic=2, side_effects=[SideEffect.NONE])
    # Day 30: answered 100 hours after it was due, past its 72-hour expiry: late.
    answer_check_in(episode, 30, 6, hours_after_due=100, side_effects=[SideEffect.FEVER])
    # Day 14 was sent and never answered; day 3 was never sent.
    answer_check_in_sent_only = episode.check_ins.get(day=14)
    from followup.models import Message, MessageKind, MessageState

    Message.objects.filter(check_in=answer_check_in_sent_only, kind=MessageKind.CHECK_IN).update(
        state=MessageState.SENT, sent_at=answer_check_in_sent_only.due_at
    )

    [figures] = patient_figures(patient)
    assert figures.baseline == 8
    assert [(r.day, r.pain, r.change_points, r.change_percent) for r in figures.rows] == [
        (1, 7, -1, -12.5),
        (7, 4, -4, -50),
        (30, 6, -2, -25),
    ]
    assert [r.late for r in figures.rows] == [False, False, True]
    assert figures.rows[2].red_flags == ["Fever or chills"]
    # Day 1 answered no warning-sign question (a text with only a score): never "none".
    assert [r.warning_signs for r in figures.rows] == [
        ["Not answered"],
        ["None of these"],
        ["Fever or chills"],
    ]
    assert (figures.answered, figures.sent) == (3, 4)
    assert figures.completion_percent == 75
    assert [(r.day, r.label, r.n) for r in figures.responders] == [
        (7, SUBSTANTIAL, 1),
        (30, NOT_RESPONDER, 1),
        (90, NO_ANSWER, 0),
    ]
    assert figures.duration is not None
    # 50 % at day 7, 25 % at day 30: at least 7 days, at most 30.
    assert figures.duration.interval == ReliefInterval(began=7, at_least=7, at_most=30)


@pytest.mark.django_db
def test_no_answers_and_baseline_zero(patient, clock):
    episode_after_procedure(patient=patient, performed_at=PERFORMED, pain_before=0)
    [figures] = patient_figures(patient)
    assert figures.rows == []
    assert (figures.answered, figures.sent) == (0, 0)
    assert figures.completion_percent is None
    assert {r.label for r in figures.responders} == {NO_ANSWER}
    assert figures.duration is not None
    assert "baseline was 0" in figures.duration.text


@pytest.mark.django_db
def test_missing_baseline(patient, clock):
    episode = episode_after_procedure(patient=patient, performed_at=PERFORMED, pain_before=None)
    episode.refresh_from_db()
    assert episode.baseline_pain is None  # the factory's appointment has no booking score
    answer_check_in(episode, 7, 3)
    [figures] = patient_figures(patient)
    assert (figures.rows[0].change_points, figures.rows[0].change_percent) == (None, None)
    assert figures.responders[0].label == NO_BASELINE


@pytest.mark.django_db
def test_episode_closed_by_a_new_procedure(patient, clock):
    clinician = ClinicianFactory()
    first = episode_after_procedure(
        patient=patient, clinician=clinician, performed_at=PERFORMED, pain_before=8
    )
    answer_check_in(first, 7, 4)
    answer_check_in(first, 14, 4)
    second = episode_after_procedure(
        patient=patient,
        clinician=clinician,
        location=first.procedure.appointment.location,
        performed_at=PERFORMED + timedelta(days=20),
        pain_before=7,
    )
    first.refresh_from_db()
    assert first.closed_at is not None
    older, newer = patient_figures(patient)
    assert older.episode == first
    assert newer.episode == second
    assert [r.day for r in older.rows] == [7, 14]
    assert older.duration is not None
    assert older.duration.interval == ReliefInterval(began=7, at_least=14, at_most=None)
    assert [(r.day, r.n) for r in older.responders] == [(7, 1), (30, 0), (90, 0)]
    assert (older.answered, older.sent) == (2, 2)


# --- the page ----------------------------------------------------------------------------


def url(patient_id: int) -> str:
    return f"/staff/patients/{patient_id}/trends/"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def treated(patient, clinician_user, clock):
    clinician = ClinicianFactory(user=clinician_user)
    episode = episode_after_procedure(
        patient=patient, clinician=clinician, performed_at=PERFORMED, pain_before=8
    )
    answer_check_in(episode, 1, 6)
    answer_check_in(episode, 7, 3, side_effects=[SideEffect.REDNESS])
    return episode


@pytest.mark.django_db
def test_clinician_sees_chart_and_figures_and_it_is_audited(treated, clinician_user):
    response = client_for(clinician_user).get(url(treated.patient_id))
    assert response.status_code == 200
    html = response.content.decode()
    start, end = html.index("<svg"), html.index("</svg>") + len("</svg>")
    svg = ET.fromstring(html[start:end])  # noqa: S314 - our own SVG
    assert svg.find(f"{SVG}title") is not None
    assert svg.find(f"{SVG}desc") is not None
    points = svg.findall(f".//{SVG}g[@class='point']")
    assert len(points) == 3  # baseline at day 0 and two answers
    assert len(svg.findall(f".//{SVG}circle[@class='marked']")) == 1  # the red flag
    assert len(svg.findall(f".//{SVG}line[@class='reference']")) == 2  # 30 % and 50 %
    assert "substantial responder" in html
    assert "Repeat-injection eligibility" in html
    assert AuditEvent.objects.filter(
        patient=treated.patient, action=AuditEvent.Action.VIEW, summary__contains="trends"
    ).exists()


@pytest.mark.django_db
def test_clinic_admin_sees_any_patient(treated, clinic_admin):
    assert client_for(clinic_admin).get(url(treated.patient_id)).status_code == 200


@pytest.mark.django_db
def test_reception_is_refused(treated, receptionist):
    assert client_for(receptionist).get(url(treated.patient_id)).status_code == 403


@pytest.mark.django_db
def test_clinician_of_other_patients_gets_404(treated):
    other = ClinicianFactory(user__username="dr.other")
    other.user.groups.add(Group.objects.get(name=CLINICIAN))
    assert client_for(other.user).get(url(treated.patient_id)).status_code == 404


@pytest.mark.django_db
def test_anonymous_is_sent_to_log_in(treated):
    response = Client().get(url(treated.patient_id))
    assert response.status_code == 302


@pytest.mark.django_db
def test_patient_record_links_to_trends_for_clinicians(treated, clinician_user, receptionist):
    record = f"/desk/patients/{treated.patient_id}/"
    assert url(treated.patient_id) in client_for(clinician_user).get(record).content.decode()
    assert url(treated.patient_id) not in client_for(receptionist).get(record).content.decode()


@pytest.mark.django_db
def test_page_queries_do_not_grow_with_episodes(
    treated, clinician_user, django_assert_max_num_queries
):
    client = client_for(clinician_user)
    client.get(url(treated.patient_id))  # warm the session and role caches
    with django_assert_max_num_queries(20) as one:
        client.get(url(treated.patient_id))
    for weeks in (10, 20):
        later = episode_after_procedure(
            patient=treated.patient,
            clinician=treated.procedure.performed_by,
            location=treated.procedure.appointment.location,
            performed_at=PERFORMED + timedelta(weeks=weeks),
        )
        answer_check_in(later, 7, 4)
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(url(treated.patient_id))
    assert response.content.decode().count("Every answer of this episode") == 3


@pytest.mark.django_db
def test_demo_history_is_written_once_and_sends_nothing_old():
    from django.utils import timezone

    from followup.demo import DEMO_NOTE, seed_demo_clinic
    from followup.eligibility import ELIGIBLE, eligibility_by_site
    from followup.models import Message, MessageState, Procedure

    now = datetime(2026, 11, 20, 15, tzinfo=UTC)
    with time_machine.travel(now, tick=False):
        seed_demo_clinic()
        written = Procedure.objects.filter(notes__startswith=DEMO_NOTE).count()
        seed_demo_clinic()
        assert Procedure.objects.filter(notes__startswith=DEMO_NOTE).count() == written >= 8
        assert not Message.objects.filter(
            state=MessageState.SCHEDULED, due_at__lte=timezone.now()
        ).exists()
    patient = Procedure.objects.get(
        notes__startswith=DEMO_NOTE,
        episode__patient__last_name="Whitfield",
        episode__closed_at=None,
    ).episode.patient
    figures = patient_figures(patient)
    assert [item.episode.site.slug for item in figures] == ["lumbar"] * 3
    assert figures[0].episode.closed_at is not None
    assert any(row.late for row in figures[1].rows)
    [lumbar] = eligibility_by_site(figures, now=now)
    assert lumbar.result.verdict == ELIGIBLE
