"""A red-flag card a clinician acts on at once: who (to the record), a number to call, the
pain trend, the answer that raised it, and how long ago; on the staff home and the desk."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from followup.checkins import AnswerDetails, record_answer
from followup.models import AnswerRoute

PERFORMED = datetime(2026, 12, 1, 15, tzinfo=UTC)  # Tuesday 10:00 in New York
NOW = datetime(2026, 12, 4, 18, tzinfo=UTC)  # Friday 13:00, two hours after the answer

pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def alert(clock, clinician, episode):
    clock.move_to(NOW - timedelta(hours=2))
    record_answer(
        check_in=episode.check_ins.get(day=3),
        answer=AnswerDetails(pain=5, side_effects=["fever"], comment="Shivery since yesterday"),
        route=AnswerRoute.WEB,
    )
    clock.move_to(NOW)


def page_of(user, url: str) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def episode(episode, clinician):
    # The follow-up cast's episode, treated by Dr. Patel.
    episode.procedure.performed_by = clinician
    episode.procedure.save(update_fields=["performed_by"])
    appointment = episode.procedure.appointment
    appointment.clinician = clinician
    appointment.save(update_fields=["clinician"])
    return episode


@pytest.mark.parametrize("url", ["/staff/", "/desk/"])
def test_the_card_has_what_a_clinician_acts_on(alert, clinician, patient, url):
    content = page_of(clinician.user, url)
    assert f'<a href="/desk/patients/{patient.pk}/">Ana Silva</a>' in content
    assert '<a href="tel:+18605550123">Call Ana: (860) 555-0123</a>' in content
    assert f'href="/staff/patients/{patient.pk}/trends/">Pain trend</a>' in content
    assert "Fever or chills" in content
    assert "pain 5/10 (baseline 6)" in content
    assert "“Shivery since yesterday”" in content
    assert "Raised 2 hours ago" in content


def test_reception_sees_no_card_and_no_link_to_the_clinicians_page(alert, receptionist, patient):
    content = page_of(receptionist, "/desk/")
    assert '<strong id="open-alerts">1</strong>' in content
    for clinical in ("Ana", "Silva", "Fever", "tel:", "/trends/", 'href="/staff/"'):
        assert clinical not in content


def test_names_on_the_staff_home_link_to_the_record_and_the_trend(alert, clinician, patient):
    content = page_of(clinician.user, "/staff/")
    # The recent answers list names her too.
    assert content.count(f'<a href="/desk/patients/{patient.pk}/">Ana Silva</a>') >= 2
    assert f'href="/staff/patients/{patient.pk}/trends/" aria-label="Ana Silva' in content
